"""Lower bounds: how fast a phase could possibly be, given latency and concurrency.

Plan. Observing a tenant takes one GET of its catalog plus, for each of the
five other kinds, ``ceil(n / page_size)`` list pages (at least one: an empty
list is still a request). ``observe_tenant`` lists the kinds concurrently,
``plan_tenants`` plans all tenants concurrently, and the only limit on
requests in flight is the client's connection pool (``max_connections``,
32 by default). Pages of one kind follow each other (a page names the next).
So the plan cannot finish before ``requests x latency / concurrency``, nor
before the longest chain of pages of one kind.

Apply. ``apply_tenant`` runs at most ``parallelism`` steps of a tenant at
once, and every step waits for the steps it depends on. Each tenant's
catalog comes first, alone: every other resource depends on it. Two counts:

- *strict*, as the issue states it: one call per change,
  ``latency x (1 + (changes - 1) / parallelism)``;
- *contract*: the calls the connector contract needs per change: a dataset
  with a file also uploads it. Serving endpoints and vector indexes need no
  readiness read: the benchmark's emulator has no ready delay, so their
  create answers say they are ready (apply reads only what is not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.estate import EstateShape

PAGE_SIZE = 100  # ConnectorClient.paginate's default page size
CLIENT_CONNECTIONS = 32  # ConnectorClient's default max_connections
KINDS_OBSERVED = 6  # the catalog plus five listed kinds, all concurrently


def pages_per_tenant(shape: EstateShape, page_size: int = PAGE_SIZE) -> int:
    """Requests that observe one tenant: the catalog GET and the list pages of each kind."""
    return 1 + sum(max(1, math.ceil(n / page_size)) for n in shape.per_kind.values())


@dataclass(frozen=True)
class PlanBound:
    requests: int
    concurrency: int
    latency_s: float
    seconds: float


def plan_bound(shape: EstateShape, tenants: int, latency_s: float) -> PlanBound:
    """The fastest a plan of ``tenants`` tenants of ``shape`` can observe them."""
    requests = tenants * pages_per_tenant(shape)
    concurrency = min(CLIENT_CONNECTIONS, tenants * KINDS_OBSERVED)
    longest_chain = max(1, *(math.ceil(n / PAGE_SIZE) for n in shape.per_kind.values()))
    seconds = max(requests * latency_s / concurrency, longest_chain * latency_s)
    return PlanBound(requests, concurrency, latency_s, seconds)


@dataclass(frozen=True)
class ApplyBound:
    changes: int
    calls: int
    parallelism: int
    latency_s: float
    strict_s: float  # one call per change
    contract_s: float  # the calls the connector contract needs


def apply_bound(shape: EstateShape, latency_s: float, parallelism: int) -> ApplyBound:
    """The fastest an apply from empty of ``shape`` can go (per tenant; tenants run alongside)."""
    per_tenant_changes = 1 + shape.per_tenant
    sourced_per_tenant = shape.sourced_datasets / max(1, shape.tenants)
    per_tenant_calls = per_tenant_changes + sourced_per_tenant
    lanes = parallelism  # per tenant; one tenant here, so no pool limit applies
    strict = latency_s * (1 + (per_tenant_changes - 1) / lanes)
    contract = latency_s * (1 + (per_tenant_calls - 1) / lanes)
    return ApplyBound(
        changes=per_tenant_changes * shape.tenants,
        calls=round(per_tenant_calls * shape.tenants),
        parallelism=parallelism,
        latency_s=latency_s,
        strict_s=strict,
        contract_s=contract,
    )


def baseline_bound(resources: int, latency_s: float, parallelism: int) -> float:
    """One GET per resource, ``parallelism`` at a time."""
    return resources * latency_s / parallelism


def serve_bound(shape: EstateShape, tenants: int, latency_s: float) -> PlanBound:
    """A service cycle: the plan's requests plus one latest-runs GET per tenant with jobs
    (the job health rule reads every job's newest run in one request)."""
    plan = plan_bound(shape, tenants, latency_s)
    requests = plan.requests + (tenants if shape.per_kind.get("Job", 0) else 0)
    seconds = max(requests * latency_s / plan.concurrency, plan.seconds)
    return PlanBound(requests, plan.concurrency, latency_s, seconds)
