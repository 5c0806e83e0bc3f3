"""Table columns: Spark SQL types, and what a column change does to the rows.

``ALTER TABLE`` keeps a Delta table's rows when a nullable column is added at
the end, a type widens (tinyint → smallint → int → bigint, float → double,
decimal precision up at the same scale), NOT NULL is relaxed or a comment
changes. Anything else — dropping, renaming, moving or narrowing a column, or
making it NOT NULL — needs the table recreated, which destroys its rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.kinds.base import ABSENT, Verdict

if TYPE_CHECKING:
    from reconciler.diff import FieldChange

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"
SIMPLE_TYPES = frozenset(
    {"string", "int", "bigint", "smallint", "tinyint", "double", "float", "boolean", "date"}
    | {"timestamp", "binary"}
)
DECIMAL = re.compile(r"^decimal(?:\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")


def normalize_type(text: str) -> str:
    """A Spark SQL type in canonical form (``DECIMAL(10, 2)`` → ``decimal(10,2)``).

    A bare ``decimal`` is Spark's ``decimal(10,0)``.

    Raises ValueError for anything that is not one of the supported types.
    """
    lowered = text.strip().lower()
    if lowered in SIMPLE_TYPES:
        return lowered
    match = DECIMAL.match(lowered)
    if not match:
        supported = ", ".join(sorted(SIMPLE_TYPES)) + ", decimal(p,s)"
        raise ValueError(f"unsupported column type {text!r}; use one of: {supported}")
    precision, scale = int(match[1] or 10), int(match[2] or 0)
    if not 1 <= precision <= 38 or scale > precision:
        raise ValueError(
            f"decimal({precision},{scale}) needs 1 <= precision <= 38, scale <= precision"
        )
    return f"decimal({precision},{scale})"


INTEGER_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}


def widens(old: str, new: str) -> bool:
    """Whether a column type change keeps every value: int → bigint, float → double,
    decimal precision up at the same scale."""
    if old == new:
        return True
    if old in INTEGER_BITS and new in INTEGER_BITS:
        return INTEGER_BITS[new] > INTEGER_BITS[old]
    if (old, new) == ("float", "double"):
        return True
    old_dec, new_dec = DECIMAL.match(old), DECIMAL.match(new)
    if old_dec and new_dec:
        return old_dec[2] == new_dec[2] and int(new_dec[1] or 10) >= int(old_dec[1] or 10)
    return False


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
        old, new = str(change.remote), str(change.after)
        if widens(old, new):
            return Verdict(f"column `{column}` type widened {old} → {new}: rows kept")
        return destroys(f"column `{column}` type narrowed or changed {old} → {new}")
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
        description="Spark SQL type: string, int, bigint, smallint, tinyint, double, float, "
        "boolean, date, timestamp, binary or decimal(p,s). Case-insensitive."
    )
    nullable: bool = Field(default=True, description="Whether the column accepts nulls.")
    comment: str = Field(default="", description="Comment shown on the column.")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return normalize_type(value)
