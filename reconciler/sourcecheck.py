"""What the connector would refuse in a file a document names, found at plan time.

The connector takes request bodies up to :data:`MAX_BODY_BYTES` (a notebook's
content travels inside a JSON body, a dataset's source file as an upload), and
reads an uploaded CSV or Parquet file against the table's columns: the names
must be the table's (any order), every value must fit its column's type and
NOT NULL columns must have one (see ``reconciler/emulator/datasets.py``). Each
of these would otherwise fail at apply, after other steps already ran; here it
is a problem at the document, before anything changes. The size is checked
when the documents load; a file's content only when the plan uploads it (a
create, a replace, or a changed file): an unchanged file is not sent again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from reconciler import deltatypes
from reconciler.deltavalues import convert

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The connector's limit on one request body (413 PAYLOAD_TOO_LARGE above it)."""


class Column(NamedTuple):
    """A declared column, as the normalised dataset spec holds it."""

    name: str
    type: str
    nullable: bool


ENVELOPE_BYTES = 64 * 1024
"""Room kept for the rest of the request around a notebook's content or an uploaded file."""


def body_problem(size: int, what: str) -> str | None:
    """Why ``size`` bytes of ``what`` cannot be sent in one request, if they cannot."""
    limit = MAX_BODY_BYTES - ENVELOPE_BYTES
    if size <= limit:
        return None
    return (
        f"{what} is {size:,} bytes; the connector accepts at most {limit:,} bytes in one "
        "request: make it smaller"
    )


def notebook_problem(content: bytes) -> str | None:
    """Why a notebook's content would not fit the connector's request body, if it would not."""
    encoded = len(json.dumps(content.decode("utf-8"), ensure_ascii=False).encode("utf-8"))
    return body_problem(encoded, "the notebook content (as sent)")


def source_problem(body: bytes, fmt: str, columns: Sequence[Column]) -> str | None:
    """Why the connector would refuse ``body`` as a ``fmt`` upload into ``columns``."""
    too_big = body_problem(len(body), "the source file")
    if too_big:
        return too_big
    if fmt == "csv":
        return _csv_problem(body, columns)
    if fmt == "parquet":
        return _parquet_problem(body, columns)
    return None


def _names_problem(names: list[str], columns: Sequence[Column], what: str) -> str | None:
    wanted = [c.name for c in columns]
    if sorted(names) == sorted(wanted):
        return None
    missing = [n for n in wanted if n not in names]
    extra = [n for n in names if n not in wanted]
    parts = [
        f"lacks {', '.join(missing)}" if missing else "",
        f"adds {', '.join(extra)}" if extra else "",
    ]
    detail = " and ".join(p for p in parts if p) or "repeats a column"
    return (
        f"the file's {what} ({', '.join(names) or 'none'}) does not match the declared columns "
        f"({', '.join(wanted)}): it {detail}; make them the same (any order)"
    )


def _csv_problem(body: bytes, columns: Sequence[Column]) -> str | None:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"the CSV file is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    if "\x00" in text:
        return (
            f"the CSV file holds a NUL byte (line {text[: text.index(chr(0))].count(chr(10)) + 1})"
        )
    reader = csv.reader(io.StringIO(text))
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            return "the CSV file is empty (a header row is required)"
        names = [name.strip() for name in header]
        problem = _names_problem(names, columns, "header")
        if problem:
            return f"line {reader.line_num}: {problem}"
        return _rows_problem(
            ((reader.line_num, row) for row in reader if row), names, columns, from_text=True
        )
    except csv.Error as exc:
        return f"line {reader.line_num}: the CSV file is malformed ({exc})"


def _parquet_problem(body: bytes, columns: Sequence[Column]) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body))
    except (pa.ArrowException, OSError, ValueError) as exc:
        return f"not a readable Parquet file ({exc}); write it again or give another file"
    names = list(table.column_names)
    problem = _names_problem(names, columns, "columns")
    if problem:
        return problem
    rows = (
        (number, [row[n] for n in names]) for number, row in enumerate(table.to_pylist(), start=1)
    )
    return _rows_problem(rows, names, columns, from_text=False, unit="row")


def _rows_problem(
    rows: Iterable[tuple[int, list[Any]]],
    names: list[str],
    columns: Sequence[Column],
    *,
    from_text: bool,
    unit: str = "line",
) -> str | None:
    by_name = {c.name: c for c in columns}
    ordered = [by_name[n] for n in names]
    types = [deltatypes.parse(c.type) for c in ordered]
    for number, row in rows:
        if len(row) != len(names):
            return f"{unit} {number}: {len(row)} fields for {len(names)} header names"
        for value, column, kind in zip(row, ordered, types, strict=True):
            if value is None or (from_text and value == ""):
                if not column.nullable:
                    return f"{unit} {number}: column {column.name!r} is NOT NULL but has no value"
                continue
            try:
                convert(value, kind)
            except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
                shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
                return f"{unit} {number}: column {column.name!r} ({column.type}): cannot use {shown}: {exc}"
    return None
