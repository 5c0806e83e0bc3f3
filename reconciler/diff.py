"""Three-way field diff, restricted to managed fields (pure).

A field is *managed* when the desired spec (D) or the last-applied record (R)
names it: the rule ``kubectl apply`` follows with its last-applied annotation.
Fields that only the observed object (O) has belong to someone else (server
defaults, other tools) and never show up as changes. A field that R has and D
dropped is *reset*: we expect the kind's declared server default, or nothing.

Dicts are compared key by key; lists are compared whole (a change anywhere in
a list is reported on the list's own path). DeepDiff finds the differences.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from reconciler.kinds.base import ABSENT, Kind, Rule


@dataclass(frozen=True)
class FieldChange:
    """One managed field that differs: recorded before, desired after, observed remote."""

    parts: tuple[str, ...]
    before: Any  # last applied (R), ABSENT when never applied
    after: Any  # desired (D, or the reset value), ABSENT when it should not be there
    remote: Any  # observed (O), ABSENT when the remote object lacks it

    @property
    def path(self) -> str:
        return ".".join(self.parts)

    @property
    def top(self) -> str:
        return self.parts[0]


def field_changes(
    kind: Kind,
    desired: Mapping[str, Any],
    recorded: Mapping[str, Any] | None,
    observed: Mapping[str, Any],
    *,
    ignore: tuple[str, ...] = (),
) -> tuple[FieldChange, ...]:
    """Managed fields where the observed object differs from what is desired.

    ``ignore`` holds ``lifecycle.ignore_changes`` patterns (dotted, ``*`` for one
    segment): a field they cover is never a change.
    """
    recorded = recorded or {}
    expected = _with_resets(kind, desired, recorded, ())
    actual = _restrict(observed, desired, recorded)
    paths = [p for p in _changed_paths(kind, actual, expected) if not ignored(p, ignore)]
    return tuple(
        FieldChange(p, _get(recorded, p), _get(expected, p), _get(observed, p)) for p in paths
    )


def drift_changes(
    kind: Kind,
    recorded: Mapping[str, Any],
    observed: Mapping[str, Any],
    *,
    ignore: tuple[str, ...] = (),
) -> tuple[FieldChange, ...]:
    """Fields of the last-applied record that the remote object moved away from."""
    actual = _restrict(observed, recorded, {})
    paths = [p for p in _changed_paths(kind, actual, dict(recorded)) if not ignored(p, ignore)]
    return tuple(
        FieldChange(p, _get(recorded, p), _get(recorded, p), _get(observed, p)) for p in paths
    )


def unchanged(
    desired: Mapping[str, Any], recorded: Mapping[str, Any] | None, observed: Mapping[str, Any]
) -> bool:
    """Whether the resource is untouched: R is D and O, cut to D's fields, is D.

    Then :func:`field_changes` and :func:`drift_changes` both find nothing, and
    the plan skips them: one canonical comparison per side instead of two diffs.
    """
    if recorded is None or not _same(desired, recorded):
        return False
    return _covers(observed, desired)


def _covers(observed: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether O cut down to D's fields (:func:`_restrict` without a record) is D, as JSON.

    Projected objects are spec-shaped, so O's fields named by D are usually D's
    values exactly: one comparison of the top level decides. Else one walk of D.
    """
    top = {key: observed[key] for key in desired if key in observed}
    if len(top) == len(desired) and _same(top, desired):
        return True
    return _covers_walk(observed, desired)


def _covers_walk(observed: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    for key, want in desired.items():
        if key not in observed:
            return False
        value = observed[key]
        if isinstance(value, Mapping) and isinstance(want, Mapping):
            if not _covers_walk(value, want):
                return False
        elif not _same_value(value, want):
            return False
    return True


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values, as :func:`_same` decides (1, 1.0 and True differ)."""
    kind = a.__class__
    if kind in _LEAVES:
        return kind is b.__class__ and (a is b or a == b)  # as containers compare items
    if kind is list and b.__class__ is list:
        return len(a) == len(b) and all(map(_same_value, a, b))
    return _same({"": a}, {"": b})


def ignored(parts: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    """Whether a field path is covered by one of the ``ignore_changes`` patterns."""
    for pattern in patterns:
        segments = pattern.split(".")
        if len(segments) <= len(parts) and all(
            s in ("*", p) for s, p in zip(segments, parts, strict=False)
        ):
            return True
    return False


def _changed_paths(
    kind: Kind, actual: Mapping[str, Any], expected: Mapping[str, Any]
) -> list[tuple[str, ...]]:
    if _same(actual, expected):
        return []  # the common case (nothing changed) costs one comparison, not a DeepDiff
    from deepdiff import DeepDiff  # lazy: 70 ms of imports that a no-change plan never needs

    tree = DeepDiff(dict(actual), dict(expected), view="tree", ignore_order=False)
    paths: set[tuple[str, ...]] = set()
    for items in tree.values():
        for item in items:
            parts = tuple(str(p) for p in _until_list_index(item.path(output_format="list")))
            rule = kind.rule_for(".".join(parts))
            if rule is not None and rule.rule in (Rule.OUTPUT_ONLY, Rule.IGNORED):
                continue
            paths.add(parts)
    return sorted(paths)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as JSON documents (so 1, 1.0 and True stay different, as DeepDiff keeps them)."""
    if a != b:
        return False
    try:
        return _canonical(a) == _canonical(b)
    except TypeError:  # what orjson does not encode (keys that are not strings, huge ints)
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _canonical(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _until_list_index(parts: list[Any]) -> list[Any]:
    for i, part in enumerate(parts):
        if isinstance(part, int):
            return parts[:i]
    return parts


def _with_resets(
    kind: Kind, desired: Mapping[str, Any], recorded: Mapping[str, Any], prefix: tuple[str, ...]
) -> dict[str, Any]:
    """D, plus the reset value of every field R has and D dropped."""
    result: dict[str, Any] = {}
    for key, value in desired.items():
        old = recorded.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            result[key] = _with_resets(kind, value, old, (*prefix, key))
        else:
            result[key] = value
    for key in recorded.keys() - desired.keys():
        path = (*prefix, key)
        rule = kind.rule_for(".".join(path))
        exact = rule is not None and len(rule.path.split(".")) == len(path)
        if exact and rule.rule is Rule.SERVER_DEFAULT and rule.default is not None:  # type: ignore[union-attr]
            result[key] = rule.default  # type: ignore[union-attr]
    return result


def _restrict(
    observed: Mapping[str, Any], desired: Mapping[str, Any], recorded: Mapping[str, Any]
) -> dict[str, Any]:
    """O cut down to the fields D or R name (recursively through dicts)."""
    result: dict[str, Any] = {}
    for key, value in observed.items():
        if key not in desired and key not in recorded:
            continue
        want, old = desired.get(key), recorded.get(key)
        if isinstance(value, Mapping) and (isinstance(want, Mapping) or isinstance(old, Mapping)):
            sub_d = want if isinstance(want, Mapping) else {}
            sub_r = old if isinstance(old, Mapping) else {}
            result[key] = _restrict(value, sub_d, sub_r)
        else:
            result[key] = value
    return result


def _get(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return ABSENT
        node = node[part]
    return node
