"""Execute a tenant's plan: lock, journal, dependency order, bounded parallelism.

An apply of one tenant runs like this:

1. record the tenant's claims to its tenantId and catalog (:mod:`reconciler.claims`;
   refused when another tenant holds one), take the tenant's lock (a lease row;
   wait up to ``lock_timeout`` seconds), then claim the next serial
   (``begin_apply``), refusing a stale plan;
2. run every step (one resource each) as soon as the steps it depends on have
   succeeded: creates and updates after their dependencies, deletes after the
   deletes of their dependents. At most ``parallelism`` steps talk to the
   connector at once (the limit is shared by every tenant of one
   :func:`~reconciler.reconcile.apply_plan`);
3. for each step that changes something: journal an *intent* and commit,
   send the connector calls, then record the result and close the intent in
   one transaction (see :mod:`reconciler.state.journal`). A create is
   recorded as soon as the connector accepted it, *before* waiting for the
   object to become ready; the wait holds no parallelism slot;
4. finish the apply with its outcome, release the lock.

A failed step fails only the steps that depend on it; the others go on.
Connector errors worth retrying (5xx, 429, unreachable) are retried by the
client alone (one retry layer; creates carry an idempotency key, so a retry
never creates twice). When the state database fails, the apply stops: no step
sends anything more (a change is never sent without its intent recorded
first), and the tenant's result carries the database error. State calls run
in worker threads, so a slow database never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from reconciler import claims
from reconciler.errors import ApplyError, ReconcilerError, StateError
from reconciler.kinds import KINDS
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import FAILING, Action, ResourceChange, TenantPlan
from reconciler.remote_ids import filled, missing
from reconciler.scrub import scrub
from reconciler.secrets import secret_values
from reconciler.state import StateStore
from reconciler.state.leases import TenantLease, busy

DEPENDS_FORWARD = frozenset(
    {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.ADOPT, Action.NOOP} | FAILING
)
LOCK_POLL = 0.25


@dataclass(frozen=True)
class StepResult:
    key: ResourceKey
    action: Action
    outcome: str  # "ok" | "failed" | "skipped"
    error: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    """One tenant's apply. ``error`` is set when the tenant as a whole could not
    be applied (locked, stale plan, state database failure)."""

    tenant: str
    apply_id: int | None
    steps: tuple[StepResult, ...]
    error: str | None = None

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.outcome != "ok")

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed


class ApplyInterrupted(StateError):
    """The state database failed after steps ran: the database error, and every step's outcome."""

    def __init__(self, cause: StateError, apply_id: int, steps: tuple[StepResult, ...]) -> None:
        super().__init__(cause.message, hint=cause.hint)
        self.apply_id = apply_id
        self.steps = steps


StepListener = Callable[[str, ResourceChange, str | None], None]
"""Called with ("start" | "waiting" | "ok" | "failed" | "skipped", change, detail)."""

BeforeStep = Callable[[ResourceChange], Awaitable[None]]
"""Awaited before a step's first connector call; a ReconcilerError fails the step."""


async def apply_tenant(
    plan: TenantPlan,
    *,
    store: StateStore,
    client: ConnectorClient,
    actor: str,
    git_commit: str | None = None,
    parallelism: int = 10,
    listener: StepListener | None = None,
    before_step: BeforeStep | None = None,
    lock_timeout: float = 0.0,
    command: str | None = None,
    slots: asyncio.Semaphore | None = None,
    lease: TenantLease | None = None,
) -> ApplyResult:
    """Apply one tenant's plan; returns every step's outcome (never raises for a step).

    Pass ``lease`` when the caller already holds the tenant's lock (taken
    before planning); it is then left for the caller to release.
    Raises :class:`ReconcilerError` when the tenant cannot be applied at all:
    its lock stays busy, the plan is stale, or the state database fails.
    """
    await asyncio.to_thread(claims.stake, store, plan.context)
    steps = plan.actionable
    if not steps:
        return ApplyResult(plan.tenant, None, ())
    held = lease is not None
    if lease is None:
        lease = await acquire_lock(store, plan.tenant, timeout=lock_timeout, command=command)
    try:
        apply_id = await asyncio.to_thread(
            store.begin_apply,
            plan.tenant,
            expected_serial=plan.serial,
            actor=actor,
            git_commit=git_commit,
            summary=plan.counts(),
        )
        runner = _Runner(plan, store, client, apply_id, lease, listener or _quiet)
        runner.before_step = before_step
        runner.slots = slots or asyncio.Semaphore(max(1, parallelism))
        results = await runner.run(steps)
        try:
            if runner.fatal is not None:
                raise runner.fatal
            outcome = "failed" if any(r.outcome != "ok" for r in results) else "succeeded"
            await asyncio.to_thread(
                store.finish_apply, apply_id, outcome=outcome, summary=_summary(results)
            )
        except StateError as exc:
            raise ApplyInterrupted(exc, apply_id, results) from exc
    finally:
        if not held:
            await asyncio.to_thread(lease.release)
    return ApplyResult(plan.tenant, apply_id, results)


