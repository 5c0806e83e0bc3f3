"""Table columns: Spark SQL types, and what a column change does to the rows.

Types are parsed and canonicalised by :mod:`reconciler.deltatypes` (shared
with the emulator). ``ALTER TABLE`` keeps a Delta table's rows when a nullable
column is added at the end, a type widens (tinyint → smallint → int → bigint,
float → double, decimal precision up at the same scale, void → anything), a
struct gains a nullable field at its end, NOT NULL is relaxed or a comment
changes; an array's element or a map's key/value type changing rewrites it. Anything else — dropping, renaming, moving or narrowing a column, or
making it NOT NULL — needs the table recreated, which destroys its rows.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler import deltatypes
from reconciler.kinds.base import ABSENT, Verdict

if TYPE_CHECKING:
    from reconciler.diff import FieldChange

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"


@functools.lru_cache(maxsize=4096)
def normalize_type(text: str) -> str:
    """A Delta type in canonical form (``ARRAY< FLOAT >`` → ``array<float>``,
    ``DECIMAL(10, 2)`` → ``decimal(10,2)``; a bare ``decimal`` is ``decimal(10,0)``).

    Raises ValueError naming what is malformed, or why Delta cannot store it
    (INTERVAL, VOID inside a complex type). Remembered by text: the same few
    types come back in every table, desired and observed.
    """
    parsed = deltatypes.parse(text)
    problem = deltatypes.column_problem(parsed)
    if problem:
        raise ValueError(f"column type {text!r}: {problem}")
    return deltatypes.render(parsed)


def type_verdict(column: str, old: str, new: str) -> Verdict:
    """In place or destructive, and why, for column ``column`` changing type ``old`` → ``new``."""
    try:
        in_place, reason = deltatypes.change_reason(
            deltatypes.parse(old), deltatypes.parse(new), f"column `{column}`"
        )
    except ValueError:
        in_place, reason = False, f"column `{column}` type changed {old} → {new}"
    if in_place:
        return Verdict(f"{reason}: rows kept")
    return destroys(reason)


def destroys(what: str) -> Verdict:
    return Verdict(f"{what}: destroys data", replace=True, destroys_data=True)


def added_or_dropped(column: str, change: FieldChange) -> Verdict:
    if change.after is ABSENT:
        return destroys(f"column `{column}` dropped")
    if change.remote is ABSENT:
        if isinstance(change.after, Mapping) and change.after.get("nullable") is False:
            return destroys(f"column `{column}` added as NOT NULL")
        return Verdict(f"column `{column}` added: rows kept")
    return Verdict(f"column `{column}` changed")


def assess_column(column: str, change: FieldChange) -> Verdict:
    """The verdict on a change under ``columns.<column>``."""
    parts = change.parts
    if len(parts) == 2:
        return added_or_dropped(column, change)
    if parts[2] == "type":
        return type_verdict(column, str(change.remote), str(change.after))
    if parts[2] == "nullable":
        if change.after is True:
            return Verdict(f"column `{column}` NOT NULL relaxed: rows kept")
        return destroys(f"column `{column}` made NOT NULL")
    if parts[2] == "position":
        return destroys(f"column `{column}` moved from position {change.remote} to {change.after}")
    return Verdict(f"column `{column}` {parts[2]} changed")


class Column(BaseModel):
    """One table column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=IDENTIFIER, description="Column name (letters, digits, _).")
    type: str = Field(
        description="Delta type: string, int, bigint, smallint, tinyint, double, float, "
        "boolean, date, timestamp, timestamp_ntz, binary, decimal(p,s), char(n), varchar(n), "
        "variant, void, array<T>, map<K,V> or struct<name: T [NOT NULL] [COMMENT 'c'], ...>, "
        "nested. Case and spacing do not matter (ARRAY< FLOAT > is array<float>)."
    )
    nullable: bool = Field(default=True, description="Whether the column accepts nulls.")
    comment: str = Field(default="", description="Comment shown on the column.")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return normalize_type(value)
