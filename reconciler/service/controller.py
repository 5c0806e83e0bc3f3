"""The controller: one tenant's reconcile, and the desired state each tenant is held to.

:meth:`Controller.refresh` fetches the source and loads it with one outcome
per tenant folder: a tenant whose documents validate takes the new commit; a
tenant whose documents do not keeps the last commit that did (its status says
why). Only tenants whose files changed between the commit in force and the
new one are returned for an immediate re-plan.

:meth:`Controller.reconcile` does one tenant, under the tenant's lease (the
lease rows every replica shares on PostgreSQL): a tenant busy elsewhere (another
replica, a CLI apply) is skipped; a tenant that another replica reconciled
at the current commit within the last three quarters of an interval is
skipped too, so replicas share the work instead of repeating it, and a killed
replica's tenants are picked up by the others' own schedules. Inside the
lease: observe, settle open intents, plan, and apply unless the policy says
not now (suspended, ``sync: manual``, a sync window, a plan that destroys
data); then the status is written to the state database. A reconcile a
person asked for (``requested``: ``POST .../reconcile``, the status page's
Reconcile button) also applies a ``sync: manual`` tenant's changes, as the
policy's description promises; windows, suspension and the data rule hold.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.apply import ApplyResult, apply_tenant
from reconciler.errors import CircuitOpenError, ReconcilerError
from reconciler.health import latest_runs
from reconciler.kinds.tenant import TenantPolicy
from reconciler.load import TenantDesired, load_tenants
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import PlanOptions, TenantPlan
from reconciler.reconcile import plan_tenant
from reconciler.render.jsonout import field_document
from reconciler.service import metrics
from reconciler.service.breaker import CircuitBreaker
from reconciler.service.config import ServiceConfig
from reconciler.service.source import Snapshot, Source
from reconciler.skipped import missing_deletes
from reconciler.state import StateStore
from reconciler.state.leases import TenantLease
from reconciler.status import (
    Health,
    LatestRuns,
    Sync,
    TenantStatus,
    resource_statuses,
    tenant_health,
    tenant_sync,
)
from reconciler.windows import Window, blocked_by, parse_duration

log = logging.getLogger("reconciler.service")

RECENT_SHARE = 0.75
"""A tenant reconciled (by any replica, at the same commit) this share of an interval ago is skipped."""


@dataclass
class TenantEntry:
    """What a tenant is held to: its last valid documents and their commit."""

    desired: TenantDesired
    commit: str | None
    folder: str
    problem: str | None = None  # why the newest commit is not in force for this tenant


class UnknownTenant(ReconcilerError):
    """No tenant of that name in the source."""


class Controller:
    def __init__(
        self,
        config: ServiceConfig,
        store: StateStore,
        client: ConnectorClient,
        source: Source,
        breaker: CircuitBreaker,
    ) -> None:
        self.config, self.store, self.client = config, store, client
        self.source, self.breaker = source, breaker
        self.entries: dict[str, TenantEntry] = {}
        self.problems: dict[str, str] = {}  # folder → problem, for folders that never loaded
        self.commit: str | None = None
        self.fetched_at: float | None = None
        self.fetch_error: str | None = None
        self._slots = asyncio.Semaphore(max(1, config.concurrent_tenants))
        # one reconcile of a tenant at a time in this process: a request (initialize, a
        # person's reconcile) waits for the scheduler's instead of finding the tenant busy
        self._tenant_turns: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._drift_seen: dict[str, Any] = {}

    # ---- desired state -------------------------------------------------------------

    async def refresh(self) -> set[str]:
        """Fetch and load the source; the tenants to re-plan now (new, changed or broken)."""
        try:
            snapshot = await self.source.fetch(self.commit)
        except ReconcilerError as exc:
            self.fetch_error = str(exc)
            log.error("fetching %s failed: %s", self.source.description, exc)
            raise
        self.fetch_error = None
        self.fetched_at = snapshot.fetched_at
        metrics.GIT_FETCHED.set(snapshot.fetched_at)
        if snapshot.changed == frozenset() and self.entries:
            return set()
        touched = await asyncio.to_thread(self._load, snapshot)
        self.commit = snapshot.commit
        return touched

    def _load(self, snapshot: Snapshot) -> set[str]:
        result = load_tenants(snapshot.path)
        touched: set[str] = set()
        for tenant in result.tenants:
            name, folder = tenant.context.name, _relative(tenant.root, snapshot.path)
            old = self.entries.get(name)
            if (
                old is None
                or old.folder != folder
                or _touches(snapshot.changed, folder)
                or old.problem is not None
            ):
                touched.add(name)
            self.entries[name] = TenantEntry(tenant, snapshot.commit, folder)
        self.problems = {}
        short = (snapshot.commit or "the source")[:12]
        for failure in result.failures:
            first = failure.problems[0] if failure.problems else ""
            count = len(failure.problems)
            owner = failure.tenant or self._tenant_in(failure.folder)
            entry = self.entries.get(owner) if owner else None
            kept = f"; {entry.commit[:12]} stays in force" if entry and entry.commit else ""
            message = f"{short} is invalid ({count} problem{'s' * (count != 1)}: {first}){kept}"
            if entry is not None and owner is not None:
                entry.problem = message
                touched.add(owner)
            else:
                self.problems[failure.tenant or failure.folder] = message
            log.warning("tenant folder %s: %s", failure.folder, message)
        return touched

    def _tenant_in(self, folder: str) -> str | None:
        for name, entry in self.entries.items():
            if folder == entry.folder or folder.startswith(f"{entry.folder}/"):
                return name
        return None

    def entry(self, name: str) -> TenantEntry:
        entry = self.entries.get(name)
        if entry is None:
            raise UnknownTenant(f"no tenant {name!r} in the source", hint="GET /api/v1/tenants")
        return entry

    def policy(self, name: str) -> TenantPolicy:
        """The tenant's policy with the service's overrides applied."""
        policy = self.entry(name).desired.policy
        override = self.config.policy
        changes: dict[str, Any] = {}
        if override.sync is not None:
            changes["sync"] = override.sync
        if override.drift is not None:
            changes["drift"] = override.drift
        if override.prune is not None:
            changes["prune"] = override.prune
        return policy.model_copy(update=changes) if changes else policy

    # ---- one tenant ----------------------------------------------------------------

    async def reconcile(
        self,
        name: str,
        *,
        forced: bool = False,
        targets: frozenset[tuple[str, str]] = frozenset(),
        apply_anyway: bool = False,
        requested: bool = False,
    ) -> TenantStatus | None:
        """Reconcile one tenant; None when skipped (busy elsewhere, or fresh already).

        ``requested``: a person asked for it, so ``sync: manual`` does not hold it back.

        Raises :class:`ReconcilerError` when it failed (the status says so too).
        """
        self.entry(name)  # an unknown tenant fails before waiting for a slot
        async with self._tenant_turns[name], self._slots:
            row = await asyncio.to_thread(self.store.tenant_status, name, resources=False)
            policy = self.policy(name)
            if (row is not None and row.suspended) or policy.suspend:
                row = await asyncio.to_thread(self.store.tenant_status, name)
                return await self._suspended(name, self.entry(name), row, policy)
            lease = await asyncio.to_thread(
                self.store.try_lock, name, command=f"reconciler serve ({self.config.replica})"
            )
            if not isinstance(lease, TenantLease):
                metrics.RECONCILES.labels(name, "busy").inc()
                return None
            # The documents in force now, not when the call began: a source refresh
            # while this waited for a slot or the lock must not be undone by it.
            entry = self.entry(name)
            try:
                return await self._locked(
                    name, entry, policy, lease, forced=forced, targets=targets,
                    apply_anyway=apply_anyway, requested=requested,
                )  # fmt: skip
            finally:
                await asyncio.to_thread(lease.release)

    async def _locked(
        self,
        name: str,
        entry: TenantEntry,
        policy: TenantPolicy,
        lease: TenantLease,
        *,
        forced: bool,
        targets: frozenset[tuple[str, str]],
        apply_anyway: bool,
        requested: bool = False,
    ) -> TenantStatus | None:
        # the tenant's own row only: the resources' statuses are rewritten from the plan
        row = await asyncio.to_thread(self.store.tenant_status, name, resources=False)
        if not forced and _fresh(row, entry.commit, self.config.interval):
            metrics.RECONCILES.labels(name, "fresh").inc()
            return None
        started = time.perf_counter()
        tenant = replace(entry.desired, policy=policy)
        options = PlanOptions(prune=False, targets=targets)
        try:
            plan = await plan_tenant(
                tenant, store=self.store, client=self.client, options=options, lease=lease
            )
            self._record_drift(plan)
            reason = None if apply_anyway else _not_now(policy, plan, requested=requested)
            missing = missing_deletes(plan, tenant.skipped)
            if missing and plan.has_changes:  # part of the tenant folder was not read
                reason = f"not applied: the plan deletes or forgets {missing}"
            result = None
            if plan.has_changes and reason is None:
                result = await self._apply(plan, entry, lease)
                plan = await plan_tenant(
                    tenant, store=self.store, client=self.client, options=options,
                    settle=False, lease=lease,
                )  # fmt: skip
        except ReconcilerError as exc:
            await self._failed(name, entry, exc)
            metrics.RECONCILES.labels(name, "error").inc()
            raise
        finally:
            metrics.DURATION.labels(name).observe(time.perf_counter() - started)
        runs = await latest_runs(self.client, plan)
        status = self._status(name, entry, plan, row, reason=reason, result=result, runs=runs)
        await asyncio.to_thread(self.store.record_status, status)
        metrics.DRIFT.labels(name).set(status.drift)
        outcome = "error" if status.last_error else ("applied" if result else "ok")
        metrics.RECONCILES.labels(name, outcome).inc()
        return status

    async def _apply(self, plan: TenantPlan, entry: TenantEntry, lease: TenantLease) -> ApplyResult:
        result = await apply_tenant(
            plan,
            store=self.store,
            client=self.client,
            actor=f"serve@{self.config.replica}",
            git_commit=entry.commit,
            parallelism=self.config.parallelism,
            lease=lease,
        )
        for step in result.steps:
            metrics.STEPS.labels(step.outcome).inc()
        return result

    def _status(
        self,
        name: str,
        entry: TenantEntry,
        plan: TenantPlan,
        row: TenantStatus | None,
        *,
        reason: str | None,
        result: ApplyResult | None,
        runs: LatestRuns,
    ) -> TenantStatus:
        resources = resource_statuses(plan, latest_runs=runs)
        error = None
        if result is not None and not result.ok:
            failed = [f"{s.key.kind}/{s.key.name}: {s.error}" for s in result.failed]
            error = result.error or f"{len(failed)} step(s) failed: {'; '.join(failed[:3])}"
        now = datetime.now(UTC)
        message = "; ".join(m for m in (entry.problem, reason) if m)
        return TenantStatus(
            tenant=name,
            sync=tenant_sync(resources),
            health=tenant_health(resources),
            commit=entry.commit,
            message=message,
            last_error=error,
            last_reconcile_at=now,
            last_apply_at=now if result is not None and result.apply_id else None,
            suspended=row.suspended if row else False,
            drift=sum(1 for c in plan.changes if c.drift or c.reported),
            reconciled_by=self.config.replica,
            resources=resources,
        )

    async def _suspended(
        self, name: str, entry: TenantEntry, row: TenantStatus | None, policy: TenantPolicy
    ) -> TenantStatus:
        why = "suspended through the API" if row and row.suspended else "policy.suspend is true"
        status = replace(
            row or TenantStatus(name),
            health=Health.SUSPENDED,
            commit=entry.commit,
            message=f"{why}: not planned, nothing changed",
            last_reconcile_at=datetime.now(UTC),
            reconciled_by=self.config.replica,
            resources=tuple(
                replace(r, health=Health.SUSPENDED) for r in (row.resources if row else ())
            ),
        )
        await asyncio.to_thread(self.store.record_status, status)
        metrics.RECONCILES.labels(name, "suspended").inc()
        return status

    async def _failed(self, name: str, entry: TenantEntry, exc: ReconcilerError) -> None:
        circuit = isinstance(exc, CircuitOpenError)
        try:  # the stored status as a whole: its resources' statuses are kept
            row = await asyncio.to_thread(self.store.tenant_status, name)
        except ReconcilerError as db:
            log.error("tenant %s: could not record its status: %s", name, db)
            return
        status = replace(
            row or TenantStatus(name),
            sync=Sync.UNKNOWN,
            commit=entry.commit,
            message=entry.problem or "",
            last_error=str(exc),
            last_reconcile_at=datetime.now(UTC)
            if not circuit
            else (row.last_reconcile_at if row else None),
            reconciled_by=self.config.replica,
        )
        try:
            await asyncio.to_thread(self.store.record_status, status)
        except ReconcilerError as db:
            log.error("tenant %s: could not record its status: %s", name, db)

    def _record_drift(self, plan: TenantPlan) -> None:
        drifted = [
            {
                "address": c.address,
                "identity": c.identity,
                "status": "deleted" if c.observed is None else "changed",
                "fields": [field_document(f) for f in c.drift],
                "reverted": not c.reported,
            }
            for c in plan.changes
            if c.drift or c.reported
        ]
        if drifted and drifted != self._drift_seen.get(plan.tenant):
            metrics.DRIFT_FOUND.labels(plan.tenant).inc(len(drifted))
            document = {"tenant": plan.tenant, "serial": plan.serial, "drifted": drifted,
                        "unmanaged": [{"kind": u.kind, "identity": u.identity} for u in plan.unmanaged]}  # fmt: skip
            try:
                self.store.record_drift(plan.tenant, document)
            except ReconcilerError as exc:
                log.error("tenant %s: could not record drift: %s", plan.tenant, exc)
        self._drift_seen[plan.tenant] = drifted


def _not_now(policy: TenantPolicy, plan: TenantPlan, *, requested: bool = False) -> str | None:
    """Why the plan is not applied now (None: apply it)."""
    if not plan.has_changes:
        return None
    count = len(plan.actionable)
    if policy.sync == "manual" and not requested:
        return f"sync is manual: {count} change(s) planned, none applied"
    windows = [
        Window(w.kind, w.schedule, parse_duration(w.duration), w.timezone) for w in policy.windows
    ]
    blocked = blocked_by(windows, datetime.now(UTC))
    if blocked:
        return f"{count} change(s) waiting: {blocked}"
    if plan.destructive:
        names = ", ".join(c.address for c in plan.destructive)
        return (
            f"the plan destroys data ({names}): the service never does that; "
            "apply it with `reconciler apply --allow-data-loss`"
        )
    return None


def _fresh(row: TenantStatus | None, commit: str | None, interval: float) -> bool:
    if row is None or row.last_reconcile_at is None or row.last_error or row.commit != commit:
        return False
    age = datetime.now(UTC) - row.last_reconcile_at
    return age < timedelta(seconds=interval * RECENT_SHARE)


def _relative(root: Path, base: Path) -> str:
    try:
        return root.relative_to(base).as_posix()
    except ValueError:
        return root.as_posix()


def _touches(changed: frozenset[str] | None, folder: str) -> bool:
    if changed is None:
        return True
    if folder in ("", "."):
        return bool(changed)
    return any(path == folder or path.startswith(f"{folder}/") for path in changed)
