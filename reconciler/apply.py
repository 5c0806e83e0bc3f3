"""Execute a tenant's plan: lock, journal, dependency order, bounded parallelism.

An apply of one tenant runs like this:

1. record the tenant's claims to its tenantId and catalog (:mod:`reconciler.claims`;
   refused when another tenant holds one), take the tenant's lock (a lease row;
   wait up to ``lock_timeout`` seconds), then claim the next serial
   (``begin_apply``), refusing a stale plan;
2. run every step (one resource each) as soon as the steps it depends on have
   succeeded: creates and updates after their dependencies, deletes after the
   deletes of their dependents. At most ``parallelism`` steps talk to the
   connector at once, and at most ``parallelism`` more wait for a call slot
   with their intent journaled (:class:`Lanes`, shared by every tenant of one
   :func:`~reconciler.reconcile.apply_plan`);
3. for each step that changes something: journal an *intent* and commit,
   send the connector calls, then record the result and close the intent in
   one transaction (see :mod:`reconciler.state.journal`). The intents and
   results of steps that start or finish together share one transaction
   (:mod:`reconciler.apply_writer`). An intent whose step sent nothing (its
   saved-plan check failed) is closed with the step's failure; one whose
   call failed stays open for the next plan to look up. A create is
   recorded as soon as the connector accepted it, *before* waiting for the
   object to become ready (no wait when the create's answer says it is
   ready); neither the commit of a result nor the wait holds a call slot;
4. finish the apply with its outcome, release the lock.

A failed step fails only the steps that depend on it; the others go on.
Connector errors worth retrying (5xx, 429, unreachable) are retried by the
client alone (one retry layer; creates carry an idempotency key, so a retry
never creates twice). When the state database fails, the apply stops: no step
sends anything more (a change is never sent without its intent recorded
first), and the tenant's result carries the database error. A lost tenant
lease stops it the same way once the apply knows of it: an intent refused
by the lease's fence, or the lease's heartbeat having found it lost (checked
in memory just before each step's calls). A step whose intent was journaled
before the loss and that reaches its call before the heartbeat's next
renewal still sends it (see :mod:`reconciler.state.leases`). State calls run
in worker threads, so a slow database never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from reconciler import claims
from reconciler.apply_writer import StateWriter
from reconciler.errors import ApplyError, ReconcilerError, StateError
from reconciler.kinds import KINDS
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import FAILING, Action, ResourceChange, TenantPlan
from reconciler.remote_ids import filled, missing
from reconciler.scrub import scrub
from reconciler.secrets import secret_values
from reconciler.state import StateStore
from reconciler.state.batch import IntentWrite, StepWrite
from reconciler.state.leases import TenantLease, busy, lost

DEPENDS_FORWARD = frozenset(
    {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.ADOPT, Action.NOOP} | FAILING
)
LOCK_POLL = 0.25
T = TypeVar("T")


@dataclass(frozen=True)
class StepResult:
    key: ResourceKey
    action: Action
    outcome: str  # "ok" | "failed" | "skipped"
    error: str | None = None


@dataclass(frozen=True)
class Sent:
    """A step's connector calls are done: the object's remote id, whether it is known to be
    ready, and the commit of the step's result (``recorded``)."""

    remote_id: str | None
    recorded: Awaitable[None]
    ready: bool = False


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


