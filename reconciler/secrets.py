"""Sensitive values: how they are hidden everywhere but in the connector call itself.

A spec field is sensitive when its value came from ``${secret:NAME}`` or the
kind marks it so. The planner, the state store and every output see only a
*mask*: ``(sensitive) sha256:<hex>`` — enough to notice that the value changed,
never the value. Only the connector payload is built from the clear text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

MASK_PREFIX = "(sensitive) sha256:"

Path = tuple[str, ...]


def mask_value(value: Any) -> str:
    """The mask of one value (already-masked values stay as they are)."""
    if is_masked(value):
        return str(value)
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()
    return f"{MASK_PREFIX}{digest}"


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MASK_PREFIX)


def mask_paths(spec: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``spec`` with the value at each path replaced by its mask."""
    result: dict[str, Any] = dict(spec)
    for path in paths:
        result = _masked_at(result, path)
    return result


def masked_paths(spec: Mapping[str, Any], prefix: Path = ()) -> list[Path]:
    """Every path of ``spec`` whose value is already a mask (e.g. in a stored record)."""
    found: list[Path] = []
    for key, value in spec.items():
        if isinstance(value, Mapping):
            found.extend(masked_paths(value, (*prefix, str(key))))
        elif is_masked(value):
            found.append((*prefix, str(key)))
    return found


def _masked_at(node: Mapping[str, Any], path: Path) -> dict[str, Any]:
    copy = dict(node)
    head, rest = path[0], path[1:]
    if head not in copy:
        return copy
    if not rest:
        copy[head] = mask_value(copy[head])
    elif isinstance(copy[head], Mapping):
        copy[head] = _masked_at(copy[head], rest)
    return copy


def secret_values(spec: Mapping[str, Any], clear: Mapping[str, Any] | None) -> list[str]:
    """The clear values behind the masks of ``spec`` (empty when it has none)."""
    if clear is None:
        return []
    values = []
    for path in masked_paths(spec):
        node: Any = clear
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, str) and node:
            values.append(node)
    return values


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with every secret value in it replaced by "(sensitive)".

    Error messages can quote what was sent (a connector echoing a bad value);
    they reach the terminal and the state database, so secrets are cut first.
    """
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "(sensitive)")
    return text
