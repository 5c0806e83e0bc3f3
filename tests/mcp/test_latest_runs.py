"""Job health's newest runs: one request per tenant, or one per job from an older connector."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.health import latest_runs
from reconciler.kinds.base import ObservedResource, ResourceKey, TenantContext
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Action, ResourceChange, TenantPlan

CONTEXT = TenantContext("acme", "acme-id", "acme_cat")


def plan_of_jobs(*ids: str) -> TenantPlan:
    changes = tuple(
        ResourceChange(
            ResourceKey("acme", "Job", f"job{i}"), Action.NOOP, "up to date", f"job{i}",
            observed=ObservedResource("Job", f"job{i}", job_id, {}, {}),
        )
        for i, job_id in enumerate(ids)
    )  # fmt: skip
    return TenantPlan("acme", CONTEXT, 1, changes)


def run(job_id: int, run_id: int, state: str) -> dict[str, Any]:
    return {"job_id": job_id, "run_id": run_id, "result_state": state}


async def test_one_request_gives_every_jobs_newest_run() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        runs = [run(11, 3, "FAILED"), run(10, 2, "SUCCESS"), run(11, 1, "SUCCESS")]
        return httpx.Response(200, json={"runs": runs})

    async with ConnectorClient("http://mcp", "k", transport=httpx.MockTransport(handle)) as c:
        latest = await latest_runs(c, plan_of_jobs("10", "11", "12"))
    assert seen == ["/agentprovision/v1/databricks/jobs/runs/latest"]
    assert latest == {"job0": run(10, 2, "SUCCESS"), "job1": run(11, 3, "FAILED"), "job2": None}


async def test_a_connector_without_the_route_is_asked_job_by_job() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/jobs/runs/latest"):
            problem = {"status": 404, "code": "NOT_FOUND", "detail": "no such route"}
            return httpx.Response(404, json=problem)
        job_id = int(request.url.path.split("/")[-2])
        return httpx.Response(200, json={"runs": [run(job_id, job_id * 10, "SUCCESS")]})

    async with ConnectorClient("http://mcp", "k", transport=httpx.MockTransport(handle)) as c:
        latest = await latest_runs(c, plan_of_jobs("10", "11"))
    assert sorted(seen[1:]) == [
        "/agentprovision/v1/databricks/jobs/10/runs",
        "/agentprovision/v1/databricks/jobs/11/runs",
    ]
    assert latest == {"job0": run(10, 100, "SUCCESS"), "job1": run(11, 110, "SUCCESS")}
