"""Notebooks, jobs and runs: life cycle, server defaults, validation."""

from __future__ import annotations

import hashlib

import httpx

from tests.emulator.helpers import (
    TENANT,
    assert_problem,
    collect_pages,
    make_notebook,
    ok,
    wait_for,
)


def make_job(
    client: httpx.Client, notebook_path: str, name: str = "nightly", **extra: object
) -> dict:
    task = {"task_key": "main", "notebook_task": {"notebook_path": notebook_path}}
    body = {
        "tenant_id": TENANT,
        "name": name,
        "tasks": [task],
        "managed_by": "agentprovision-reconciler",
    }
    body.update(extra)
    return ok(client.post("/databricks/jobs", json=body), 201)


def test_notebook_life_cycle(emulator_client: httpx.Client) -> None:
    c = emulator_client
    created = make_notebook(c)
    path = f"/Workspace/AgentProvision/{TENANT}/etl"
    assert created["path"] == path and created["language"] == "PYTHON"
    assert isinstance(created["object_id"], int) and created["url"]
    assert "content" not in created
    assert_problem(
        c.post(
            "/databricks/notebooks",
            json={"tenant_id": TENANT, "name": "etl", "language": "PYTHON", "content": "x"},
        ),
        409,
        "ALREADY_EXISTS",
    )
    read = ok(c.get(f"/databricks/notebooks/{TENANT}", params={"path": path}))
    assert read["content"] == "print('hi')" and read["object_type"] == "NOTEBOOK"
    assert read["content_sha256"] == hashlib.sha256(b"print('hi')").hexdigest()
    assert read["size"] == len("print('hi')")
    updated = ok(
        c.put(
            f"/databricks/notebooks/{TENANT}",
            params={"path": path},
            json={"path": path, "content": "SELECT 1", "language": "sql"},
        )
    )
    assert updated["language"] == "SQL" and "content" not in updated
    assert updated["content_sha256"] == hashlib.sha256(b"SELECT 1").hexdigest()
    assert updated["object_id"] == created["object_id"]
    again = ok(
        c.post(
            "/databricks/notebooks",
            json={
                "tenant_id": TENANT,
                "name": "etl",
                "language": "r",
                "content": "1",
                "overwrite": True,
            },
        ),
        201,
    )
    assert again["object_id"] == created["object_id"] and again["language"] == "R"
    custom = ok(
        c.post(
            "/databricks/notebooks",
            json={
                "tenant_id": TENANT,
                "name": "x",
                "language": "SCALA",
                "content": "",
                "path": f"/Workspace/AgentProvision/{TENANT}/sub/x",
            },
        ),
        201,
    )
    assert (
        custom["path"] == f"/Workspace/AgentProvision/{TENANT}/sub/x"
        and custom["object_id"] != created["object_id"]
    )
    for number in range(3):
        make_notebook(c, f"more{number}")
    items, pages = collect_pages(c, "/databricks/notebooks", "notebooks", 2, tenant_id=TENANT)
    assert len(items) == 5 and pages == 3 and all("content" not in n for n in items)
    ok(c.delete(f"/databricks/notebooks/{TENANT}", params={"path": path}))
    assert_problem(
        c.delete(f"/databricks/notebooks/{TENANT}", params={"path": path}), 404, "NOT_FOUND"
    )
    assert_problem(
        c.get(f"/databricks/notebooks/{TENANT}", params={"path": path}), 404, "NOT_FOUND"
    )


def test_notebook_input_is_checked(emulator_client: httpx.Client) -> None:
    c = emulator_client
    base = {"tenant_id": TENANT, "name": "n", "language": "python", "content": "x"}
    for change in (
        {"language": "cobol"},
        {"path": "relative/path"},
        {"path": "/a/../b"},
        {"content": 5},
        {"name": "a/b"},
    ):
        assert_problem(
            c.post("/databricks/notebooks", json={**base, **change}), 400, "INVALID_ARGUMENT"
        )
    make_notebook(c, "n")
    path = f"/Workspace/AgentProvision/{TENANT}/n"
    other = c.put(
        f"/databricks/notebooks/{TENANT}",
        params={"path": path},
        json={"path": "/elsewhere", "content": "x"},
    )
    assert_problem(other, 400, "INVALID_ARGUMENT")


