"""Jobs as data teams write them: every task type and compute style, applied and quiet.

``realworld/`` is one tenant of jobs in the whole Jobs 2.2 shape (notebooks on
job clusters, conditions, serverless environments, wheels, SQL on a warehouse,
dashboards, dbt from git, JVM tasks, pipelines, run_job, for_each, clean
rooms, every trigger). Each is validated, applied to the emulator and planned
empty, again after its tasks are reordered. Plus: the first version's recorded
shapes plan empty with today's code, one changed base parameter plans exactly
that field, and a schedule removed outside the reconciler is drift.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, update

from reconciler.state.models import ResourceRow
from tests.e2e.conftest import World

HERE = Path(__file__).resolve().parent
V1_SHAPES = HERE.parent / "jobs" / "v1_job_shapes.json"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _apply(world: World, path: Path) -> None:
    result = world.run("apply", str(path), "--auto-approve")
    assert result.code == 0, result.out + result.err


def _jobs(world: World, tenant: str) -> dict[str, dict[str, Any]]:
    page = world.api.get("/jobs", params={"tenant_id": tenant, "limit": 100}).json()
    return {j["settings"]["name"]: j for j in page["jobs"]}


def _reorder(folder: Path) -> None:
    """Reverse every list of tasks, job clusters, environments and parameters."""
    for file in folder.glob("jobs_*.yaml"):
        docs = list(yaml.safe_load_all(file.read_text()))
        for doc in docs:
            for field in ("tasks", "job_clusters", "environments", "parameters", "permissions"):
                if isinstance(doc["spec"].get(field), list):
                    doc["spec"][field].reverse()
        file.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def test_real_world_jobs_apply_plan_empty_and_stay_empty_after_reordering(world: World) -> None:
    folder = world.specs.parent / "realworld"
    shutil.copytree(HERE / "realworld", folder)
    assert world.run("validate", str(folder)).code == 0
    _apply(world, folder)
    jobs = _jobs(world, "dataco")
    assert len(jobs) == 7
    assert world.changes(folder) == []

    classic = jobs["classic-etl"]
    assert classic["settings"]["job_clusters"][0]["new_cluster"]["autoscale"]["max_workers"] == 4
    assert {a["permission_level"] for a in classic["access_control_list"]} == {
        "CAN_MANAGE",
        "CAN_VIEW",
    }
    [notify] = [t for t in classic["settings"]["tasks"] if t["task_key"] == "notify"]
    assert notify["run_if"] == "AT_LEAST_ONE_SUCCESS"
    assert {"task_key": "is_full", "outcome": "false"} in notify["depends_on"]
    [each] = [t for t in jobs["orchestrator"]["settings"]["tasks"] if t["task_key"] == "per_region"]
    assert each["for_each_task"]["task"]["notebook_task"]["source"] == "WORKSPACE"
    [dbt] = [t for t in jobs["dbt-and-jvm"]["settings"]["tasks"] if t["task_key"] == "dbt"]
    assert dbt["dbt_task"]["commands"] == ["dbt deps", "dbt build --select marts"]
    assert jobs["shorthand"]["settings"]["schedule"] == {
        "quartz_cron_expression": "0 0 6 * * ?",
        "timezone_id": "UTC",
        "pause_status": "PAUSED",
    }

    _reorder(folder)
    assert world.changes(folder) == [], "order of tasks, clusters, environments is not a change"

    text = (folder / "jobs_classic.yaml").read_text()
    (folder / "jobs_classic.yaml").write_text(
        text.replace("day: '{{job.parameters.day}}'", "day: '{{job.parameters.other}}'", 1)
    )
    [change] = world.changes(folder)
    assert [f["path"] for f in change["fields"]] == [
        "tasks.ingest.notebook_task.base_parameters.day"
    ]
    _apply(world, folder)
    assert world.changes(folder) == []


def test_a_schedule_removed_outside_the_reconciler_is_drift(world: World) -> None:
    _apply(world, world.specs)
    job = _jobs(world, "acme")["nightly-sales"]
    settings = {k: v for k, v in job["settings"].items() if k != "schedule"}
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()
    [change] = world.changes()
    assert [f["path"] for f in change["fields"]] == ["schedule"]
    assert "outside the reconciler" in change["reason"]
    drift = world.run("drift", str(world.specs), "--format", "json")
    assert drift.code == 2
    _apply(world, world.specs)
    assert "schedule" in _jobs(world, "acme")["nightly-sales"]["settings"]


def test_jobs_applied_by_the_first_version_plan_empty(world: World, db_url: str) -> None:
    """Remote settings and records as the notebook-only first version wrote them."""
    _apply(world, world.specs)
    shapes = json.loads(V1_SHAPES.read_text())
    engine = create_engine(db_url)
    tenant_ids = {"acme": "acme", "globex": "globex-eu"}
    for address, shape in shapes.items():
        tenant, name = address.split("/")
        job = _jobs(world, tenant_ids[tenant])[name]
        world.api.post(
            f"/jobs/{job['job_id']}/reset",
            json={"tenant_id": tenant_ids[tenant], "new_settings": shape["settings"]},
        ).raise_for_status()
        with engine.begin() as connection:
            connection.execute(
                update(ResourceRow)
                .where(ResourceRow.tenant == tenant, ResourceRow.kind == "Job")
                .where(ResourceRow.name == name)
                .values(spec=shape["recorded"])
            )
    engine.dispose()
    result = world.run("plan", str(world.specs), "--detailed-exitcode")
    assert result.code == 0, result.out + result.err
    drift = world.run("drift", str(world.specs))
    assert drift.code == 0, drift.out + drift.err
