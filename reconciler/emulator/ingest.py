"""Reading uploaded files into rows, and answering SQL over a dataset.

Uploads come as CSV (header row), JSON (an array of objects, or JSON lines),
XLSX (first sheet, header row; read with openpyxl) or Parquet (read with
pyarrow). Each parser returns the file's column names and its rows as
objects; the dataset router then checks the names against the table and
coerces every value through :func:`reconciler.emulator.tables.coerce_rows`.

Queries run on an in-memory SQLite copy of the one dataset they name: only a
single ``SELECT`` (or ``WITH``) statement is accepted, and ``catalog.schema.table``
or ``schema.table`` references are rewritten to the local table.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from reconciler.emulator.errors import invalid

ParsedFile = tuple[list[str], list[dict[str, Any]]]
FORMATS = ("csv", "json", "xlsx", "parquet")


def _parse_csv(content: bytes) -> ParsedFile:
    text = content.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    rows = [row for row in reader if row]
    if not rows:
        raise invalid("the CSV file is empty (a header row is required)")
    header = [name.strip() for name in rows[0]]
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise invalid(f"CSV line {number}: {len(row)} fields for {len(header)} header names")
        records.append(dict(zip(header, row, strict=True)))
    return header, records


def _parse_json(content: bytes) -> ParsedFile:
    text = content.decode("utf-8-sig").strip()
    if text.startswith("["):
        data = json.loads(text)
    else:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise invalid("JSON upload must be an array of objects or JSON lines of objects")
    names: list[str] = []
    for item in data:
        names.extend(key for key in item if key not in names)
    return names, data


def _parse_xlsx(content: bytes) -> ParsedFile:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    finally:
        workbook.close()
    if not rows:
        raise invalid("the spreadsheet is empty (a header row is required)")
    header = [str(v).strip() if v is not None else "" for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    records = [dict(zip(header, row[: len(header)], strict=False)) for row in rows[1:]]
    return header, records


def _parse_parquet(content: bytes) -> ParsedFile:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(content))
    return list(table.column_names), table.to_pylist()


PARSERS: dict[str, Callable[[bytes], ParsedFile]] = {
    "csv": _parse_csv,
    "json": _parse_json,
    "xlsx": _parse_xlsx,
    "parquet": _parse_parquet,
}


def parse_upload(content: bytes, file_format: str) -> ParsedFile:
    """Column names and rows of an uploaded file, or a 400 saying what is wrong."""
    parser = PARSERS.get(file_format.lower())
    if parser is None:
        raise invalid(f"format must be one of {', '.join(FORMATS)}")
    if file_format in ("csv", "json") and b"\x00" in content:
        line = content[: content.index(b"\x00")].count(b"\n") + 1
        raise invalid(f"the {file_format} file holds a NUL byte (line {line}); text files cannot")
    try:
        return parser(content)
    except UnicodeDecodeError:
        raise invalid(f"the {file_format} file is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise invalid(f"the JSON file is malformed: {exc}") from None
    except Exception as exc:
        if getattr(exc, "status", None):
            raise
        raise invalid(f"cannot read the {file_format} file: {exc}") from None


# ---- queries ----------------------------------------------------------------------------

QUERY_SECONDS = 5.0
"""How long one query may run before it is stopped (``create_app(query_seconds=...)``)."""
MAX_ROWS = 10_000
MAX_VALUE_BYTES = 10 * 1024 * 1024

READ_ONLY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def _rewrite(sql: str, table: str, qualifiers: list[str]) -> str:
    """Point qualified references of the dataset at the local table."""
    for qualified in sorted(qualifiers, key=len, reverse=True):
        parts = qualified.split(".")
        pattern = r"\.".join(rf"`?{re.escape(p)}`?" for p in parts)
        sql = re.sub(rf"(?<![\w.`]){pattern}(?![\w`])", f"`{table}`", sql, flags=re.IGNORECASE)
    return sql


COMPLEX = frozenset({"ARRAY", "MAP", "STRUCT", "VARIANT"})
"""Column families kept as JSON text in SQLite and decoded again in answers."""


def _as_text(row: list[Any], positions: list[int]) -> list[Any]:
    copied = list(row)
    for i in positions:
        if copied[i] is not None:
            copied[i] = json.dumps(copied[i], separators=(",", ":"))
    return copied


def _value(name: str, value: Any, booleans: set[str], complex_names: set[str]) -> Any:
    if name in booleans and value in (0, 1):
        return bool(value)
    if name in complex_names and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _bounded(connection: sqlite3.Connection, seconds: float) -> None:
    """Abort the statement once it has run ``seconds`` (checked every few thousand steps),
    and cap the size of any value (a runaway string or blob)."""
    deadline = time.perf_counter() + seconds
    connection.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


def run_query(
    sql: str,
    table: str,
    qualifiers: list[str],
    columns: list[dict[str, Any]],
    rows: list[list[Any]],
    *,
    seconds: float = QUERY_SECONDS,
) -> dict[str, Any]:
    """Run a read-only query over one table's rows; the contract's query answer.

    Bounded: a query running longer than ``seconds`` or answering more than
    :data:`MAX_ROWS` rows is refused with a 400 (and stops using the CPU).
    """
    statement = sql.strip().rstrip(";").strip()
    if not READ_ONLY.match(statement) or ";" in statement:
        raise invalid("only a single SELECT (or WITH ... SELECT) statement can be queried")
    started = time.perf_counter()
    connection = sqlite3.connect(":memory:")
    try:
        names = ", ".join(f'"{c["name"]}"' for c in columns)
        connection.execute(f'CREATE TABLE "{table}" ({names})')
        marks = ", ".join("?" for _ in columns)
        complex_at = [i for i, c in enumerate(columns) if c["type_name"] in COMPLEX]
        if complex_at:
            rows = [_as_text(row, complex_at) for row in rows]
        connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
        _bounded(connection, seconds)
        cursor = connection.execute(_rewrite(statement, table, qualifiers))
        result_columns = [d[0] for d in cursor.description or ()]
        fetched = cursor.fetchmany(MAX_ROWS + 1)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise invalid(
                f"query stopped after {seconds:g} s: it runs too long (a recursive CTE "
                "without an end?); narrow it"
            ) from None
        raise invalid(f"query failed: {exc}") from None
    except sqlite3.Error as exc:
        raise invalid(f"query failed: {exc}") from None
    finally:
        connection.close()
    if len(fetched) > MAX_ROWS:
        raise invalid(f"the query answers more than {MAX_ROWS} rows; add a LIMIT")
    booleans = {c["name"] for c in columns if c["type_text"] == "boolean"}
    complex_names = {c["name"] for c in columns if c["type_name"] in COMPLEX}
    result = [
        {k: _value(k, v, booleans, complex_names) for k, v in zip(result_columns, r, strict=True)}
        for r in fetched
    ]
    return {
        "rows": result,
        "columns": result_columns,
        "row_count": len(result),
        "execution_time_ms": int((time.perf_counter() - started) * 1000),
    }
