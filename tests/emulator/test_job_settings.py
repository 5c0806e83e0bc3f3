"""The emulator keeps whole Jobs 2.2 settings and refuses what Databricks refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from databricks.sdk.service.jobs import JobSettings

from reconciler.kinds import KINDS
from reconciler.kinds.job import expand_shorthands
from reconciler.kinds.job_form import canonical, to_settings
from tests.emulator.helpers import TENANT, assert_problem, make_notebook, ok
from tests.emulator.test_sdk_shapes import assert_round_trip

REALWORLD = Path(__file__).resolve().parents[1] / "e2e" / "realworld"


def _realworld_settings(notebook: str) -> list[dict[str, Any]]:
    """Every job of the real-world suite as Jobs 2.2 settings (notebooks made concrete)."""
    found = []
    for file in sorted(REALWORLD.glob("jobs_*.yaml")):
        for doc in yaml.safe_load_all(
            file.read_text()
            .replace("${notebooks.ingest.path}", notebook)
            .replace("${notebooks.report.path}", notebook)
        ):
            spec = KINDS["Job"].spec_model.model_validate(doc["spec"])
            written = expand_shorthands(spec.model_dump(exclude_unset=True, exclude={"adopt"}))
            found.append(to_settings(doc["metadata"]["name"], canonical(written)))
    return found


def test_whole_settings_are_stored_and_round_trip_through_the_sdk(
    emulator_client: httpx.Client,
) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]
    for settings in _realworld_settings(path):
        job_id = ok(c.post("/databricks/jobs", json={"tenant_id": TENANT, **settings}), 201)[
            "job_id"
        ]
        stored = ok(c.get(f"/databricks/jobs/{job_id}"))["settings"]
        assert_round_trip(JobSettings, stored)
        assert canonical(stored) == canonical(settings), settings["name"]


def _task(key: str, **extra: Any) -> dict[str, Any]:
    return {"task_key": key, "spark_python_task": {"python_file": "/x.py"}, **extra}


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-dependency", {"tasks": [_task("a", depends_on=[{"task_key": "b"}])]}, "'b'"),
    ("two-task-types", {"tasks": [_task("a", sql_task={"warehouse_id": "w"})]}, "exactly one task type"),
    ("no-task-type", {"tasks": [{"task_key": "a"}]}, "exactly one task type; it has none"),
    ("undefined-cluster", {"tasks": [_task("a", job_cluster_key="big")]}, "job_cluster_key 'big'"),
    ("undefined-environment", {"tasks": [_task("a", environment_key="e")]}, "environment_key 'e'"),
    ("cycle", {"tasks": [_task("a", depends_on=[{"task_key": "b"}]), _task("b", depends_on=[{"task_key": "a"}])]}, "cycle"),
    ("too-many-tasks", {"tasks": [_task(f"t{i}") for i in range(1001)]}, "at most 1000 tasks"),
    ("unknown-field", {"tasks": [_task("a", max_retrys=1)]}, "max_retrys"),
    ("unknown-nested-field", {"tasks": [_task("a")], "trigger": {"periodic": {"interval": 1, "unit": "HOURS", "x": 1}}}, "trigger.periodic has unknown"),
    ("bad-enum", {"tasks": [_task("a", run_if="SOMETIMES")]}, "run_if must be one of"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "detail"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_what_databricks_refuses_is_invalid_argument(
    emulator_client: httpx.Client, settings: dict[str, Any], detail: str
) -> None:
    body = {"tenant_id": TENANT, "name": "bad", **settings}
    problem = assert_problem(
        emulator_client.post("/databricks/jobs", json=body), 400, "INVALID_ARGUMENT"
    )
    assert detail in problem["detail"]


def test_defaults_are_filled(emulator_client: httpx.Client) -> None:
    body = {"tenant_id": TENANT, "name": "d", "tasks": [_task("a")], "continuous": {}}
    job_id = ok(emulator_client.post("/databricks/jobs", json=body), 201)["job_id"]
    settings = ok(emulator_client.get(f"/databricks/jobs/{job_id}"))["settings"]
    assert settings["max_concurrent_runs"] == 1
    assert settings["continuous"] == {"pause_status": "UNPAUSED"}
    assert settings["tasks"][0]["run_if"] == "ALL_SUCCESS"
    assert settings["format"] == "MULTI_TASK"
