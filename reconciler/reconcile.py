"""The library entry points that the CLI, the service and the tests share.

``observe_tenant`` reads a tenant's remote objects with one list per kind;
``plan_tenants`` settles what interrupted applies left open, reads state,
observes and builds each tenant's plan; ``apply_plan`` applies every tenant's
plan, tenants in parallel under one shared parallelism limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from reconciler.apply import ApplyResult, BeforeStep, StepListener, acquire_lock, apply_tenant
from reconciler.errors import ReconcilerError, ServerError
from reconciler.kinds import KINDS
from reconciler.kinds.base import Kind, ObservedResource, TenantContext
from reconciler.load import TenantDesired
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan, PlanOptions, TenantPlan, build_plan
from reconciler.state import StateStore
from reconciler.state.leases import TenantLease
from reconciler.state.recovery import resolve_open_intents

log = logging.getLogger("reconciler")

OBSERVE_ATTEMPTS = 3


async def observe_tenant(client: ConnectorClient, context: TenantContext) -> list[ObservedResource]:
    """Every remote object of the tenant, all kinds listed concurrently.

    A kind whose listing fails on the connector's side (5xx) is listed again,
    up to three times.
    """
    lists = await asyncio.gather(*(_list(kind, client, context) for kind in KINDS.values()))
    return [obj for objects in lists for obj in objects]


async def _list(
    kind: Kind, client: ConnectorClient, context: TenantContext
) -> list[ObservedResource]:
    for attempt in range(1, OBSERVE_ATTEMPTS + 1):
        try:
            return await kind.list(client, context)
        except ServerError:
            if attempt == OBSERVE_ATTEMPTS:
                raise
            await asyncio.sleep(0.3 * attempt)
    return []  # pragma: no cover - the loop returns or raises


async def plan_tenant(
    tenant: TenantDesired,
    *,
    store: StateStore,
    client: ConnectorClient,
    options: PlanOptions = PlanOptions(),
    resolve_intents: bool = True,
    lease: TenantLease | None = None,
) -> TenantPlan:
    """Observe the tenant, settle open intents, read its state, build its plan.

    Open intents (left by an apply that died mid-call) are settled against the
    observed objects before state is read, under the tenant's lock (see
    :mod:`reconciler.state.recovery`); ``resolve_intents=False`` leaves them.
    ``lease`` is the tenant's lock when the caller holds it already.
    """
    observed = await observe_tenant(client, tenant.context)
    if resolve_intents:
        resolved = resolve_open_intents(store, tenant.context.name, observed, lease=lease)
        if resolved:
            log.warning("tenant %s: settled %d open intent(s)", tenant.context.name, resolved)
    snapshot = store.read_tenant(tenant.context.name)
    options = replace(options, prune=options.prune and tenant.policy.prune)
    return build_plan(
        context=tenant.context,
        order=tenant.order,
        desired=tenant.resources,
        recorded=snapshot.resources,
        observed=observed,
        serial=snapshot.serial,
        options=options,
    )


async def plan_tenants(
    tenants: Sequence[TenantDesired],
    *,
    store: StateStore,
    client: ConnectorClient,
    options: PlanOptions = PlanOptions(),
    resolve_intents: bool = True,
    leases: Mapping[str, TenantLease] | None = None,
) -> Plan:
    """Plan every tenant concurrently (``leases``: locks the caller holds, by tenant)."""
    leases = leases or {}
    plans = await asyncio.gather(
        *(
            plan_tenant(
                t,
                store=store,
                client=client,
                options=options,
                resolve_intents=resolve_intents,
                lease=leases.get(t.context.name),
            )
            for t in tenants
        )
    )
    return Plan(tuple(plans))


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
    slots = asyncio.Semaphore(max(1, parallelism))
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
            slots=slots,
            lease=leases.get(t.tenant),
        )

    return list(await asyncio.gather(*(_guarded(t, one) for t in plan.tenants)))


async def _guarded(
    tenant: TenantPlan, apply: Callable[[TenantPlan], Awaitable[ApplyResult]]
) -> ApplyResult:
    try:
        return await apply(tenant)
    except ReconcilerError as exc:
        return ApplyResult(tenant.tenant, None, (), error=str(exc))
