"""The no-change fast path of the plan agrees with the full three-way diff."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        (SPEC, {**SPEC, "properties": {**SPEC["properties"], "by": "server"}}, True),  # nested too
        (SPEC, {**SPEC, "properties": {"owner": "team", "by": "server"}}, False),  # one is gone
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


def _reference(desired: dict[str, Any], recorded: dict[str, Any], observed: Any) -> bool:
    """The fast path as first written: cut O down to D's fields, compare as JSON."""
    from reconciler.diff import _restrict, _same

    return _same(desired, recorded) and _same(_restrict(observed, desired, {}), desired)


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, float("nan")]),
    st.sampled_from(["", "a", "1"]),
)
_value = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)
    ),
    max_leaves=12,
)
_spec = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _value, max_size=4)


@settings(max_examples=400, deadline=None)
@given(desired=_spec, observed=_spec, extra=_spec)
def test_the_one_walk_fast_path_decides_as_cutting_and_comparing(
    desired: dict[str, Any], observed: dict[str, Any], extra: dict[str, Any]
) -> None:
    for seen in (observed, {**extra, **desired}, {**desired, **extra}):
        assert unchanged(desired, desired, seen) is _reference(desired, desired, seen)