@dataclass(frozen=True)
class Lanes:
    """The parallelism limit, shared by the tenants of one apply.

    At most ``parallelism`` steps talk to the connector at once (``calls``);
    at most ``parallelism`` more have their intent journaled while they wait
    for a call slot (``ahead``), so when a slot frees its next call goes out
    at once, and that intent shares a commit with the results before it.
    """

    calls: asyncio.Semaphore
    ahead: asyncio.Semaphore

    @classmethod
    def of(cls, parallelism: int) -> Lanes:
        return cls(asyncio.Semaphore(max(1, parallelism)), asyncio.Semaphore(max(1, parallelism)))


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
    lanes: Lanes | None = None,
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
        runner.lanes = lanes or Lanes.of(parallelism)
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
        self.sending = 0  # steps between taking a call slot and handing over their result
        self.writer = StateWriter(
            store, apply_id, plan.tenant, lease_token=lease.token, sending=lambda: self.sending > 0
        )
        self.lanes = Lanes.of(10)
        self.before_step: BeforeStep | None = None
        self.done: dict[ResourceKey, asyncio.Future[StepResult]] = {}
        self.fatal: StateError | None = None
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
        try:
            return tuple(await asyncio.gather(*tasks))
        finally:
            await self.writer.close()

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
        intent: int | None = None
        try:
            async with self.lanes.ahead:  # journal now; the call goes out when a slot frees
                change, intent = await self._guarded(self._journal(change))
                await self.lanes.calls.acquire()
            self.sending += 1
            try:
                self.listener("start", change, None)
                if self.before_step is not None:
                    try:
                        await self.before_step(change)
                    except ReconcilerError as exc:  # nothing was sent: close the intent
                        return await self._finish(change, "failed", str(exc), closing=intent)
                sent = await self._guarded(self._send(change, intent))
            finally:
                self.sending -= 1
                self.lanes.calls.release()
            # the slot is free again: the next step's intent can share this result's commit
            await self._committed(sent.recorded)
            waits = change.action is not Action.NOOP or change.wait
            if sent.remote_id is not None and waits and not sent.ready:
                await self._wait_ready(change, sent.remote_id)
        except ReconcilerError as exc:
            return await self._finish(change, "failed", str(exc))
        return await self._finish(change, "ok", None)

    async def _guarded(self, attempt: Awaitable[T]) -> T:
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
        if self.fatal is not None:
            raise self.fatal
        self.listener("waiting", change, f"waiting up to {kind.ready_timeout:g} s to be ready")
        await kind.wait_ready(self.client, self.plan.context, change.identity, remote_id)

    async def _committed(self, written: Awaitable[None]) -> None:
        """Wait for a write handed to the writer; a database failure is fatal."""
        try:
            await written
        except StateError as exc:
            self.fatal = self.fatal or exc
            raise

    async def _finish(
        self, change: ResourceChange, outcome: str, error: str | None, *, closing: int | None = None
    ) -> StepResult:
        """Log a failed or skipped step in state (if the database still works), tell listeners.

        ``closing`` is the step's intent when nothing was sent after all.
        """
        desired = change.desired
        if error and desired is not None:
            error = scrub(error, secret_values(desired.spec, desired.cleartext))
        if outcome != "ok" and self.fatal is None:
            failure = StepWrite(
                change.key, change.action.value, error=error or outcome, intent_id=closing
            )
            with contextlib.suppress(StateError):  # fatal now: the apply stops
                await self._committed(self.writer.step(failure))
        self.listener(outcome, change, error)
        return StepResult(change.key, change.action, outcome, error)

    async def _journal(self, change: ResourceChange) -> tuple[ResourceChange, int | None]:
        """The change with the remote ids it references filled, and its intent (when it
        changes something), journaled and committed."""
        if change.action in FAILING:
            raise ApplyError(change.reason)
        if change.action is Action.FORGET:
            return change, None
        if change.action is not Action.DELETE:
            change = self._with_ids(change)
            creates = change.action in (Action.CREATE, Action.REPLACE) or change.observed is None
            if not creates and not change.fields:
                return change, None
        return change, await self._intent(change)

    async def _send(self, change: ResourceChange, intent: int | None) -> Sent:
        """The step's connector calls (after its intent); its record goes to the writer."""
        kind, ctx, client = KINDS[change.key.kind], self.plan.context, self.client
        desired, observed = change.desired, change.observed
        action = change.action.value
        if self.lease.lost:
            raise lost(self.plan.tenant)
        if change.action in (Action.FORGET, Action.DELETE):
            if change.action is Action.DELETE and observed is not None:
                await kind.delete(client, ctx, observed.identity, observed.remote_id)
            forget = StepWrite(change.key, action, forget=True, intent_id=intent)
            return Sent(None, self.writer.step(forget))
        assert desired is not None
        if intent is None:  # nothing to change: refresh the record
            assert observed is not None
            return Sent(observed.remote_id, self._record(change, observed.remote_id, None))
        if change.action is Action.REPLACE and observed is not None:
            await kind.delete(client, ctx, observed.identity, observed.remote_id)
        ready = False
        if change.action in (Action.CREATE, Action.REPLACE) or observed is None:
            created = await kind.create_object(
                client, ctx, desired, idempotency_key=self._key(change)
            )
            remote_id, ready = created.remote_id, created.ready
        else:
            remote_id = observed.remote_id
            await kind.update(client, ctx, desired, observed, change.changed_fields)
        self.ids[(change.key.kind, change.key.name)] = remote_id
        return Sent(remote_id, self._record(change, remote_id, intent), ready)

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
        desired, observed = change.desired, change.observed
        request = {
            "spec": dict(change.after) if change.after is not None else None,
            "depends_on": [list(k) for k in (desired.depends_on if desired else ())],
            "lifecycle": dict(change.lifecycle),
            "remote_id": observed.remote_id if observed is not None else change.remote_id,
        }
        write = IntentWrite(
            change.key, change.action.value, change.identity, self._key(change), request
        )
        return await self.writer.intent(write)

    def _record(
        self, change: ResourceChange, remote_id: str, intent: int | None
    ) -> asyncio.Future[None]:
        """Hand the step's new record to the writer; the future is its commit."""
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
        step = StepWrite(change.key, change.action.value, record=record, intent_id=intent)
        return self.writer.step(step)
