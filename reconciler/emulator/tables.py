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

import functools
import json
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from reconciler import deltatypes
from reconciler.deltavalues import convert
from reconciler.emulator.common import Body, check_identifier
from reconciler.emulator.errors import invalid


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