def test_job_life_cycle_with_server_defaults(emulator_client: httpx.Client) -> None:
    c = emulator_client
    notebook = make_notebook(c)
    created = make_job(c, notebook["path"], schedule={"quartz_cron_expression": "0 0 2 * * ?"})
    assert isinstance(created["job_id"], int) and created["job_url"] and created["created_time"] > 0
    job = ok(c.get(f"/databricks/jobs/{created['job_id']}", params={"tenant_id": TENANT}))
    assert job["managed_by"] == "agentprovision-reconciler"
    assert job["creator_user_name"] and job["created_time"] == created["created_time"]
    settings = job["settings"]
    assert settings["max_concurrent_runs"] == 1 and settings["timeout_seconds"] == 0
    assert settings["tags"] == {} and settings["email_notifications"] == {}
    assert settings["format"] == "MULTI_TASK"
    assert settings["schedule"] == {
        "quartz_cron_expression": "0 0 2 * * ?",
        "timezone_id": "UTC",
        "pause_status": "UNPAUSED",
    }
    task = settings["tasks"][0]
    assert (task["timeout_seconds"], task["run_if"], task["notebook_task"]["source"]) == (
        0,
        "ALL_SUCCESS",
        "WORKSPACE",
    )
    new_settings = {
        "name": "renamed",
        "tags": {"team": "data"},
        "max_concurrent_runs": 2,
        "tasks": [
            {
                "task_key": "a",
                "notebook_task": {"notebook_path": notebook["path"], "base_parameters": {"d": "1"}},
            },
            {
                "task_key": "b",
                "depends_on": [{"task_key": "a"}],
                "notebook_task": {"notebook_path": notebook["path"]},
                "max_retries": 2,
            },
        ],
    }
    assert (
        ok(
            c.post(
                f"/databricks/jobs/{created['job_id']}/reset",
                json={"tenant_id": TENANT, "new_settings": new_settings},
            )
        )
        == {}
    )
    settings = ok(c.get(f"/databricks/jobs/{created['job_id']}"))["settings"]
    assert settings["name"] == "renamed" and "schedule" not in settings
    assert settings["tags"] == {"team": "data"} and settings["max_concurrent_runs"] == 2
    assert settings["tasks"][1]["depends_on"] == [{"task_key": "a"}]
    for number in range(4):
        make_job(c, notebook["path"], f"job{number}")
    items, pages = collect_pages(c, "/databricks/jobs", "jobs", 2, tenant_id=TENANT)
    assert [j["settings"]["name"] for j in items] == ["renamed", "job0", "job1", "job2", "job3"]
    assert pages == 3
    ok(c.delete(f"/databricks/jobs/{created['job_id']}", params={"tenant_id": TENANT}))
    assert_problem(c.delete(f"/databricks/jobs/{created['job_id']}"), 404, "NOT_FOUND")
    assert_problem(c.get(f"/databricks/jobs/{created['job_id']}"), 404, "NOT_FOUND")


def test_job_settings_are_validated(emulator_client: httpx.Client) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]

    def task(key: str, **extra: object) -> dict:
        return {"task_key": key, "notebook_task": {"notebook_path": path}, **extra}

    bad = [
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/missing"}}]},
        {"tasks": [task("a"), task("a")]},
        {"tasks": [task("a", depends_on=[{"task_key": "zz"}])]},
        {
            "tasks": [
                task("a", depends_on=[{"task_key": "b"}]),
                task("b", depends_on=[{"task_key": "a"}]),
            ]
        },
        {"tasks": [task("a", run_if="SOMETIMES")]},
        {"tasks": [{"task_key": "a"}]},
        {"tasks": [task("a")], "schedule": {"quartz_cron_expression": "* *"}},
        {
            "tasks": [task("a")],
            "schedule": {"quartz_cron_expression": "0 0 * * * ?", "pause_status": "MAYBE"},
        },
        {"tasks": [task("a")], "max_concurrent_runs": "1"},
        {"tasks": [task("a")], "no_such_setting": 1},
        {"tasks": "nope"},
    ]
    for number, extra in enumerate(bad):
        body = {"tenant_id": TENANT, "name": f"bad{number}", **extra}
        assert_problem(c.post("/databricks/jobs", json=body), 400, "INVALID_ARGUMENT")
    other_tenant = {"tenant_id": "tenant-b", "name": "x", "tasks": [task("a")]}
    assert_problem(c.post("/databricks/jobs", json=other_tenant), 400, "INVALID_ARGUMENT")


