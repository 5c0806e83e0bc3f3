"""The library entry points that the CLI, the service and the tests share.

``observe_tenant`` reads a tenant's remote objects with one list per kind;
``plan_tenants`` reads state, observes and builds each tenant's plan;
``apply_plan`` applies every tenant's plan, tenants in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from reconciler.apply import ApplyResult, StepListener, apply_tenant
from reconciler.kinds import KINDS
from reconciler.kinds.base import ObservedResource, TenantContext
from reconciler.load import TenantDesired
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan, PlanOptions, TenantPlan, build_plan
from reconciler.state import StateStore


async def observe_tenant(client: ConnectorClient, context: TenantContext) -> list[ObservedResource]:
    """Every remote object of the tenant, all kinds listed concurrently."""
    lists = await asyncio.gather(*(kind.list(client, context) for kind in KINDS.values()))
    return [obj for objects in lists for obj in objects]


async def plan_tenant(
    tenant: TenantDesired,
    *,
    store: StateStore,
    client: ConnectorClient,
    options: PlanOptions = PlanOptions(),
) -> TenantPlan:
    """Read the tenant's state, observe its remote objects, build its plan."""
    snapshot = store.read_tenant(tenant.context.name)
    observed = await observe_tenant(client, tenant.context)
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
) -> Plan:
    plans = await asyncio.gather(
        *(plan_tenant(t, store=store, client=client, options=options) for t in tenants)
    )
    return Plan(tuple(plans))


async def apply_plan(
    plan: Plan,
    *,
    store: StateStore,
    client: ConnectorClient,
    actor: str,
    git_commit: str | None = None,
    parallelism: int = 10,
    listener: StepListener | None = None,
) -> list[ApplyResult]:
    results = await asyncio.gather(
        *(
            apply_tenant(
                t,
                store=store,
                client=client,
                actor=actor,
                git_commit=git_commit,
                parallelism=parallelism,
                listener=listener,
            )
            for t in plan.tenants
        )
    )
    return list(results)
