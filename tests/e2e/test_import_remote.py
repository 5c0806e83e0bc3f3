"""``import remote``: objects made by hand through the connector are adopted, ids kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
TENANT = "handmade"


def _by_hand(world: World) -> dict[str, int]:
    """A catalog, a notebook and three jobs, none made by the reconciler."""
    api = world.api
    catalog = {"tenant_id": TENANT, "catalog_name": f"agentprovision_{TENANT}", "comment": "ours"}
    api.post("/catalogs", json=catalog).raise_for_status()
    notebook = {"tenant_id": TENANT, "name": "etl", "language": "python", "content": "print(1)"}
    path = api.post("/notebooks", json=notebook).json()["path"]
    ids = {}
    for name, extra in (
        ("nightly-etl", {"schedule": {"quartz_cron_expression": "0 0 1 * * ?"}}),
        ("Weekly Report", {}),
        ("warehouse", {"tags": {"team": "bi"}, "max_concurrent_runs": 3}),
    ):
        tasks = [
            {"task_key": "a", "notebook_task": {"notebook_path": path}},
            {"task_key": "b", "depends_on": [{"task_key": "a"}],
             "sql_task": {"warehouse_id": "w", "query": {"query_id": "q"}}},
        ]  # fmt: skip
        body = {"tenant_id": TENANT, "name": name, "tasks": tasks, **extra}
        ids[name] = api.post("/jobs", json=body).json()["job_id"]
    return ids


def test_import_remote_then_apply_adopts_and_plans_empty(world: World, tmp_path: Path) -> None:
    ids = _by_hand(world)
    out = tmp_path / "imported"
    result = world.run("import", "remote", "--tenant", TENANT, "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml")) == [
        "jobs/nightly-etl.yaml",
        "jobs/warehouse.yaml",
        "tenant.yaml",
    ]
    assert "Job `Weekly Report`: its name is not a valid metadata.name" in result.err
    assert "Notebook" in result.err and "not supported yet" in result.err
    assert world.run("validate", str(out)).code == 0

    applied = world.run("apply", str(out), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert world.changes(out) == []
    jobs = world.api.get("/jobs", params={"tenant_id": TENANT}).json()["jobs"]
    assert {j["settings"]["name"]: j["job_id"] for j in jobs} == ids, "ids unchanged"
    listed = world.run("state", "list", "--tenant", TENANT)
    assert "nightly-etl" in listed.out and "warehouse" in listed.out

    again = world.run("import", "remote", "--tenant", TENANT, "--out", str(out))
    assert again.code == 1 and "nothing was written" in again.err


def test_import_remote_only_names_the_tenants_own_objects(world: World, tmp_path: Path) -> None:
    """Another tenant's jobs are never listed, so never imported (a tenant sees only its own)."""
    _by_hand(world)
    out = tmp_path / "other"
    result = world.run(
        "import", "remote", "--tenant", "someone-else", "--out", str(out), "--kind", "Job"
    )
    assert result.code == 0, result.err
    assert [p.name for p in out.rglob("*.yaml")] == ["tenant.yaml"]
