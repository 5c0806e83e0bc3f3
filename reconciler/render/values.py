"""How a single value is shown in any output: short, stable, secrets hidden.

Masked values show as "(sensitive)"; any registered secret's clear text is cut
out (:mod:`reconciler.scrub`) before a value is shortened, so no prefix of a
secret survives either.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.kinds.base import ABSENT
from reconciler.scrub import scrub
from reconciler.secrets import is_masked

MAX_VALUE = 80
SENSITIVE = "(sensitive)"


def show(value: Any) -> str:
    """A short, stable, one-line rendering of a spec value."""
    if value is ABSENT:
        return "(absent)"
    if is_masked(value):
        return SENSITIVE
    text = scrub(json.dumps(plain(value), sort_keys=True, default=str))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def plain(value: Any) -> Any:
    """A JSON-able value: ABSENT becomes None, masked secrets become "(sensitive)"."""
    if value is ABSENT:
        return None
    if is_masked(value):
        return SENSITIVE
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return scrub(value) if isinstance(value, str) else value
