"""``get_status`` applies the same job health rules as ``serve``: a failed latest run is Degraded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client

from reconciler.cli import main
from tests.agent_mcp.conftest import FIXED_JOB, Transcript, call
from tests.agent_mcp.test_session import _server

pytestmark = pytest.mark.usefixtures("agent_env")

FAST = {"pending": 0.05, "task": 0.1, "retry": 0.05, "terminating": 0.05}


def _run_to_the_end(admin: httpx.Client, job_id: int) -> dict[str, Any]:
    api = "/agentprovision/v1/databricks"
    started = admin.post(f"{api}/jobs/{job_id}/run", json={"tenant_id": "acme"})
    started.raise_for_status()
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = admin.get(f"{api}/runs/{run_id}").json()
        if run["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")


def test_get_status_shows_a_job_whose_last_run_failed_as_degraded(
    specs: Path, emulator: Any
) -> None:
    (specs / "acme" / "jobs.yaml").write_text(FIXED_JOB)
    assert main(["apply", str(specs / "acme"), "--auto-approve"]) == 0
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as admin:
        admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": ["etl"]}).raise_for_status()
        jobs = admin.get("/agentprovision/v1/databricks/jobs", params={"tenant_id": "acme"})
        [job_id] = [int(j["job_id"]) for j in jobs.json()["jobs"]]
        run = _run_to_the_end(admin, job_id)
    assert run["result_state"] == "FAILED"
    _, server = _server(specs)

    async def get_status() -> Any:
        async with Client(server, cache=None) as client:
            return await call(client, Transcript(), "get_status", tenant="acme")

    status = asyncio.run(get_status())
    [job] = [r for r in status["resources"] if r["kind"] == "Job"]
    assert job["health"] == "Degraded", job
    assert f"run {run['run_id']} ended FAILED" in job["message"]
    assert (job["sync"], status["health"]) == ("Synced", "Degraded")
