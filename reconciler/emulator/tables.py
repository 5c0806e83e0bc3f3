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
import functools
import json
import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from reconciler import deltatypes
from reconciler.emulator.common import Body, check_identifier
from reconciler.emulator.errors import invalid

INT_BITS = deltatypes.INTEGER_BITS


@functools.lru_cache(maxsize=1024)
def parsed(type_text: str) -> deltatypes.DeltaType:
    """The parsed form of a stored (canonical) type."""
    return deltatypes.parse(type_text)


class ColumnIn(Body):
    """A column as a request names it."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    nullable: bool = True
    comment: str | None = None


def normalize_type(text: str) -> str:
    """The canonical lower-case form of a Delta type, or a 400 saying what is malformed."""
    try:
        return deltatypes.canonical(text)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def type_name(type_text: str) -> str:
    return deltatypes.type_name(parsed(type_text))


def column_of(spec: ColumnIn, position: int) -> dict[str, Any]:
    """The stored column (with Unity Catalog's ``type_text``, ``type_name``, ``type_json``)."""
    type_text = normalize_type(spec.type)
    field = deltatypes.StructField(spec.name, parsed(type_text), spec.nullable, spec.comment)
    return {
        "name": spec.name,
        "type_text": type_text,
        "type_name": type_name(type_text),
        "type_json": json.dumps(deltatypes.field_json(field), separators=(",", ":")),
        "nullable": spec.nullable,
        "comment": spec.comment,
        "position": position,
    }


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
        columns.append(column_of(spec, position))
    problem = deltatypes.table_problem([parsed(c["type_text"]) for c in columns])
    if problem:
        raise invalid(problem)
    return columns


def _check_kept(old: dict[str, Any], new: dict[str, Any], wanted_names: list[str]) -> None:
    name = old["name"]
    if new["name"] != name:
        if name in wanted_names:
            raise invalid(f"column {name!r} moved: reordering columns needs a replace")
        raise invalid(f"column {name!r} is missing: dropping or renaming needs a replace")
    in_place, reason = deltatypes.change_reason(
        parsed(old["type_text"]), parsed(new["type_text"]), f"column {name!r}"
    )
    if not in_place:
        raise invalid(f"{reason}: that needs a replace")
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
        if not math.isfinite(value) or value != int(value):
            raise ValueError("not a whole number")
        value = int(value)
    number = int(value.strip()) if isinstance(value, str) else int(value)
    bits = INT_BITS[type_text]
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"out of range for {type_text}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, bool | dict | list):
        raise ValueError("not a number")
    number = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError("NaN and Infinity cannot be stored as JSON")
    return number


def _to_decimal(value: Any, type_text: str) -> str:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    precision, scale = (int(p) for p in type_text[len("decimal(") : -1].split(","))
    number = decimal.Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(f"does not fit {type_text}")
    quantized = number.quantize(decimal.Decimal(1).scaleb(-scale))
    if len(quantized.as_tuple().digits) > precision:
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


def _to_timestamp(value: Any, *, zoned: bool) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip())
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ValueError("not a timestamp")
    if not zoned and value.tzinfo is not None:
        raise ValueError("timestamp_ntz values carry no time zone")
    return value.isoformat()


def _to_string(value: Any, limit: str | None = None) -> str:
    if isinstance(value, dict | list):
        raise ValueError("not a scalar")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.date | dt.datetime):
        text = value.isoformat()
    else:
        text = str(value)
    if limit is not None:
        kind, length = limit.split("(")
        size = int(length[:-1])
        if len(text) > size:
            raise ValueError(f"longer than {size} characters")
        if kind == "char":
            text = text.ljust(size)
    return text


def _to_binary(value: Any) -> str:
    """Binary values are kept base64-encoded (JSON has no bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _simple(value: Any, type_text: str) -> Any:
    if type_text == "string":
        return _to_string(value)
    if type_text.startswith(("char(", "varchar(")):
        return _to_string(value, type_text)
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
    if type_text == "variant":
        return json.loads(json.dumps(value, allow_nan=False, default=str))
    if type_text == "void":
        raise ValueError("a VOID column holds only NULL")
    return _to_timestamp(value, zoned=type_text == "timestamp")


def _decoded(value: Any, kind: deltatypes.DeltaType) -> Any:
    """A complex (or variant) value given as JSON text (a CSV or spreadsheet cell)."""
    if isinstance(value, str) and (
        not isinstance(kind, deltatypes.Simple) or kind.text == "variant"
    ):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg}") from None
    return value


def convert(value: Any, kind: deltatypes.DeltaType) -> Any:
    """The stored JSON value of ``value`` for type ``kind`` (nested NULLs allowed)."""
    if value is None:
        return None
    value = _decoded(value, kind)
    if isinstance(kind, deltatypes.Simple):
        return _simple(value, kind.text)
    if isinstance(kind, deltatypes.Array):
        if not isinstance(value, list | tuple):
            raise ValueError("an array value is a JSON list")
        return [convert(v, kind.element) for v in value]
    if isinstance(kind, deltatypes.Map):
        pairs = value.items() if isinstance(value, dict) else value
        if not isinstance(pairs, list | tuple) and not isinstance(value, dict):
            raise ValueError("a map value is a JSON object or a list of [key, value] pairs")
        converted = {}
        for pair in pairs:
            key, item = pair
            if key is None:
                raise ValueError("map keys cannot be NULL")
            stored_key = convert(key, kind.key)
            converted[stored_key if isinstance(stored_key, str) else json.dumps(stored_key)] = (
                convert(item, kind.value)
            )
        return converted
    return _struct(value, kind)


def _struct(value: Any, kind: deltatypes.Struct) -> dict[str, Any]:
    names = [f.name for f in kind.fields]
    if isinstance(value, list | tuple):
        if len(value) != len(names):
            raise ValueError(f"{len(value)} values for {len(names)} struct fields")
        value = dict(zip(names, value, strict=True))
    if not isinstance(value, dict):
        raise ValueError("a struct value is a JSON object")
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise ValueError(f"unknown struct field(s) {', '.join(map(str, unknown))}")
    stored = {}
    for f in kind.fields:
        item = convert(value.get(f.name), f.type)
        if item is None and not f.nullable:
            raise ValueError(f"struct field {f.name!r} is NOT NULL but has no value")
        stored[f.name] = item
    return stored


def coerce(value: Any, column: dict[str, Any], *, from_text: bool = False) -> Any:
    """The stored value of ``value`` in ``column``; ``from_text`` reads "" as NULL."""
    if value is None or (from_text and value == ""):
        if not column["nullable"]:
            raise invalid(f"column {column['name']!r} is NOT NULL but a row has no value")
        return None
    try:
        return convert(value, parsed(column["type_text"]))
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise invalid(
            f"column {column['name']!r} ({column['type_text']}): cannot use {shown}: {exc}"
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
