"""Sync and health status of tenants and their resources (the rules of ``specs/service.md``).

Pure: a :class:`~reconciler.plan.TenantPlan` in, statuses out. ``serve``
writes them to the state database after every reconcile
(:class:`~reconciler.state.StateStore` ``record_status`` / ``tenant_status``
/ ``tenant_statuses``), so every replica, the CLI, the status page and the
MCP tools read the same answers.

Sync (per resource):

- ``Synced``: the plan has nothing to do for it (a record-only refresh counts
  as synced: the remote object already matches);
- ``OutOfSync``: anything else — a change to make, drift reported but not
  reverted, a conflict or a protected resource;
- ``Unknown``: the tenant could not be planned (bad documents, connector or
  database failure): the last known statuses stay, the tenant says why.

Health (per resource), first rule that applies:

==================  ==========================================================
``Suspended``       the tenant is suspended (policy or ``POST .../suspend``)
``Missing``         the document asks for it and it does not exist remotely
``Degraded``        a serving endpoint whose last config update failed
                    (``UPDATE_FAILED``); a job whose newest run ended
                    ``FAILED``, ``TIMEDOUT`` or ``INTERNAL_ERROR`` (the
                    message names the run and quotes its state message)
``Suspended``       a job whose schedule, trigger or continuous run is
                    ``PAUSED`` (it will not run by itself)
``Progressing``     not ready yet: an endpoint deploying or updating, an index
                    syncing (the kind's ``ready`` flag is false)
``Healthy``         otherwise (a job that never ran, runs now, succeeded or
                    was cancelled)
==================  ==========================================================

A tenant's sync is ``OutOfSync`` if any resource is; its health is the worst
of its resources' in the order Healthy < Suspended < Progressing < Missing <
Degraded (Argo CD's order), or ``Suspended`` when the tenant is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.plan import Action, ResourceChange, TenantPlan


class Sync(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class Health(StrEnum):
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"


HEALTH_ORDER = tuple(Health)
"""From best to worst: a tenant's health is its worst resource's."""

FAILED_RUN_STATES = frozenset({"FAILED", "TIMEDOUT", "INTERNAL_ERROR"})
"""A job whose newest run ended in one of these (result or life-cycle state) is Degraded."""

LatestRuns = Mapping[str, Mapping[str, Any] | None]
"""Job name → its newest run as the connector reports it, None when it never ran."""

UNKNOWN_RUN: Mapping[str, Any] = MappingProxyType({})
"""Stands for a job whose newest run could not be read (its health ignores runs)."""


@dataclass(frozen=True)
class ResourceStatus:
    """One resource's sync and health, with a short message saying why."""

    kind: str
    name: str
    sync: Sync
    health: Health
    message: str = ""

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class TenantStatus:
    """A tenant as the service last saw it.

    ``commit`` is the git commit in force (the last one that validated);
    ``message`` says why nothing was changed when that is the case (manual
    sync, a deny window, suspended, an invalid commit); ``last_error`` is the
    last reconcile's error, or None when it went well.
    """

    tenant: str
    sync: Sync = Sync.UNKNOWN
    health: Health = Health.HEALTHY
    commit: str | None = None
    message: str = ""
    last_error: str | None = None
    last_reconcile_at: datetime | None = None
    last_apply_at: datetime | None = None
    suspended: bool = False
    drift: int = 0
    reconciled_by: str | None = None
    resources: tuple[ResourceStatus, ...] = field(default_factory=tuple)

    def document(self, *, resources: bool = True) -> dict[str, Any]:
        """The JSON form the HTTP API answers with."""
        doc: dict[str, Any] = {
            "tenant": self.tenant,
            "sync": self.sync.value,
            "health": self.health.value,
            "commit": self.commit,
            "message": self.message,
            "last_error": self.last_error,
            "last_reconcile_at": _iso(self.last_reconcile_at),
            "last_apply_at": _iso(self.last_apply_at),
            "suspended": self.suspended,
            "drift": self.drift,
            "reconciled_by": self.reconciled_by,
        }
        if resources:
            doc["resources"] = [
                {
                    "kind": r.kind,
                    "name": r.name,
                    "sync": r.sync.value,
                    "health": r.health.value,
                    "message": r.message,
                }
                for r in self.resources
            ]
        return doc


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def resource_statuses(
    plan: TenantPlan, *, suspended: bool = False, latest_runs: LatestRuns | None = None
) -> tuple[ResourceStatus, ...]:
    """Sync and health of every resource the plan covers (documents and records).

    ``latest_runs`` (job name → newest run) lets the job rules see how each
    job last ran; without it a job's latest run is taken as unknown.
    """
    runs = latest_runs or {}
    return tuple(
        resource_status(c, suspended=suspended, latest_run=runs.get(c.key.name, UNKNOWN_RUN))
        if c.key.kind == "Job"
        else resource_status(c, suspended=suspended)
        for c in plan.changes
    )


