"""Table columns as Unity Catalog sees them: types, value coercion, ALTER rules.

Pure functions, no HTTP. A column is a dict ``{name, type_text, type_name,
nullable, comment, position}``; ``type_text`` is the normalised lower-case
Spark SQL type (``int``, ``decimal(10,2)``), ``type_name`` its upper-case
family (``INT``, ``DECIMAL``; ``bigint`` is ``LONG`` as in Databricks).

:func:`alter` applies a wanted column list to the current one the way
``ALTER TABLE`` can: add nullable columns at the end, change comments, widen
types (int family upwards, float→double, decimal precision up with the same
scale), relax NOT NULL. Anything else would need the table to be replaced and
is refused with a 400.

:func:`coerce` turns one incoming value (JSON, CSV text, spreadsheet or
Parquet cell) into the stored JSON value for a column, or refuses it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from reconciler.emulator.common import Body, check_identifier
from reconciler.emulator.errors import invalid

ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "numeric": "decimal",
    "dec": "decimal",
}
TYPE_NAMES = {
    "string": "STRING",
    "tinyint": "BYTE",
    "smallint": "SHORT",
    "int": "INT",
    "bigint": "LONG",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP_NTZ",
    "binary": "BINARY",
}
INT_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}
DECIMAL = re.compile(r"^decimal\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")


class ColumnIn(Body):
    """A column as a request names it."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    nullable: bool = True
    comment: str | None = None


def normalize_type(text: str) -> str:
    """The canonical lower-case form of a Spark SQL type, or a 400."""
    lowered = " ".join(text.strip().lower().split())
    lowered = ALIASES.get(lowered, lowered)
    for alias in ("numeric", "dec"):
        if lowered.startswith(alias + "(") or lowered.startswith(alias + " ("):
            lowered = "decimal" + lowered[len(alias) :]
    match = DECIMAL.match(lowered)
    if match:
        precision = int(match.group(1) or 10)
        scale = int(match.group(2) or 0)
        if not 1 <= precision <= 38 or scale > precision:
            raise invalid(
                f"type {text!r}: decimal needs 1 <= precision <= 38 and scale <= precision"
            )
        return f"decimal({precision},{scale})"
    if lowered not in TYPE_NAMES:
        raise invalid(f"unsupported column type {text!r}")
    return lowered


def type_name(type_text: str) -> str:
    return "DECIMAL" if type_text.startswith("decimal") else TYPE_NAMES[type_text]


def _decimal_parts(type_text: str) -> tuple[int, int]:
    precision, scale = type_text[len("decimal(") : -1].split(",")
    return int(precision), int(scale)


def build_columns(specs: Sequence[ColumnIn]) -> list[dict[str, Any]]:
    """Stored columns from requested ones (names checked, types normalised)."""
    if not specs:
        raise invalid("a dataset needs at least one column")
    seen: set[str] = set()
    columns = []
    for position, spec in enumerate(specs):
        check_identifier(spec.name, "column name")
        if spec.name.lower() in seen:
            raise invalid(f"column {spec.name!r} appears twice")
        seen.add(spec.name.lower())
        type_text = normalize_type(spec.type)
        columns.append(
            {
                "name": spec.name,
                "type_text": type_text,
                "type_name": type_name(type_text),
                "nullable": spec.nullable,
                "comment": spec.comment,
                "position": position,
            }
        )
    return columns


def widens(old: str, new: str) -> bool:
    """Whether changing a column from type ``old`` to ``new`` is an allowed widening."""
    if old == new:
        return True
    if old in INT_BITS and new in INT_BITS:
        return INT_BITS[new] > INT_BITS[old]
    if (old, new) == ("float", "double"):
        return True
    if old.startswith("decimal") and new.startswith("decimal"):
        (p_old, s_old), (p_new, s_new) = _decimal_parts(old), _decimal_parts(new)
        return s_old == s_new and p_new >= p_old
    return False


