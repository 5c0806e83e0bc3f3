"""Execute a tenant's plan: dependency order, bounded parallelism, state after every call.

Every step is one resource. A step starts when the steps it depends on have
succeeded (creates and updates after their dependencies; deletes after the
deletes of their dependents), runs its connector calls, and writes the result
to the state store at once: a create is recorded as soon as the connector
accepted it, before any wait for readiness, so nothing created goes unrecorded.
A failed step fails only the steps that depend on it; the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.errors import ApplyError, ReconcilerError
from reconciler.kinds import KINDS
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Action, ResourceChange, TenantPlan
from reconciler.state import StateStore

DEPENDS_FORWARD = frozenset(
    {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.ADOPT, Action.NOOP, Action.CONFLICT}
)


@dataclass(frozen=True)
class StepResult:
    key: ResourceKey
    action: Action
    outcome: str  # "ok" | "failed" | "skipped"
    error: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    tenant: str
    apply_id: int | None
    steps: tuple[StepResult, ...]

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.outcome != "ok")


StepListener = Callable[[str, ResourceChange, str | None], None]
"""Called with ("start" | "ok" | "failed" | "skipped", change, error message)."""


async def apply_tenant(
    plan: TenantPlan,
    *,
    store: StateStore,
    client: ConnectorClient,
    actor: str,
    git_commit: str | None = None,
    parallelism: int = 10,
    listener: StepListener | None = None,
) -> ApplyResult:
    """Apply one tenant's plan; returns every step's outcome (never raises for a step)."""
    steps = plan.actionable
    if not steps:
        return ApplyResult(plan.tenant, None, ())
    with store.tenant_lock(plan.tenant):
        apply_id = store.begin_apply(
            plan.tenant,
            expected_serial=plan.serial,
            actor=actor,
            git_commit=git_commit,
            summary=plan.counts(),
        )
        runner = _Runner(plan, store, client, apply_id, parallelism, listener or _quiet)
        results = await runner.run(steps)
        outcome = "failed" if any(r.outcome != "ok" for r in results) else "succeeded"
        store.finish_apply(apply_id, outcome=outcome, summary=_summary(results))
    return ApplyResult(plan.tenant, apply_id, results)


def _quiet(event: str, change: ResourceChange, error: str | None) -> None:
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


class _Runner:
    def __init__(
        self,
        plan: TenantPlan,
        store: StateStore,
        client: ConnectorClient,
        apply_id: int,
        parallelism: int,
        listener: StepListener,
    ) -> None:
        self.plan, self.store, self.client = plan, store, client
        self.apply_id, self.listener = apply_id, listener
        self.slots = asyncio.Semaphore(max(1, parallelism))
        self.done: dict[ResourceKey, asyncio.Future[StepResult]] = {}

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
            why = f"skipped: {', '.join(f'{k.kind}/{k.name}' for k in failed)} did not apply"
            result = StepResult(change.key, change.action, "skipped", why)
            self._note_failure(change, why)
            self.listener("skipped", change, why)
        else:
            result = await self._execute(change)
        self.done[change.key].set_result(result)
        return result

    async def _execute(self, change: ResourceChange) -> StepResult:
        async with self.slots:
            self.listener("start", change, None)
            try:
                await self._call(change)
            except ReconcilerError as exc:
                self._note_failure(change, str(exc))
                self.listener("failed", change, str(exc))
                return StepResult(change.key, change.action, "failed", str(exc))
        self.listener("ok", change, None)
        return StepResult(change.key, change.action, "ok")

    def _note_failure(self, change: ResourceChange, error: str) -> None:
        self.store.record_failure(
            self.apply_id, change.key, action=change.action.value, error=error
        )

    async def _call(self, change: ResourceChange) -> None:
        kind, ctx, client = KINDS[change.key.kind], self.plan.context, self.client
        desired, observed = change.desired, change.observed
        if change.action is Action.CONFLICT:
            raise ApplyError(change.reason)
        if change.action in (Action.DELETE, Action.FORGET):
            if change.action is Action.DELETE and observed is not None:
                await kind.delete(client, ctx, observed.identity, observed.remote_id)
            self.store.forget_resource(self.apply_id, change.key, action=change.action.value)
            return
        assert desired is not None
        if change.action is Action.REPLACE and observed is not None:
            await kind.delete(client, ctx, observed.identity, observed.remote_id)
        if change.action in (Action.CREATE, Action.REPLACE) or observed is None:
            key = f"{self.plan.tenant}/{self.apply_id}/{change.key.kind}/{change.key.name}"
            remote_id = await kind.create(client, ctx, desired, idempotency_key=key)
        else:
            remote_id = observed.remote_id
            if change.fields:
                await kind.update(client, ctx, desired, observed, change.changed_fields)
        self._record(change, remote_id)
        if change.action is not Action.NOOP:
            await kind.wait_ready(client, ctx, desired.identity, remote_id)

    def _record(self, change: ResourceChange, remote_id: str) -> None:
        desired = change.desired
        assert desired is not None
        record = RecordedResource(
            key=change.key,
            identity=desired.identity,
            remote_id=remote_id,
            spec=desired.spec,
            depends_on=desired.depends_on,
        )
        self.store.record_resource(self.apply_id, record, action=change.action.value)