def resource_status(
    change: ResourceChange,
    *,
    suspended: bool = False,
    latest_run: Mapping[str, Any] | None = UNKNOWN_RUN,
) -> ResourceStatus:
    synced = change.action is Action.NOOP and not change.drift and not change.wait
    sync = Sync.SYNCED if synced else Sync.OUT_OF_SYNC
    health, why = _health(change, suspended, latest_run)
    message = why or ("" if synced else change.reason)
    return ResourceStatus(change.key.kind, change.key.name, sync, health, message)


def _health(
    change: ResourceChange, suspended: bool, latest_run: Mapping[str, Any] | None
) -> tuple[Health, str]:
    if suspended:
        return Health.SUSPENDED, "the tenant is suspended"
    observed = change.observed
    if observed is None:
        if change.desired is not None:
            return Health.MISSING, "does not exist remotely"
        return Health.HEALTHY, ""
    raw = observed.raw
    update = (raw.get("state") or {}).get("config_update")
    if change.key.kind == "ServingEndpoint" and update == "UPDATE_FAILED":
        return Health.DEGRADED, "the last config update failed (UPDATE_FAILED)"
    if change.key.kind == "Job":
        failed = _failed_run(latest_run)
        if failed:
            return Health.DEGRADED, failed
        paused = _paused(raw)
        if paused:
            return Health.SUSPENDED, f"the {paused} is paused: the job does not run by itself"
    if not observed.ready:
        return Health.PROGRESSING, "not ready yet"
    return Health.HEALTHY, ""


def _failed_run(run: Mapping[str, Any] | None) -> str:
    """Why the run counts as failed ("" when it does not, or is unknown)."""
    if not run:
        return ""
    state = run.get("state")
    source: Mapping[str, Any] = state if isinstance(state, Mapping) else run
    life = str(source.get("life_cycle_state") or run.get("life_cycle_state") or "")
    result = str(source.get("result_state") or run.get("result_state") or "")
    outcome = result if result in FAILED_RUN_STATES else life
    if outcome not in FAILED_RUN_STATES:
        return ""
    said = str(source.get("state_message") or run.get("state_message") or "").strip()
    which = f"run {run['run_id']}" if run.get("run_id") is not None else "run"
    return f"the latest {which} ended {outcome}" + (f": {said}" if said else "")


def _paused(raw: Mapping[str, Any]) -> str:
    """Which of the job's schedule, trigger or continuous run is PAUSED ("" if none)."""
    settings = raw.get("settings")
    source: Mapping[str, Any] = settings if isinstance(settings, Mapping) else raw
    for part in ("schedule", "trigger", "continuous"):
        value = source.get(part)
        if isinstance(value, Mapping) and value.get("pause_status") == "PAUSED":
            return part
    return ""


def tenant_sync(resources: Iterable[ResourceStatus]) -> Sync:
    return Sync.OUT_OF_SYNC if any(r.sync is Sync.OUT_OF_SYNC for r in resources) else Sync.SYNCED


def tenant_health(resources: Iterable[ResourceStatus], *, suspended: bool = False) -> Health:
    if suspended:
        return Health.SUSPENDED
    worst = max((HEALTH_ORDER.index(r.health) for r in resources), default=0)
    return HEALTH_ORDER[worst]
