"""The plan: what apply will do, built by a pure function.

``build_plan(desired, snapshot, observed, options)`` follows the three-way
decision table of ``specs/reconcile-semantics.md`` for every resource identity
(tenant, kind, name), with D = desired document, R = last-applied record,
O = observed remote object:

====  ====  ====  ==========================================================
D     R     O     action
====  ====  ====  ==========================================================
yes   no    no    create
yes   no    yes   conflict (exists, unmanaged) — adopt when asked
yes   yes   no    create again; drift "deleted outside the reconciler"
yes   yes   yes   no-op when equal on managed fields, else update / replace
no    yes   yes   delete (prune), unless the tenant's policy keeps it
no    yes   no    forget
no    no    yes   not ours: listed as unmanaged, never touched
====  ====  ====  ==========================================================

No I/O, no clock, no randomness: the same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from reconciler.diff import FieldChange, drift_changes, field_changes
from reconciler.kinds import KINDS
from reconciler.kinds.base import (
    DesiredResource,
    ObservedResource,
    RecordedResource,
    ResourceKey,
    Rule,
    TenantContext,
)


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    NOOP = "noop"


CHANGING = frozenset({Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.ADOPT})
"""Actions that call the connector."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource's line in the plan."""

    key: ResourceKey
    action: Action
    reason: str
    identity: str
    remote_id: str | None = None
    fields: tuple[FieldChange, ...] = ()
    drift: tuple[FieldChange, ...] = ()
    depends_on: tuple[ResourceKey, ...] = ()
    desired: DesiredResource | None = None
    observed: ObservedResource | None = None
    refresh: bool = False  # a no-op that still rewrites the record

    @property
    def changed_fields(self) -> frozenset[str]:
        return frozenset(f.top for f in self.fields)


@dataclass(frozen=True)
class Unmanaged:
    """A remote object in the tenant that no document and no record claims."""

    kind: str
    identity: str


@dataclass(frozen=True)
class PlanOptions:
    adopt: bool = False  # adopt every existing unmanaged object a document names
    prune: bool = True  # delete resources whose documents were removed


@dataclass(frozen=True)
class TenantPlan:
    tenant: str
    context: TenantContext
    serial: int
    changes: tuple[ResourceChange, ...]
    unmanaged: tuple[Unmanaged, ...] = ()

    @property
    def actionable(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP or c.refresh)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for change in self.changes:
            result[change.action.value] = result.get(change.action.value, 0) + 1
        return result


@dataclass(frozen=True)
class Plan:
    tenants: tuple[TenantPlan, ...] = field(default_factory=tuple)

    @property
    def has_changes(self) -> bool:
        return any(t.has_changes for t in self.tenants)


def build_plan(
    *,
    context: TenantContext,
    order: Sequence[ResourceKey],
    desired: Mapping[ResourceKey, DesiredResource],
    recorded: Mapping[ResourceKey, RecordedResource],
    observed: Sequence[ObservedResource],
    serial: int,
    options: PlanOptions = PlanOptions(),
) -> TenantPlan:
    """The plan for one tenant. ``order`` is the desired dependency order."""
    matcher = _Matcher(observed)
    changes: list[ResourceChange] = []
    for key in order:
        obs = matcher.take(key.kind, recorded.get(key), desired[key].identity)
        changes.append(_plan_desired(desired[key], recorded.get(key), obs, options))
    gone = [r for k, r in recorded.items() if k not in desired]
    for rec in _reverse_dependency_order(gone):
        obs = matcher.take(rec.key.kind, rec, rec.identity)
        changes.append(_plan_removed(rec, obs, options))
    unmanaged = tuple(Unmanaged(o.kind, o.identity) for o in matcher.leftover())
    return TenantPlan(context.name, context, serial, tuple(changes), unmanaged)


