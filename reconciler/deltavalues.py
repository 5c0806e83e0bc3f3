"""Values of Delta column types: one incoming value (JSON, CSV text, a spreadsheet or
Parquet cell) turned into the JSON value a table stores, or a ``ValueError`` saying why not.

Pure, shared by the emulator (which stores rows with it) and the dataset kind
(which checks a ``source`` file against the declared columns at plan time, so
a file the connector would refuse is an error before anything changes).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import Any

from reconciler import deltatypes

INT_BITS = deltatypes.INTEGER_BITS


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
