"""The no-change fast path of the plan agrees with the full three-way diff."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.diff import drift_changes, field_changes, unchanged
from reconciler.kinds import KINDS

SPEC: dict[str, Any] = {
    "schema": "raw",
    "columns": [{"name": "id", "type": "bigint", "nullable": True}],
    "properties": {"owner": "team", "retention": 7},
}


@pytest.mark.parametrize(
    ("recorded", "observed", "quiet"),
    [
        (SPEC, {**SPEC, "created_by": "someone"}, True),  # fields only O has are not ours
        (SPEC, {**SPEC, "properties": {"owner": "team", "retention": 7.0}}, False),  # 7 is not 7.0
        (SPEC, {**SPEC, "properties": {"owner": "team", "retention": True}}, False),
        (SPEC, {**SPEC, "schema": "curated"}, False),  # drift
        ({**SPEC, "comment": "old"}, SPEC, False),  # D dropped a field R had: a reset
        (None, SPEC, False),  # never applied
    ],
)
def test_unchanged_only_when_both_diffs_are_empty(
    recorded: dict[str, Any] | None, observed: dict[str, Any], quiet: bool
) -> None:
    kind = KINDS["Dataset"]
    assert unchanged(SPEC, recorded, observed) is quiet
    if quiet:
        assert recorded is not None
        assert field_changes(kind, SPEC, recorded, observed) == ()
        assert drift_changes(kind, recorded, observed) == ()