def _check_kept(old: dict[str, Any], new: dict[str, Any], wanted_names: list[str]) -> None:
    name = old["name"]
    if new["name"] != name:
        if name in wanted_names:
            raise invalid(f"column {name!r} moved: reordering columns needs a replace")
        raise invalid(f"column {name!r} is missing: dropping or renaming needs a replace")
    if not widens(old["type_text"], new["type_text"]):
        raise invalid(
            f"column {name!r}: {old['type_text']} -> {new['type_text']} is not a widening "
            "(narrowing or changing a type needs a replace)"
        )
    if old["nullable"] and not new["nullable"]:
        raise invalid(f"column {name!r}: adding NOT NULL needs a replace")


def alter(current: list[dict[str, Any]], wanted: Sequence[ColumnIn]) -> list[dict[str, Any]]:
    """The columns after applying ``wanted`` with ALTER TABLE semantics, or a 400."""
    new_columns = build_columns(wanted)
    names = [c["name"] for c in new_columns]
    for index, old in enumerate(current):
        if index >= len(new_columns):
            raise invalid(f"column {old['name']!r} is missing: dropping needs a replace")
        _check_kept(old, new_columns[index], names)
    for added in new_columns[len(current) :]:
        if not added["nullable"]:
            raise invalid(f"new column {added['name']!r} must be nullable")
    return new_columns


# ---- values -----------------------------------------------------------------------------


def _to_int(value: Any, type_text: str) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, float | decimal.Decimal):
        if value != int(value):
            raise ValueError("not a whole number")
        value = int(value)
    number = int(value.strip()) if isinstance(value, str) else int(value)
    bits = INT_BITS[type_text]
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"out of range for {type_text}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return float(value.strip()) if isinstance(value, str) else float(value)


def _to_decimal(value: Any, type_text: str) -> str:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    precision, scale = _decimal_parts(type_text)
    number = decimal.Decimal(str(value).strip())
    quantized = number.quantize(decimal.Decimal(1).scaleb(-scale))
    if len(quantized.as_tuple().digits) > precision or not quantized.is_finite():
        raise ValueError(f"does not fit {type_text}")
    return str(quantized)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("not a boolean")


def _to_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip()).isoformat()
    raise ValueError("not a date")


def _to_timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip()).isoformat()
    raise ValueError("not a timestamp")


def _to_string(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("not a scalar")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _convert(value: Any, type_text: str) -> Any:
    if type_text == "string":
        return _to_string(value)
    if type_text in INT_BITS:
        return _to_int(value, type_text)
    if type_text in ("float", "double"):
        return _to_float(value)
    if type_text.startswith("decimal"):
        return _to_decimal(value, type_text)
    if type_text == "boolean":
        return _to_bool(value)
    if type_text == "date":
        return _to_date(value)
    if type_text == "binary":
        return _to_binary(value)
    return _to_timestamp(value)


def _to_binary(value: Any) -> str:
    """Binary values are kept base64-encoded (JSON has no bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def coerce(value: Any, column: dict[str, Any], *, from_text: bool = False) -> Any:
    """The stored value of ``value`` in ``column``; ``from_text`` reads "" as NULL."""
    if value is None or (from_text and value == ""):
        if not column["nullable"]:
            raise invalid(f"column {column['name']!r} is NOT NULL but a row has no value")
        return None
    try:
        return _convert(value, column["type_text"])
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise invalid(
            f"column {column['name']!r} ({column['type_text']}): cannot use {value!r}: {exc}"
        ) from None


def coerce_rows(
    rows: Sequence[Any], columns: list[dict[str, Any]], *, from_text: bool = False
) -> list[list[Any]]:
    """Rows (objects keyed by column name, or arrays in column order) as stored lists."""
    names = [c["name"] for c in columns]
    stored = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            unknown = sorted(set(row) - set(names))
            if unknown:
                raise invalid(f"row {number}: unknown column(s) {', '.join(map(str, unknown))}")
            values = [row.get(name) for name in names]
        elif isinstance(row, list | tuple):
            if len(row) != len(names):
                raise invalid(f"row {number}: {len(row)} values for {len(names)} columns")
            values = list(row)
        else:
            raise invalid(f"row {number}: a row is an object or an array")
        stored.append(
            [coerce(v, c, from_text=from_text) for v, c in zip(values, columns, strict=True)]
        )
    return stored