def _plan_desired(
    d: DesiredResource,
    r: RecordedResource | None,
    o: ObservedResource | None,
    options: PlanOptions,
) -> ResourceChange:
    base = ResourceChange(d.key, Action.NOOP, "", d.identity, depends_on=d.depends_on, desired=d)
    if o is None:
        reason = "new" if r is None else "deleted outside the reconciler: create again"
        return replace(base, action=Action.CREATE, reason=reason)
    kind = KINDS[d.key.kind]
    fields = field_changes(kind, d.spec, r.spec if r else None, o.spec)
    base = replace(base, remote_id=o.remote_id, observed=o, fields=fields)
    if r is None:
        if d.adopt or options.adopt:
            return replace(base, action=Action.ADOPT, reason="existing object adopted")
        reason = (
            f"{d.key.kind} `{d.identity}` already exists and is not managed by the reconciler: "
            "set `spec.adopt: true` or pass --adopt to take it over"
        )
        return replace(base, action=Action.CONFLICT, reason=reason)
    base = replace(base, drift=drift_changes(kind, r.spec, o.spec))
    if not fields:
        refresh = dict(r.spec) != dict(d.spec) or r.identity != d.identity
        return replace(base, reason="up to date", refresh=refresh)
    create_only = [f.path for f in fields if _is_create_only(d.key.kind, f.path)]
    if create_only:
        reason = f"{', '.join(create_only)} cannot change in place: replace"
        return replace(base, action=Action.REPLACE, reason=reason)
    return replace(base, action=Action.UPDATE, reason=_describe(fields, base.drift))


def _plan_removed(
    r: RecordedResource, o: ObservedResource | None, options: PlanOptions
) -> ResourceChange:
    base = ResourceChange(
        r.key, Action.FORGET, "", r.identity, remote_id=r.remote_id, depends_on=r.depends_on
    )
    if o is None:
        return replace(base, reason="document removed and the object is already gone")
    base = replace(base, remote_id=o.remote_id, observed=o)
    if not options.prune:
        reason = "document removed; the tenant's policy does not prune, so the object is kept"
        return replace(base, reason=reason)
    return replace(base, action=Action.DELETE, reason="document removed")


def _is_create_only(kind: str, path: str) -> bool:
    rule = KINDS[kind].rule_for(path)
    return rule is not None and rule.rule is Rule.CREATE_ONLY


def _describe(fields: tuple[FieldChange, ...], drift: tuple[FieldChange, ...]) -> str:
    names = ", ".join(f.path for f in fields)
    if drift and {f.parts for f in drift} >= {f.parts for f in fields}:
        return f"changed outside the reconciler: {names}"
    return f"{names} changed"


def _reverse_dependency_order(records: list[RecordedResource]) -> list[RecordedResource]:
    """Dependents before what they depend on (deletes run in this order)."""
    ordered = sorted(records, key=lambda r: (list(KINDS).index(r.key.kind), r.key.name))
    dependents: dict[ResourceKey, list[RecordedResource]] = {}
    for rec in ordered:
        for dep in rec.depends_on:
            dependents.setdefault(dep, []).append(rec)
    done: list[RecordedResource] = []
    seen: set[ResourceKey] = set()

    def visit(rec: RecordedResource) -> None:
        if rec.key in seen:
            return
        seen.add(rec.key)
        for other in dependents.get(rec.key, ()):
            visit(other)
        done.append(rec)

    for rec in ordered:
        visit(rec)
    return done


class _Matcher:
    """Pairs observed objects with resources: by recorded remote id, then by identity."""

    def __init__(self, observed: Sequence[ObservedResource]) -> None:
        self._by_id = {(o.kind, o.remote_id): o for o in observed}
        self._by_identity = {(o.kind, o.identity): o for o in observed}
        self._taken: set[tuple[str, str]] = set()

    def take(
        self, kind: str, rec: RecordedResource | None, identity: str
    ) -> ObservedResource | None:
        found = self._by_id.get((kind, rec.remote_id)) if rec else None
        if found is None:
            found = self._by_identity.get((kind, identity))
        if found is None or (kind, found.remote_id) in self._taken:
            return None
        self._taken.add((kind, found.remote_id))
        return found

    def leftover(self) -> list[ObservedResource]:
        rest = [o for o in self._by_id.values() if (o.kind, o.remote_id) not in self._taken]
        return sorted(rest, key=lambda o: (list(KINDS).index(o.kind), o.identity))