def test_job_runs_progress_and_can_be_cancelled(emulator_client: httpx.Client) -> None:
    c = emulator_client
    # without queueing, a run over max_concurrent_runs is skipped (tests/emulator/test_runs.py
    # has the queueing default)
    job = make_job(c, make_notebook(c)["path"], max_concurrent_runs=1, queue={"enabled": False})
    job_id = job["job_id"]
    started = ok(
        c.post(
            f"/databricks/jobs/{job_id}/run",
            json={"tenant_id": TENANT, "job_parameters": {"day": "1"}},
        )
    )
    assert started["number_in_job"] == 1 and started["run_page_url"]
    run = ok(c.get(f"/databricks/runs/{started['run_id']}"))
    assert run["life_cycle_state"] in ("PENDING", "RUNNING") and run["result_state"] is None
    assert run["state"]["life_cycle_state"] == run["life_cycle_state"] and run["job_id"] == job_id
    skipped = ok(c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": TENANT}))
    assert ok(c.get(f"/databricks/runs/{skipped['run_id']}"))["life_cycle_state"] == "SKIPPED"
    wait_for(
        lambda: (
            ok(c.get(f"/databricks/runs/{started['run_id']}"))["life_cycle_state"] == "TERMINATED"
        )
    )
    done = ok(c.get(f"/databricks/runs/{started['run_id']}"))
    assert done["result_state"] == "SUCCESS" and done["end_time"] >= done["start_time"]
    assert done["execution_duration"] >= 0
    third = ok(c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": TENANT}))
    ok(c.post(f"/databricks/runs/{third['run_id']}/cancel"))
    wait_for(
        lambda: ok(c.get(f"/databricks/runs/{third['run_id']}"))["life_cycle_state"] == "TERMINATED"
    )
    cancelled = ok(c.get(f"/databricks/runs/{third['run_id']}"))
    assert (cancelled["life_cycle_state"], cancelled["result_state"]) == ("TERMINATED", "CANCELED")
    runs = ok(c.get(f"/databricks/jobs/{job_id}/runs", params={"limit": 2}))["runs"]
    assert [r["run_id"] for r in runs] == [third["run_id"], skipped["run_id"]]
    assert_problem(c.get("/databricks/runs/1"), 404, "NOT_FOUND")
    assert_problem(
        c.get(f"/databricks/runs/{third['run_id']}", params={"tenant_id": "tenant-b"}),
        404,
        "NOT_FOUND",
    )


def test_notebook_execute_and_failing_run(emulator_client: httpx.Client) -> None:
    c = emulator_client
    notebook = make_notebook(c)
    started = ok(
        c.post(
            "/databricks/notebooks/execute",
            json={"tenant_id": TENANT, "notebook_path": notebook["path"], "parameters": {"a": "b"}},
        )
    )
    assert started["run_page_url"]
    wait_for(
        lambda: (
            ok(c.get(f"/databricks/notebooks/runs/{started['run_id']}"))["result_state"]
            == "SUCCESS"
        )
    )
    missing = {"tenant_id": TENANT, "notebook_path": "/nope"}
    assert_problem(c.post("/databricks/notebooks/execute", json=missing), 404, "NOT_FOUND")
    job = make_job(c, notebook["path"])
    ok(c.delete(f"/databricks/notebooks/{TENANT}", params={"path": notebook["path"]}))
    run = ok(c.post(f"/databricks/jobs/{job['job_id']}/run", json={"tenant_id": TENANT}))
    wait_for(
        lambda: ok(c.get(f"/databricks/runs/{run['run_id']}"))["life_cycle_state"] == "TERMINATED"
    )
    failed = ok(c.get(f"/databricks/runs/{run['run_id']}"))
    assert failed["result_state"] == "FAILED" and "notebook" in failed["state_message"]
