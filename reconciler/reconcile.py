"""The library entry points that the CLI, the service and the tests share.

``observe_tenant`` reads a tenant's remote objects with one list per kind;
``plan_tenants`` settles what interrupted applies left open, reads state,
observes and builds each tenant's plan; ``apply_plan`` applies every tenant's
plan, tenants in parallel under one shared parallelism limit.

Every tenant gets its own outcome: a tenant whose observation or state read
fails is listed in :attr:`Plan.failed <reconciler.plan.Plan.failed>` and the
others are planned; an apply that fails carries its error in its
:class:`~reconciler.apply.ApplyResult`. Retries live in one place, the
connector client; nothing here retries again. State calls run in worker
threads (``asyncio.to_thread``): the store stays one synchronous library for
the CLI and the service, and a database that is slow or locked never stalls
the event loop that other tenants' work runs on.

Settling open intents writes state under the tenant's lock; ``plan`` passes
``settle=False`` and gets the same plan from an in-memory settlement
(:func:`~reconciler.state.recovery.settled_records`), so it needs only read
access to the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from reconciler import claims
from reconciler.apply import (
    ApplyInterrupted,
    ApplyResult,
    BeforeStep,
    Lanes,
    StepListener,
    acquire_lock,
    apply_tenant,
)
from reconciler.errors import CircuitOpenError, ReconcilerError, SpecError
from reconciler.kinds import KINDS
from reconciler.kinds.base import Kind, ObservedResource, TenantContext
from reconciler.load import TenantDesired
from reconciler.mcp.client import ConnectorClient
from reconciler.observecheck import missing_notebooks, refused_uploads
from reconciler.plan import Plan, PlanOptions, TenantFailure, TenantPlan, build_plan
from reconciler.remote_ids import with_known_ids
from reconciler.scrub import scrub
from reconciler.state import StateStore
from reconciler.state.leases import TenantLease
from reconciler.state.recovery import resolve_open_intents, settled_records

log = logging.getLogger("reconciler")


async def observe_tenant(client: ConnectorClient, context: TenantContext) -> list[ObservedResource]:
    """Every remote object of the tenant, all kinds listed concurrently.

    The client retries what is worth retrying; a kind that still fails fails
    the observation (and stops the other kinds' listings).
    """
    lists = await _all_or_nothing([_list(kind, client, context) for kind in KINDS.values()])
    return [obj for objects in lists for obj in objects]


async def _list(
    kind: Kind, client: ConnectorClient, context: TenantContext
) -> list[ObservedResource]:
    return await kind.list(client, context)


async def _all_or_nothing(
    calls: list[Awaitable[list[ObservedResource]]],
) -> list[list[ObservedResource]]:
    """Run ``calls`` concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except CircuitOpenError:
        # Nothing was sent; let a circuit breaker's probe among the others finish.
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def plan_tenant(
    tenant: TenantDesired,
    *,
    store: StateStore,
    client: ConnectorClient,
    options: PlanOptions = PlanOptions(),
    settle: bool = True,
    lease: TenantLease | None = None,
) -> TenantPlan:
    """Observe the tenant, settle open intents, read its state, build its plan.

    Open intents (left by an apply that died mid-call) are settled against the
    observed objects before state is read, under the tenant's lock (see
    :mod:`reconciler.state.recovery`). With ``settle=False`` nothing is
    written: the plan is made against the records the settlement would give.
    ``lease`` is the tenant's lock when the caller holds it already. The
    tenant's policy decides ``prune`` (when it says) and ``drift``. A tenant
    claiming a tenantId or catalog another tenant holds is refused first
    (:class:`~reconciler.errors.ClaimError`).
    """
    name = tenant.context.name
    await asyncio.to_thread(claims.check, store, tenant.context)  # before any connector call
    observed = await observe_tenant(client, tenant.context)
    problems = missing_notebooks(tenant.resources, observed)
    if problems:
        raise SpecError(problems)
    if settle:
        resolved = await asyncio.to_thread(resolve_open_intents, store, name, observed, lease=lease)
        if resolved:
            log.warning("tenant %s: settled %d open intent(s)", name, resolved)
    snapshot = await asyncio.to_thread(store.read_tenant, name, observed=False)
    recorded = snapshot.resources
    unrecorded = {
        (key.kind, identity)
        for key, resource in tenant.resources.items()
        if key not in recorded
        for identity in (resource.identity, scrub(resource.identity))
    }  # only what the tenant does not record can be another tenant's (see plan.py)
    foreign = await asyncio.to_thread(store.owners, name, unrecorded)
    if not settle:
        intents = await asyncio.to_thread(store.open_intents, name)
        recorded = settled_records(intents, observed, recorded) if intents else recorded
    policy = tenant.policy
    prune = options.prune if policy.prune is None else policy.prune
    options = replace(options, prune=prune, drift=policy.drift, foreign=foreign)
    plan = build_plan(
        context=tenant.context,
        order=tenant.order,
        desired=with_known_ids(tenant.resources, recorded, observed),
        recorded=recorded,
        observed=observed,
        serial=snapshot.serial,
        options=options,
    )
    problems = refused_uploads(plan.actionable)
    if problems:
        raise SpecError(problems)
    return plan


async def plan_tenants(
    tenants: Sequence[TenantDesired],
    *,
    store: StateStore,
    client: ConnectorClient,
    options: PlanOptions = PlanOptions(),
    settle: bool = True,
    leases: Mapping[str, TenantLease] | None = None,
) -> Plan:
    """Plan every tenant concurrently (``leases``: locks the caller holds, by tenant).

    A tenant that cannot be planned (connector or database failure) goes to
    ``Plan.failed`` with its error; the other tenants are planned.
    """
    leases = leases or {}
    outcomes = await asyncio.gather(
        *(
            plan_tenant(
                t,
                store=store,
                client=client,
                options=options,
                settle=settle,
                lease=leases.get(t.context.name),
            )
            for t in tenants
        ),
        return_exceptions=True,
    )
    plans: list[TenantPlan] = []
    failed: list[TenantFailure] = []
    for tenant, outcome in zip(tenants, outcomes, strict=True):
        if isinstance(outcome, SpecError):  # each problem with its file:line
            failed.append(TenantFailure(tenant.context.name, "; ".join(outcome.lines())))
        elif isinstance(outcome, ReconcilerError):
            failed.append(TenantFailure(tenant.context.name, str(outcome)))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            plans.append(outcome)
    return Plan(tuple(plans), tuple(failed))


@asynccontextmanager
async def locked_tenants(
    store: StateStore, tenants: Sequence[str], *, timeout: float = 0.0, command: str | None = None
) -> AsyncIterator[dict[str, TenantLease]]:
    """Hold every tenant's lock for a plan-then-apply, waiting up to ``timeout`` s each.

    Taking the locks *before* planning means a plan made after waiting is
    fresh. When one tenant stays busy, the locks taken so far are released and
    the error names the holder.
    """
    held: dict[str, TenantLease] = {}
    try:
        results = await asyncio.gather(
            *(acquire_lock(store, t, timeout=timeout, command=command) for t in tenants),
            return_exceptions=True,
        )
        for tenant, got in zip(tenants, results, strict=True):
            if isinstance(got, TenantLease):
                held[tenant] = got
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        yield held
    finally:
        for lease in held.values():
            await asyncio.to_thread(lease.release)


async def apply_plan(
    plan: Plan,
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
    leases: Mapping[str, TenantLease] | None = None,
) -> list[ApplyResult]:
    """Apply every tenant's plan in parallel; at most ``parallelism`` steps at once overall.

    A tenant that cannot be applied (its lock stays busy, its plan is stale,
    the state database fails) gets an :class:`ApplyResult` whose ``error``
    says why; the other tenants go on.
    """
    lanes = Lanes.of(parallelism)
    leases = leases or {}

    def one(t: TenantPlan) -> Awaitable[ApplyResult]:
        return apply_tenant(
            t,
            store=store,
            client=client,
            actor=actor,
            git_commit=git_commit,
            parallelism=parallelism,
            listener=listener,
            before_step=before_step,
            lock_timeout=lock_timeout,
            command=command,
            lanes=lanes,
            lease=leases.get(t.tenant),
        )

    return list(await asyncio.gather(*(_guarded(t, one) for t in plan.tenants)))


async def _guarded(
    tenant: TenantPlan, apply: Callable[[TenantPlan], Awaitable[ApplyResult]]
) -> ApplyResult:
    try:
        return await apply(tenant)
    except ApplyInterrupted as exc:  # the steps that ran still count in the summary
        return ApplyResult(tenant.tenant, exc.apply_id, exc.steps, error=str(exc))
    except ReconcilerError as exc:
        return ApplyResult(tenant.tenant, None, (), error=str(exc))
