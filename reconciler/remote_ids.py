"""``${resources.COLLECTION.NAME.id}``: remote ids, known at plan or apply time.

Loading cannot know the id the connector will give a resource, so
:class:`Placeholders` lets the spec be validated with a stand-in number of the
right type (a job id is an integer) and then writes the reference back in
place of the stand-in: the desired spec holds ``${resources.jobs.x.id}`` as
text. :func:`fill` substitutes the ids that are known: when the tenant is
planned, those of the state (and of observed objects matched by identity),
so a plan compares real ids; when a step is applied, also those of the steps
of the same apply that created the referenced resources (dependency order
makes sure they answered first). A whole-string reference becomes the id
itself (an integer when it is one), one inside a longer string its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.kinds import KINDS_BY_COLLECTION
from reconciler.kinds.base import DesiredResource, ObservedResource, RecordedResource, ResourceKey
from reconciler.refs import RemoteIdRef

STAND_IN_BASE = 9_000_000_000_000_000_000
"""Stand-ins are integers from here (below int64's limit; no real id is this large)."""

_REMOTE = re.compile(r"(?<!\$)\$\{\s*resources\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.id\s*\}")

Ids = Mapping[tuple[str, str], str]
"""(kind, name) → remote id."""


class Placeholders:
    """Stand-ins for one document's remote-id references, and their way back."""

    def __init__(self) -> None:
        self._refs: dict[int, RemoteIdRef] = {}

    def stand_in(self, ref: RemoteIdRef) -> int:
        for number, known in self._refs.items():
            if known == ref:
                return number
        number = STAND_IN_BASE + len(self._refs)
        self._refs[number] = ref
        return number

    def restore(self, data: Any) -> Any:
        """``data`` with every stand-in (a number, or its digits in a string) back as text."""
        if not self._refs:
            return data
        if isinstance(data, bool):
            return data
        if isinstance(data, int):
            ref = self._refs.get(data)
            return str(ref) if ref is not None else data
        if isinstance(data, str):
            for number, ref in self._refs.items():
                data = data.replace(str(number), str(ref))
            return data
        if isinstance(data, Mapping):
            return {key: self.restore(value) for key, value in data.items()}
        if isinstance(data, list):
            return [self.restore(item) for item in data]
        return data


def pending(data: Any) -> list[RemoteIdRef]:
    """The remote-id references to this tenant's kinds still in ``data``; a bundle's
    ``${resources.pipelines.x.id}`` (a kind the reconciler does not manage, written
    ``$${...}`` by ``import bundle``) is text the connector receives as it is."""
    found: list[RemoteIdRef] = []
    if isinstance(data, str):
        found += [
            RemoteIdRef(m.group(1), m.group(2))
            for m in _REMOTE.finditer(data)
            if m.group(1) in KINDS_BY_COLLECTION  # others (pipelines, ...) are literal text
        ]
    elif isinstance(data, Mapping):
        for value in data.values():
            found += pending(value)
    elif isinstance(data, list):
        for item in data:
            found += pending(item)
    return found


def fill(data: Any, ids: Ids) -> Any:
    """``data`` with the remote-id references whose ids are known substituted."""
    if isinstance(data, str):
        whole = _REMOTE.fullmatch(data)
        if whole is not None:
            known = _id(whole, ids)
            if known is None:
                return data
            return int(known) if known.isdigit() else known
        return _REMOTE.sub(lambda m: _id(m, ids) or m.group(0), data)
    if isinstance(data, Mapping):
        return {key: fill(value, ids) for key, value in data.items()}
    if isinstance(data, list):
        return [fill(item, ids) for item in data]
    return data


def _id(match: re.Match[str], ids: Ids) -> str | None:
    kind = KINDS_BY_COLLECTION.get(match.group(1))
    return None if kind is None else ids.get((kind.kind, match.group(2)))


def filled(resource: DesiredResource, ids: Ids) -> DesiredResource:
    """The resource with the known ids in its spec (itself when it has no such reference)."""
    if not pending(resource.spec):
        return resource
    cleartext = fill(resource.cleartext, ids) if resource.cleartext is not None else None
    return replace(resource, spec=fill(resource.spec, ids), cleartext=cleartext)


def known_ids(
    desired: Mapping[ResourceKey, DesiredResource],
    recorded: Mapping[ResourceKey, RecordedResource],
    observed: Iterable[ObservedResource],
) -> dict[tuple[str, str], str]:
    """The remote ids known before an apply: recorded ones, then observed by identity."""
    ids = {(key.kind, key.name): r.remote_id for key, r in recorded.items()}
    by_identity = {(o.kind, o.identity): o.remote_id for o in observed}
    for key, resource in desired.items():
        seen = by_identity.get((key.kind, resource.identity))
        if (key.kind, key.name) not in ids and seen is not None:
            ids[(key.kind, key.name)] = seen
    return ids


def with_known_ids(
    desired: Mapping[ResourceKey, DesiredResource],
    recorded: Mapping[ResourceKey, RecordedResource],
    observed: Iterable[ObservedResource],
) -> Mapping[ResourceKey, DesiredResource]:
    """The desired resources with every remote id known now substituted."""
    if not any(pending(r.spec) for r in desired.values()):
        return desired
    ids = known_ids(desired, recorded, observed)
    return {key: filled(resource, ids) for key, resource in desired.items()}
