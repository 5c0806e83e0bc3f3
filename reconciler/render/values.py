"""How a single value is shown in any output."""

from __future__ import annotations

import json
from typing import Any

from reconciler.diff import ABSENT

MAX_VALUE = 80


def show(value: Any) -> str:
    """A short, stable, one-line rendering of a spec value."""
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def plain(value: Any) -> Any:
    """A JSON-able value; ABSENT becomes None."""
    return None if value is ABSENT else value
