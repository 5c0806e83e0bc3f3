"""What the health rules need beyond the plan: each job's latest run.

The connector's job object does not say how the job last ran, so after a
reconcile (``serve``) and for ``get_status`` (MCP) the reconciler asks
``GET /databricks/jobs/runs/latest?tenant_id=T``, the newest run of each of
the tenant's jobs in one request. A connector without that route (404) is
asked ``GET /databricks/jobs/{job_id}/runs?limit=1`` for every job of the
tenant that exists remotely instead (concurrently, at most
:data:`CONCURRENT_LOOKUPS` at a time). A lookup that fails leaves that job's
health to the other rules (its message says the run is unknown): a health
detail never fails a reconcile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import TenantPlan
from reconciler.status import UNKNOWN_RUN, LatestRuns

log = logging.getLogger("reconciler.health")

CONCURRENT_LOOKUPS = 8


async def latest_runs(client: ConnectorClient, plan: TenantPlan) -> LatestRuns:
    """Job name → its newest run as the connector reports it (None: never ran)."""
    jobs = [(c.key.name, c.observed.remote_id) for c in plan.changes
            if c.key.kind == "Job" and c.observed is not None]  # fmt: skip
    if not jobs:
        return {}
    tenant_id = plan.context.tenant_id
    try:
        raw = await client.get("/databricks/jobs/runs/latest", params={"tenant_id": tenant_id})
    except NotFoundError:  # a connector from before the route: one lookup per job
        return await _one_by_one(client, plan, jobs)
    except ReconcilerError as exc:
        log.info("tenant %s: the latest runs of its jobs are unknown: %s", plan.tenant, exc)
        return {name: UNKNOWN_RUN for name, _ in jobs}
    runs = raw.get("runs") if isinstance(raw, Mapping) else None
    newest: dict[str, Mapping[str, Any]] = {}
    for run in runs if isinstance(runs, list) else ():
        if isinstance(run, Mapping):  # newest first: a job's first run is its newest
            newest.setdefault(str(run.get("job_id")), run)
    return {name: newest.get(job_id) for name, job_id in jobs}


async def _one_by_one(
    client: ConnectorClient, plan: TenantPlan, jobs: list[tuple[str, str]]
) -> LatestRuns:
    slots = asyncio.Semaphore(CONCURRENT_LOOKUPS)
    tenant_id = plan.context.tenant_id

    async def one(name: str, job_id: str) -> tuple[str, Mapping[str, Any] | None]:
        async with slots:
            try:
                raw = await client.get(
                    f"/databricks/jobs/{job_id}/runs", params={"tenant_id": tenant_id, "limit": 1}
                )
            except ReconcilerError as exc:
                log.info(
                    "tenant %s: the latest run of job %s is unknown: %s", plan.tenant, name, exc
                )
                return name, UNKNOWN_RUN
        runs = raw.get("runs") if isinstance(raw, Mapping) else None
        first = runs[0] if isinstance(runs, list) and runs else None
        return name, first if isinstance(first, Mapping) else None

    return dict(await asyncio.gather(*(one(name, job_id) for name, job_id in jobs)))
