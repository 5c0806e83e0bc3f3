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

Which strings hold real references is carried on the desired resource
(``DesiredResource.templates``), not read back from the text: a literal
``$${resources.jobs.x.id}`` is the text ``${resources.jobs.x.id}`` in the spec,
and stays that text, never an id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.kinds import KINDS_BY_COLLECTION
from reconciler.kinds.base import DesiredResource, ObservedResource, RecordedResource, ResourceKey
from reconciler.refs import RemoteIdRef
from reconciler.secrets import is_masked

STAND_IN_BASE = 9_000_000_000_000_000_000
"""Stand-ins are integers from here (below int64's limit; no real id is this large)."""

_REMOTE = re.compile(r"(?<!\$)\$\{\s*resources\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.id\s*\}")

Ids = Mapping[tuple[str, str], str]
"""(kind, name) → remote id."""


Template = tuple[tuple[str | int, ...], str]
"""(path in the spec, the string there with each real reference as ``${...}`` and each
literal ``${`` as ``$${``): what :func:`filled` fills, so a literal is never taken for one."""


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

    def templates(self, data: Any, path: tuple[str | int, ...] = ()) -> list[Template]:
        """A :data:`Template` for every value of ``data`` that holds a stand-in."""
        if not self._refs or isinstance(data, bool):
            return []
        if isinstance(data, int):
            ref = self._refs.get(data)
            return [(path, str(ref))] if ref is not None else []
        if isinstance(data, str):
            if not any(str(number) in data for number in self._refs):
                return []
            text = data.replace("${", "$${")
            for number, ref in self._refs.items():
                text = text.replace(str(number), str(ref))
            return [(path, text)]
        if isinstance(data, Mapping):
            return [t for key, value in data.items() for t in self.templates(value, (*path, key))]
        if isinstance(data, list):
            return [t for i, item in enumerate(data) for t in self.templates(item, (*path, i))]
        return []


def references(resource: DesiredResource) -> list[RemoteIdRef]:
    """The remote-id references written as such in the resource's documents (never the
    literal ``$${resources...}`` text, nor kinds the reconciler does not manage)."""
    return [
        RemoteIdRef(m.group(1), m.group(2))
        for _, template in resource.templates
        for m in _REMOTE.finditer(template)
        if m.group(1) in KINDS_BY_COLLECTION
    ]


def missing(resource: DesiredResource, ids: Ids) -> list[RemoteIdRef]:
    """The references of ``resource`` whose ids ``ids`` does not know."""
    return [
        ref
        for ref in references(resource)
        if (KINDS_BY_COLLECTION[ref.collection].kind, ref.name) not in ids
    ]


def fill(template: str, ids: Ids) -> Any:
    """The value of a template with the known ids in place and literals unescaped."""
    whole = _REMOTE.fullmatch(template)
    if whole is not None:
        known = _id(whole, ids)
        if known is None:
            return template
        return int(known) if known.isdigit() else known
    return _REMOTE.sub(lambda m: _id(m, ids) or m.group(0), template).replace("$${", "${")


def _id(match: re.Match[str], ids: Ids) -> str | None:
    kind = KINDS_BY_COLLECTION.get(match.group(1))
    return None if kind is None else ids.get((kind.kind, match.group(2)))


def filled(resource: DesiredResource, ids: Ids) -> DesiredResource:
    """The resource with the known ids in its spec (itself when it has no such reference)."""
    if not resource.templates:
        return resource
    spec, cleartext = resource.spec, resource.cleartext
    for path, template in resource.templates:
        value = fill(template, ids)
        if not _under_mask(spec, path):  # a secret's field (or a masked parent) stays masked
            spec = _put(spec, path, value)
        if cleartext is not None:
            cleartext = _put(cleartext, path, value)
    return replace(resource, spec=spec, cleartext=cleartext)


def _under_mask(data: Any, path: tuple[str | int, ...]) -> bool:
    """Whether the value at ``path``, or one of the values holding it, is a secret's mask."""
    for part in path:
        if is_masked(data):
            return True
        data = data[part]
    return is_masked(data)


def _put(data: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``data`` with ``value`` at ``path`` (copied along the path only)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, list):
        assert isinstance(head, int)
        return [*data[:head], _put(data[head], rest, value), *data[head + 1 :]]
    return {**data, head: _put(data[head], rest, value)}


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
    if not any(r.templates for r in desired.values()):
        return desired
    ids = known_ids(desired, recorded, observed)
    return {key: filled(resource, ids) for key, resource in desired.items()}
