"""Job health against the real emulator: a failed latest run is Degraded, a paused schedule Suspended.

The service app reconciles the example tenant ``acme`` (plus a paused job)
into the emulator over real HTTP and a real SQLite state database; the
emulator's fault switch (``POST /_emulator/runs {"fail_tasks": [...]}``) makes
a task of ``nightly-sales`` fail, and the job's runs are started through the
connector as a user (or its own schedule) would.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from reconciler.emulator.server import RunningEmulator
from tests.service.conftest import ADMIN, READ, bearer

FAST = {"pending": 0.05, "task": 0.1, "retry": 0.05, "terminating": 0.05}
PAUSED_JOB = """apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: weekly-archive
spec:
  tasks:
    - key: archive
      notebook: ${notebooks.ingest-sales.path}
  schedule:
    cron: "0 0 3 ? * SUN"
    paused: true
"""


@pytest.fixture
def specs(specs: Path) -> Path:
    (specs / "acme" / "paused-job.yaml").write_text(PAUSED_JOB)
    return specs


@pytest.fixture
def admin(emulator: RunningEmulator) -> httpx.Client:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    client = httpx.Client(base_url=emulator.url, headers=headers, timeout=10)
    client.post("/_emulator/runs", json={"pace": FAST}).raise_for_status()
    return client


def _reconcile(service: TestClient) -> dict[str, Any]:
    """Reconcile acme now; again while the service's own first run holds the tenant."""
    deadline = time.monotonic() + 20
    while True:
        done = service.post("/api/v1/tenants/acme/reconcile?wait=true", headers=bearer(ADMIN))
        assert done.status_code == 202, done.text
        status = dict(service.get("/api/v1/tenants/acme", headers=bearer(READ)).json())
        if status["resources"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["last_error"] is None, status
    return status


def _job(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in status["resources"] if (r["kind"], r["name"]) == ("Job", name))


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


def _job_id(admin: httpx.Client, name: str) -> int:
    jobs = admin.get("/agentprovision/v1/databricks/jobs", params={"tenant_id": "acme"}).json()
    return next(int(j["job_id"]) for j in jobs["jobs"] if j["settings"]["name"] == name)


def test_a_failed_latest_run_degrades_the_job_and_a_paused_schedule_suspends_it(
    service: TestClient, admin: httpx.Client
) -> None:
    status = _reconcile(service)
    nightly = _job(status, "nightly-sales")
    assert (nightly["health"], nightly["sync"]) == ("Healthy", "Synced"), nightly
    paused = _job(status, "weekly-archive")
    assert paused["health"] == "Suspended", paused
    assert "schedule is paused" in paused["message"]
    assert status["health"] == "Suspended"  # the worst of its resources: one job is paused

    admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": ["report"]}).raise_for_status()
    job_id = _job_id(admin, "nightly-sales")
    run = _run_to_the_end(admin, job_id)
    assert run["result_state"] == "FAILED"
    status = _reconcile(service)
    nightly = _job(status, "nightly-sales")
    assert nightly["health"] == "Degraded", nightly
    assert f"run {run['run_id']} ended FAILED" in nightly["message"]
    assert "report" in nightly["message"]  # the run's own message names the failed task
    assert nightly["sync"] == "Synced"  # its settings still match: health and sync are apart
    assert status["health"] == "Degraded"

    admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": []}).raise_for_status()
    assert _run_to_the_end(admin, job_id)["result_state"] == "SUCCESS"
    status = _reconcile(service)
    assert _job(status, "nightly-sales")["health"] == "Healthy"
    assert status["health"] == "Suspended"
