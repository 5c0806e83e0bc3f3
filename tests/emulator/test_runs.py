"""Runs over HTTP: states in order, tasks in dependency order, queueing, retries, the fault switch."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.emulator.helpers import OTHER, TENANT, assert_problem, make_notebook, ok, wait_for

FAST = {"pending": 0.05, "task": 0.15, "retry": 0.05, "terminating": 0.05}
ORDER = ["QUEUED", "PENDING", "RUNNING", "TERMINATING", "TERMINATED"]


@pytest.fixture
def admin(emulator: Any) -> httpx.Client:
    client = httpx.Client(
        base_url=emulator.url, headers={"Authorization": "Bearer test-key"}, timeout=10
    )
    ok(client.post("/_emulator/runs", json={"pace": FAST}))
    return client


def two_task_job(c: httpx.Client, **extra: Any) -> int:
    path = make_notebook(c)["path"]
    tasks = [
        {"task_key": "load", "notebook_task": {"notebook_path": path}, **extra.pop("load", {})},
        {
            "task_key": "report",
            "depends_on": [{"task_key": "load"}],
            "notebook_task": {"notebook_path": path},
        },
    ]
    body = {"tenant_id": TENANT, "name": "nightly", "tasks": tasks, **extra}
    return int(ok(c.post("/databricks/jobs", json=body), 201)["job_id"])


def start(c: httpx.Client, job_id: int) -> int:
    started = ok(c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": TENANT}))
    return int(started["run_id"])


def follow(c: httpx.Client, run_id: int, timeout: float = 5.0) -> tuple[list[str], Any]:
    """The distinct life-cycle states seen, in order, and the terminal run."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ok(c.get(f"/databricks/runs/{run_id}", params={"tenant_id": TENANT}))
        if not seen or seen[-1] != run["life_cycle_state"]:
            seen.append(run["life_cycle_state"])
        if run["life_cycle_state"] == "TERMINATED":
            return seen, run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} did not finish: {seen}")