async def acquire_lock(
    store: StateStore, tenant: str, *, timeout: float, command: str | None
) -> TenantLease:
    """The tenant's lease, polling up to ``timeout`` s without blocking other tenants."""
    deadline = time.monotonic() + timeout
    while True:
        got = await asyncio.to_thread(store.try_lock, tenant, command=command)
        if isinstance(got, TenantLease):
            return got
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise busy(got, tenant)
        await asyncio.sleep(min(LOCK_POLL, remaining))


def _quiet(event: str, change: ResourceChange, detail: str | None) -> None:
    return None


def _summary(results: tuple[StepResult, ...]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for r in results:
        bucket = f"{r.action.value}_{r.outcome}"
        summary[bucket] = int(summary.get(bucket, 0)) + 1  # type: ignore[call-overload]
    return summary


def _prerequisites(
    change: ResourceChange, steps: dict[ResourceKey, ResourceChange]
) -> list[ResourceKey]:
    if change.action in DEPENDS_FORWARD:
        return [k for k in change.depends_on if k in steps]
    return [k for k, other in steps.items() if change.key in other.depends_on and k != change.key]


def _address(key: ResourceKey) -> str:
    return f"{key.kind}/{key.name}"


class _Runner:
    """Runs one tenant's steps; stops sending anything once the state database fails."""

    def __init__(
        self,
        plan: TenantPlan,
        store: StateStore,
        client: ConnectorClient,
        apply_id: int,
        lease: TenantLease,
        listener: StepListener,
    ) -> None:
        self.plan, self.store, self.client = plan, store, client
        self.apply_id, self.lease, self.listener = apply_id, lease, listener
        self.slots = asyncio.Semaphore(10)
        self.before_step: BeforeStep | None = None
        self.done: dict[ResourceKey, asyncio.Future[StepResult]] = {}
        self.fatal: StateError | None = None
        self.intents: dict[ResourceKey, int] = {}  # one intent per step
        self.ids: dict[tuple[str, str], str] = {}  # for ${resources.*.id}; grows as steps create
        for c in plan.changes:
            known = c.observed.remote_id if c.observed is not None else c.remote_id
            if known:
                self.ids[(c.key.kind, c.key.name)] = known

    async def run(self, steps: tuple[ResourceChange, ...]) -> tuple[StepResult, ...]:
        by_key = {c.key: c for c in steps}
        loop = asyncio.get_running_loop()
        self.done = {k: loop.create_future() for k in by_key}
        tasks = [asyncio.create_task(self._step(c, _prerequisites(c, by_key))) for c in steps]
        return tuple(await asyncio.gather(*tasks))

    async def _step(self, change: ResourceChange, needs: list[ResourceKey]) -> StepResult:
        before = [await asyncio.shield(self.done[k]) for k in needs]
        failed = [r.key for r in before if r.outcome != "ok"]
        if failed:
            why = f"skipped: {', '.join(_address(k) for k in failed)} did not apply"
            result = await self._finish(change, "skipped", why)
        elif self.fatal is not None:
            result = await self._finish(change, "skipped", f"skipped: {self.fatal.message}")
        else:
            result = await self._execute(change)
        self.done[change.key].set_result(result)
        return result

    async def _execute(self, change: ResourceChange) -> StepResult:
        async with self.slots:
            self.listener("start", change, None)
            try:
                if self.before_step is not None:
                    await self.before_step(change)
            except ReconcilerError as exc:
                return await self._finish(change, "failed", str(exc))
            try:
                remote_id = await self._guarded(self._call(change))
            except ReconcilerError as exc:
                return await self._finish(change, "failed", str(exc))
        if remote_id is not None and (change.action is not Action.NOOP or change.wait):
            try:
                await self._wait_ready(change, remote_id)
            except ReconcilerError as exc:
                return await self._finish(change, "failed", str(exc))
        return await self._finish(change, "ok", None)

    async def _guarded(self, attempt: Awaitable[str | None]) -> str | None:
        """Run ``attempt`` unless the database failed already; a database failure is fatal."""
        if self.fatal is not None:
            close = getattr(attempt, "close", None)
            if close is not None:
                close()
            raise self.fatal
        try:
            return await attempt
        except StateError as exc:
            self.fatal = self.fatal or exc
            raise

    async def _wait_ready(self, change: ResourceChange, remote_id: str) -> None:
        kind = KINDS[change.key.kind]
        if not kind.ready_timeout:
            return
        self.listener("waiting", change, f"waiting up to {kind.ready_timeout:g} s to be ready")
        await self._guarded(
            _none(kind.wait_ready(self.client, self.plan.context, change.identity, remote_id))
        )

    async def _finish(self, change: ResourceChange, outcome: str, error: str | None) -> StepResult:
        """Log a failed or skipped step in state (if the database still works), tell listeners."""
        desired = change.desired
        if error and desired is not None:
            error = scrub(error, secret_values(desired.spec, desired.cleartext))
        if outcome != "ok" and self.fatal is None:
            try:
                await asyncio.to_thread(
                    self.store.record_failure,
                    self.apply_id,
                    change.key,
                    action=change.action.value,
                    error=error or outcome,
                )
            except StateError as exc:
                self.fatal = exc
        self.listener(outcome, change, error)
        return StepResult(change.key, change.action, outcome, error)

    async def _call(self, change: ResourceChange) -> str | None:
        """The step's connector calls between its intent and its record; the remote id."""
        kind, ctx, client = KINDS[change.key.kind], self.plan.context, self.client
        desired, observed = change.desired, change.observed
        if change.action in FAILING:
            raise ApplyError(change.reason)
        if change.action is Action.FORGET:
            await asyncio.to_thread(
                self.store.forget_resource, self.apply_id, change.key, action=change.action.value
            )
            return None
        if change.action is Action.DELETE:
            intent = await self._intent(change)
            if observed is not None:
                await kind.delete(client, ctx, observed.identity, observed.remote_id)
            await asyncio.to_thread(
                self.store.forget_resource,
                self.apply_id,
                change.key,
                action=change.action.value,
                intent_id=intent,
            )
            return None
        assert desired is not None
        change = self._with_ids(change)
        desired = change.desired
        assert desired is not None
        creates = change.action in (Action.CREATE, Action.REPLACE) or observed is None
        if not creates and not change.fields:
            assert observed is not None
            await self._record(change, observed.remote_id, None)
            return observed.remote_id
        intent = await self._intent(change)
        if change.action is Action.REPLACE and observed is not None:
            await kind.delete(client, ctx, observed.identity, observed.remote_id)
        if creates:
            remote_id = await kind.create(client, ctx, desired, idempotency_key=self._key(change))
        else:
            assert observed is not None
            remote_id = observed.remote_id
            await kind.update(client, ctx, desired, observed, change.changed_fields)
        self.ids[(change.key.kind, change.key.name)] = remote_id
        await self._record(change, remote_id, intent)
        return remote_id

    def _with_ids(self, change: ResourceChange) -> ResourceChange:
        """The change with the remote ids its spec references (``${resources.*.id}``) filled."""
        desired = change.desired
        if desired is None or not desired.templates:
            return change
        planned = desired.spec
        desired = filled(desired, self.ids)
        left = missing(desired, self.ids)
        if left:
            names = ", ".join(sorted({str(r) for r in left}))
            raise ApplyError(
                f"{names} not known: the referenced resource does not exist remotely",
                hint="check that the resource it names applied (see the steps above)",
            )
        after = desired.spec if change.after is planned else change.after
        return replace(change, desired=desired, after=after)

    def _key(self, change: ResourceChange) -> str:
        return f"{self.plan.tenant}/{self.apply_id}/{change.key.kind}/{change.key.name}"

    async def _intent(self, change: ResourceChange) -> int:
        """Journal the change (fenced by the tenant's lease) before anything is sent."""
        if change.key in self.intents:
            return self.intents[change.key]
        desired, observed = change.desired, change.observed
        request = {
            "spec": dict(change.after) if change.after is not None else None,
            "depends_on": [list(k) for k in (desired.depends_on if desired else ())],
            "lifecycle": dict(change.lifecycle),
            "remote_id": observed.remote_id if observed is not None else change.remote_id,
        }
        self.intents[change.key] = await asyncio.to_thread(
            self.store.open_intent,
            self.apply_id,
            change.key,
            action=change.action.value,
            identity=change.identity,
            idempotency_key=self._key(change),
            request=request,
            lease_token=self.lease.token,
        )
        return self.intents[change.key]

    async def _record(self, change: ResourceChange, remote_id: str, intent: int | None) -> None:
        desired = change.desired
        assert desired is not None
        record = RecordedResource(
            key=change.key,
            identity=desired.identity,
            remote_id=remote_id,
            spec=change.after if change.after is not None else desired.spec,
            depends_on=desired.depends_on,
            lifecycle=change.lifecycle,
        )
        await asyncio.to_thread(
            self.store.record_resource,
            self.apply_id,
            record,
            action=change.action.value,
            intent_id=intent,
        )


async def _none(awaitable: Awaitable[None]) -> str | None:
    await awaitable
    return None
