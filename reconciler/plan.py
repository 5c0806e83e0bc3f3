"""The plan: what apply will do, built by a pure function.

``build_plan(...)`` follows the three-way decision table of
``specs/reconcile-semantics.md`` for every resource identity (tenant, kind,
name), with D = desired document, R = last-applied record, O = observed remote
object:

====  ====  ====  ==========================================================
D     R     O     action
====  ====  ====  ==========================================================
yes   no    no    create
yes   no    yes   conflict (exists, unmanaged) — adopt when asked
yes   yes   no    create again; drift "deleted outside the reconciler"
yes   yes   yes   no-op when equal on managed fields, else update / replace
no    yes   yes   delete (prune), or forget when orphaned or not pruning
no    yes   no    forget
no    no    yes   not ours: listed as unmanaged, never touched
====  ====  ====  ==========================================================

With the tenant's ``policy.drift: report`` a change that only drift causes
(O moved away from R while D still equals R there, or O deleted) is not
reverted: it becomes a no-op marked ``reported`` that keeps its drift.

``lifecycle.prevent_destroy`` (remembered from the last apply) turns a delete
or replace into ``blocked``. Deleting or replacing a data-bearing object is
*destructive*: apply refuses it without explicit consent.

No I/O, no clock, no randomness: the same inputs always give the same plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

import orjson

from reconciler.diff import FieldChange, drift_changes, field_changes, unchanged
from reconciler.kinds import KINDS, upgraded
from reconciler.kinds.base import (
    DesiredResource,
    ObservedResource,
    RecordedResource,
    ResourceKey,
    TenantContext,
)
from reconciler.scrub import scrub
from reconciler.secrets import MASK_PREFIX, mask_paths, masked_paths


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    BLOCKED = "blocked"
    NOOP = "noop"


FAILING = frozenset({Action.CONFLICT, Action.BLOCKED})
"""Actions that cannot be applied: apply reports them as failures."""


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
    after: Mapping[str, Any] | None = None  # the spec to record (secrets masked)
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # effective, to record
    destructive: bool = False  # destroys data: needs --allow-data-loss
    fingerprinted: bool = False  # the plan was made against ``observed`` (see fingerprint)
    refresh: bool = False  # a no-op that still rewrites the record
    wait: bool = False  # the object is not ready yet: apply waits for it to settle
    reported: bool = False  # drift left in place (policy.drift: report)

    @cached_property
    def fingerprint(self) -> str | None:
        """A digest of the observed object the plan was made against (None when the change
        does not depend on it). Computed when asked for: only saved plans, JSON output and
        a saved plan's apply read it, and it was a quarter of the plan's own CPU."""
        if not self.fingerprinted or self.observed is None:
            return None
        return fingerprint(self.observed)

    @property
    def changed_fields(self) -> frozenset[str]:
        """Top-level names of the changed fields, and their dotted paths."""
        return frozenset(f.top for f in self.fields) | frozenset(f.path for f in self.fields)

    @property
    def address(self) -> str:
        return f"{self.key.kind}/{self.key.name}"


@dataclass(frozen=True)
class Unmanaged:
    """A remote object in the tenant that no document and no record claims."""

    kind: str
    identity: str


@dataclass(frozen=True)
class PlanOptions:
    adopt: bool = False  # adopt every existing unmanaged object a document names
    prune: bool = True  # delete resources whose documents were removed
    targets: frozenset[tuple[str, str]] = frozenset()  # (kind, name); empty: everything
    replace: frozenset[tuple[str, str]] = frozenset()  # force these to be replaced
    refresh_only: bool = False  # only record what is observed; change nothing remote
    drift: str = "revert"  # "report": drift is listed, never reverted (policy.drift)
    # (kind, identity) -> the other tenant of this state database that records it
    foreign: Mapping[tuple[str, str], str] = field(default_factory=dict)


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
        return any(c.action is not Action.NOOP or c.refresh for c in self.changes)

    @property
    def destructive(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.destructive)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for change in self.changes:
            result[change.action.value] = result.get(change.action.value, 0) + 1
        return result


@dataclass(frozen=True)
class TenantFailure:
    """A tenant that could not be planned (or loaded), and why; the others go on."""

    tenant: str
    error: str


@dataclass(frozen=True)
class Plan:
    tenants: tuple[TenantPlan, ...] = field(default_factory=tuple)
    failed: tuple[TenantFailure, ...] = ()

    @property
    def has_changes(self) -> bool:
        return any(t.has_changes for t in self.tenants)

    @property
    def destructive(self) -> tuple[ResourceChange, ...]:
        return tuple(c for t in self.tenants for c in t.destructive)


def fingerprint(observed: ObservedResource) -> str:
    """A short digest of an observed object: its remote id and its spec-shaped fields."""
    text = json.dumps([observed.remote_id, observed.spec], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


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
    recorded = upgraded(recorded)
    matcher = Matcher(observed)
    wanted = _targeted(desired, recorded, options.targets)
    changes: list[ResourceChange] = []
    for key in order:
        obs = matcher.take(key.kind, recorded.get(key), desired[key].identity)
        if key in wanted:
            changes.append(_plan_desired(desired[key], recorded.get(key), obs, options))
    gone = [r for k, r in recorded.items() if k not in desired]
    for rec in _reverse_dependency_order(gone):
        obs = matcher.take(rec.key.kind, rec, rec.identity)
        if rec.key in wanted:
            changes.append(_plan_removed(rec, obs, options))
    unmanaged = tuple(Unmanaged(o.kind, o.identity) for o in matcher.leftover())
    return TenantPlan(context.name, context, serial, tuple(changes), unmanaged)


def _plan_desired(
    d: DesiredResource,
    r: RecordedResource | None,
    o: ObservedResource | None,
    options: PlanOptions,
) -> ResourceChange:
    lifecycle = {**(r.lifecycle if r else {}), **d.lifecycle}
    base = ResourceChange(
        d.key, Action.NOOP, "", d.identity, depends_on=d.depends_on, desired=d,
        after=d.spec, lifecycle=lifecycle,
    )  # fmt: skip
    if options.refresh_only:
        return _refresh_only(base, r, o)
    if o is None:
        if r is not None and options.drift == "report":
            reason = f"deleted outside the reconciler: {REPORTED}"
            return replace(base, reason=reason, reported=True)
        if r is None and KINDS[d.key.kind].unique_names:
            owned = _owned_by_another(base, d, options)
            if owned is not None:
                return owned
        reason = "new" if r is None else "deleted outside the reconciler: create again"
        return replace(base, action=Action.CREATE, reason=reason)
    kind = KINDS[d.key.kind]
    secret_paths = {*d.sensitive, *(masked_paths(r.spec) if r and _may_hold_masks(r.spec) else ())}
    o_spec = mask_paths(o.spec, secret_paths) if secret_paths else o.spec
    ignore = tuple(lifecycle.get("ignore_changes", ()))
    quiet = unchanged(d.spec, r.spec if r else None, o_spec)
    fields = (
        () if quiet else field_changes(kind, d.spec, r.spec if r else None, o_spec, ignore=ignore)
    )
    if quiet and r is not None and o.ready and (d.key.kind, d.key.name) not in options.replace:
        # the common case, decided as below with one change built
        refresh = _rewrites_record(r, d, lifecycle, same_spec=True)
        return replace(
            base, remote_id=o.remote_id, observed=o, fingerprinted=True,
            reason=_matching(refresh), refresh=refresh,
        )  # fmt: skip
    base = replace(base, remote_id=o.remote_id, observed=o, fields=fields, fingerprinted=True)
    if r is None:
        return _unrecorded(base, d, options)
    if not quiet:
        base = replace(base, drift=drift_changes(kind, r.spec, o_spec, ignore=ignore))
    if (d.key.kind, d.key.name) in options.replace:
        return _replace(base, ["replacement requested with --replace"], kind.data_bearing)
    drifted = {f.parts for f in base.drift}
    kept = _drift_kept(fields, drifted) if options.drift == "report" else ()
    if kept:
        fields = tuple(f for f in fields if f not in kept)
        base = replace(base, fields=fields, reported=True)
    refresh = _rewrites_record(r, d, lifecycle, same_spec=quiet)
    if kept and not fields:
        paths = ", ".join(f"`{f.path}`" for f in kept)
        return replace(base, reason=f"{paths} changed outside the reconciler: {REPORTED}",
                       refresh=refresh)  # fmt: skip
    if not fields:
        if not o.ready:
            reason = "not ready yet (a deployment or sync is still running): apply waits for it"
            return replace(base, reason=reason, refresh=True, wait=True)
        return replace(base, reason=_matching(refresh), refresh=refresh)
    verdicts = [kind.assess(f) for f in fields]
    reasons = [
        v.reason + (" outside the reconciler" if f.parts in drifted else "")
        for f, v in zip(fields, verdicts, strict=True)
    ]
    if kept:
        reasons.append(", ".join(f"`{f.path}`" for f in kept) + f" drifted: {REPORTED}")
    if any(v.replace for v in verdicts):
        chosen = [r for r, v in zip(reasons, verdicts, strict=True) if v.replace]
        return _replace(base, chosen, kind.data_bearing)
    return replace(base, action=Action.UPDATE, reason="; ".join(reasons))


REPORTED = "reported, not reverted (policy.drift is report)"


def _rewrites_record(
    r: RecordedResource, d: DesiredResource, lifecycle: Mapping[str, Any], *, same_spec: bool
) -> bool:
    """Whether the record changes although the remote object does not (``same_spec``: R's
    spec is known to be D's). The record keeps the identity scrubbed of secrets."""
    if not same_spec and dict(r.spec) != dict(d.spec):
        return True
    return (r.identity, dict(r.lifecycle)) != (scrub(d.identity), lifecycle)


def _matching(refresh: bool) -> str:
    """The reason of a resource whose remote object matches its documents."""
    return "remote already matches: only the record is updated" if refresh else "up to date"


def _may_hold_masks(spec: Mapping[str, Any]) -> bool:
    """False when no value of ``spec`` can be a mask (one encoding, not a walk of the spec)."""
    try:
        return MASK_PREFIX.encode() in orjson.dumps(spec)
    except TypeError:
        return True


def _drift_kept(
    fields: tuple[FieldChange, ...], drifted: set[tuple[str, ...]]
) -> tuple[FieldChange, ...]:
    """The changes only drift causes: O moved on a field where D still equals R."""
    return tuple(f for f in fields if f.parts in drifted and f.before == f.after)


def _owned_by_another(
    base: ResourceChange, d: DesiredResource, options: PlanOptions
) -> ResourceChange | None:
    """A conflict when another tenant of this state database records ``d``'s identity."""
    owner = options.foreign.get((d.key.kind, d.identity)) or options.foreign.get(
        (d.key.kind, scrub(d.identity))
    )
    if owner is None:
        return None
    reason = (
        f"{d.key.kind} `{d.identity}` already exists and is owned by tenant `{owner}` "
        "of this state database: a tenant never adopts another tenant's object "
        "(no adopt flag overrides this); rename it in this tenant's documents"
    )
    return replace(base, action=Action.CONFLICT, reason=reason)


def _unrecorded(base: ResourceChange, d: DesiredResource, options: PlanOptions) -> ResourceChange:
    owned = _owned_by_another(base, d, options)
    if owned is not None:
        return owned
    if d.adopt or options.adopt:
        return replace(base, action=Action.ADOPT, reason="existing object adopted")
    marked = base.observed is not None and base.observed.managed
    who = (
        "was created by a reconciler but is not in this state database (another state "
        "database, or state that was lost)"
        if marked
        else "is not managed by the reconciler"
    )
    reason = (
        f"{d.key.kind} `{d.identity}` already exists and {who}: "
        "set `spec.adopt: true` or pass --adopt to take it over"
    )
    return replace(base, action=Action.CONFLICT, reason=reason)


def _replace(base: ResourceChange, reasons: list[str], data_bearing: bool) -> ResourceChange:
    reason = "; ".join(reasons)
    if base.lifecycle.get("prevent_destroy"):
        return replace(
            base, action=Action.BLOCKED, reason=_protected(f"must be replaced: {reason}")
        )
    if data_bearing and "destroys data" not in reason:
        reason += " — destroys the data it holds"
    return replace(base, action=Action.REPLACE, reason=reason, destructive=data_bearing)


def _protected(what: str) -> str:
    return (
        f"{what}, but lifecycle.prevent_destroy is set; to allow it, apply the document "
        "with `lifecycle: {prevent_destroy: false}` first"
    )


def _refresh_only(
    base: ResourceChange, r: RecordedResource | None, o: ObservedResource | None
) -> ResourceChange:
    """--refresh-only: the record takes what is observed; nothing remote changes."""
    if r is None:
        return replace(base, reason="not applied yet (refresh only)", after=None)
    if o is None:
        return replace(
            base, action=Action.FORGET, reason="deleted outside the reconciler: forgotten"
        )
    o_spec = mask_paths(o.spec, masked_paths(r.spec))
    seen = {k: v for k, v in o_spec.items() if k in r.spec}
    drift = drift_changes(KINDS[r.key.kind], r.spec, o_spec)
    return replace(
        base,
        reason="record what is observed" if drift else "up to date",
        remote_id=o.remote_id,
        observed=o,
        drift=drift,
        after=seen,
        lifecycle=dict(r.lifecycle),
        refresh=bool(drift) or o.remote_id != r.remote_id,
    )


def _plan_removed(
    r: RecordedResource, o: ObservedResource | None, options: PlanOptions
) -> ResourceChange:
    base = ResourceChange(
        r.key, Action.FORGET, "", r.identity, remote_id=r.remote_id, depends_on=r.depends_on,
        lifecycle=dict(r.lifecycle),
    )  # fmt: skip
    if o is None:
        return replace(base, reason="document removed and the object is already gone")
    kind = KINDS[r.key.kind]
    base = replace(base, remote_id=o.remote_id, observed=o, fingerprinted=True)
    if options.refresh_only:
        return replace(base, action=Action.NOOP, reason="document removed (refresh only)")
    if r.lifecycle.get("prevent_destroy"):
        return replace(base, action=Action.BLOCKED, reason=_protected("document removed"))
    if not options.prune:
        reason = "document removed; the tenant's policy does not prune, so the object is kept"
        return replace(base, reason=reason)
    on_delete = r.lifecycle.get("on_delete") or ("orphan" if kind.data_bearing else "delete")
    if on_delete == "orphan":
        reason = "document removed; on_delete is orphan: forgotten, the object and its data kept"
        return replace(base, reason=reason)
    reason = "document removed" + (" — destroys the data it holds" if kind.data_bearing else "")
    return replace(base, action=Action.DELETE, reason=reason, destructive=kind.data_bearing)


def _targeted(
    desired: Mapping[ResourceKey, DesiredResource],
    recorded: Mapping[ResourceKey, RecordedResource],
    targets: frozenset[tuple[str, str]],
) -> set[ResourceKey]:
    """The resources in scope: all, or the targets and everything they depend on."""
    everything = set(desired) | set(recorded)
    if not targets:
        return everything
    chosen = {k for k in everything if (k.kind, k.name) in targets}
    stack = list(chosen)
    while stack:
        key = stack.pop()
        deps = desired[key].depends_on if key in desired else recorded[key].depends_on
        for dep in deps:
            if dep not in chosen and dep in everything:
                chosen.add(dep)
                stack.append(dep)
    return chosen


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


class Matcher:
    """Pairs observed objects with resources: by recorded remote id, then by identity."""

    def __init__(self, observed: Sequence[ObservedResource]) -> None:
        self._by_id = {(o.kind, o.remote_id): o for o in observed}
        self._by_identity = {(o.kind, o.identity): o for o in observed}
        # state keeps ids and identities scrubbed of secrets: records match those forms
        self._by_scrubbed: dict[tuple[str, str], ObservedResource] = {}
        for o in observed:
            self._by_scrubbed.setdefault((o.kind, scrub(o.remote_id)), o)
            self._by_scrubbed.setdefault((o.kind, scrub(o.identity)), o)
        self._taken: set[tuple[str, str]] = set()

    def take(
        self, kind: str, rec: RecordedResource | None, identity: str
    ) -> ObservedResource | None:
        found = self._by_id.get((kind, rec.remote_id)) if rec else None
        if found is None:
            found = self._by_identity.get((kind, identity))
        if found is None and rec is not None:
            found = self._by_scrubbed.get((kind, rec.remote_id)) or self._by_scrubbed.get(
                (kind, rec.identity)
            )
        if found is None or (kind, found.remote_id) in self._taken:
            return None
        self._taken.add((kind, found.remote_id))
        return found

    def leftover(self) -> list[ObservedResource]:
        rest = [o for o in self._by_id.values() if (o.kind, o.remote_id) not in self._taken]
        return sorted(rest, key=lambda o: (list(KINDS).index(o.kind), o.identity))