def test_a_run_moves_through_its_states_and_runs_tasks_in_order(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    seen, run = follow(c, start(c, two_task_job(c)))
    assert seen == [s for s in ORDER if s in seen] and seen[-1] == "TERMINATED"
    assert "RUNNING" in seen
    assert run["result_state"] == "SUCCESS" and run["execution_duration"] > 0
    load, report = run["tasks"]
    assert [load["task_key"], report["task_key"]] == ["load", "report"]
    assert report["depends_on"] == [{"task_key": "load"}]
    assert report["start_time"] >= load["end_time"] > load["start_time"] > 0
    assert {t["state"]["result_state"] for t in run["tasks"]} == {"SUCCESS"}


def test_runs_over_max_concurrent_runs_wait_in_the_queue(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    job_id = two_task_job(c, max_concurrent_runs=1)
    first, second = start(c, job_id), start(c, job_id)
    queued = ok(c.get(f"/databricks/runs/{second}"))
    assert (
        queued["life_cycle_state"] == "QUEUED" and "max_concurrent_runs" in queued["state_message"]
    )
    _, done_first = follow(c, first)
    _, done_second = follow(c, second)
    assert done_second["result_state"] == "SUCCESS" and done_second["queue_duration"] > 0
    assert done_second["tasks"][0]["start_time"] >= done_first["end_time"]
    listed = ok(c.get(f"/databricks/jobs/{job_id}/runs"))["runs"]
    assert [r["run_id"] for r in listed] == [second, first]


def test_the_fault_switch_fails_a_task_and_its_downstream_is_not_run(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    job_id = two_task_job(c)
    shown = ok(admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": ["load"]}))
    assert shown["fail_tasks"] == ["load"]
    _, run = follow(c, start(c, job_id))
    assert run["result_state"] == "FAILED" and "load" in run["state_message"]
    load, report = run["tasks"]
    assert load["state"]["result_state"] == "FAILED"
    assert report["state"]["result_state"] == "UPSTREAM_FAILED" and report["start_time"] == 0
    ok(admin.post("/_emulator/runs", json={"pace": FAST}))
    _, healthy = follow(c, start(c, job_id))
    assert healthy["result_state"] == "SUCCESS"


def test_a_failed_first_attempt_is_retried(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    job_id = two_task_job(c, load={"max_retries": 1})
    ok(admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": ["load:1"]}))
    _, run = follow(c, start(c, job_id))
    assert run["result_state"] == "SUCCESS"
    assert run["tasks"][0]["attempt_number"] == 1


def test_cancel_a_queued_run_and_a_timed_out_run(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    job_id = two_task_job(c, max_concurrent_runs=1, timeout_seconds=1)
    ok(admin.post("/_emulator/runs", json={"pace": {**FAST, "task": 0.8}}))
    first, second = start(c, job_id), start(c, job_id)
    ok(c.post(f"/databricks/runs/{second}/cancel", json={"tenant_id": TENANT}))
    wait_for(lambda: ok(c.get(f"/databricks/runs/{second}"))["result_state"] == "CANCELED")
    assert ok(c.get(f"/databricks/runs/{second}"))["tasks"][0]["start_time"] == 0
    _, timed_out = follow(c, first)
    assert timed_out["result_state"] == "TIMEDOUT"


def test_notebook_runs_have_one_task_named_after_the_notebook(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    notebook = make_notebook(c, "etl")
    ok(admin.post("/_emulator/runs", json={"pace": FAST, "fail_tasks": ["etl"]}))
    body = {"tenant_id": TENANT, "notebook_path": notebook["path"]}
    run_id = ok(c.post("/databricks/notebooks/execute", json=body))["run_id"]
    wait_for(lambda: ok(c.get(f"/databricks/notebooks/runs/{run_id}"))["result_state"] is not None)
    run = ok(c.get(f"/databricks/notebooks/runs/{run_id}"))
    assert run["result_state"] == "FAILED" and [t["task_key"] for t in run["tasks"]] == ["etl"]


@pytest.mark.parametrize(
    "body",
    [
        {"fail_tasks": ["load:x"]},
        {"fail_tasks": [":1"]},
        {"pace": {"pending": -1, "task": 1, "retry": 1, "terminating": 1}},
        {"pace": {"task": 1}},
        {"unknown": 1},
    ],
    ids=["attempts-not-a-number", "no-key", "negative", "partial-pace", "unknown-field"],
)
def test_bad_run_controls_are_refused(admin: httpx.Client, body: dict[str, Any]) -> None:
    assert_problem(admin.post("/_emulator/runs", json=body), 400, "INVALID_ARGUMENT")


def test_latest_runs_give_each_jobs_newest_run_in_one_request(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]
    task = {"task_key": "load", "notebook_task": {"notebook_path": path}}
    busy, quiet, idle = (
        int(
            ok(
                c.post(
                    "/databricks/jobs", json={"tenant_id": TENANT, "name": name, "tasks": [task]}
                ),
                201,
            )["job_id"]
        )
        for name in ("busy", "quiet", "idle")
    )
    older, quiet_run, newest = start(c, busy), start(c, quiet), start(c, busy)
    latest = ok(c.get("/databricks/jobs/runs/latest", params={"tenant_id": TENANT}))["runs"]
    assert [(r["job_id"], r["run_id"]) for r in latest] == [(busy, newest), (quiet, quiet_run)]
    assert older not in {r["run_id"] for r in latest} and idle not in {r["job_id"] for r in latest}
    # each answer is the job's own newest run as its per-job listing shows it (queue included)
    for run in latest:
        listed = ok(c.get(f"/databricks/jobs/{run['job_id']}/runs", params={"limit": 1}))
        assert run["run_id"] == listed["runs"][0]["run_id"]
        assert run["life_cycle_state"] == listed["runs"][0]["life_cycle_state"]


def test_latest_runs_show_no_other_tenants_runs(
    emulator_client: httpx.Client, admin: httpx.Client
) -> None:
    c = emulator_client
    start(c, two_task_job(c))
    other = ok(c.get("/databricks/jobs/runs/latest", params={"tenant_id": OTHER}))
    assert other == {"runs": []}
    assert_problem(c.get("/databricks/jobs/runs/latest"), 400, "INVALID_ARGUMENT")
