"""The main job end to end: apply the examples, see drift, put it back, prune."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import World


def _first_job(world: World, tenant: str = "acme") -> dict:
    jobs = world.api.get("/jobs", params={"tenant_id": tenant}).json()["jobs"]
    assert jobs, "the examples define a job for this tenant"
    return jobs[0]


def _apply(world: World, path: Path | None = None) -> None:
    result = world.run("apply", str(path or world.specs), "--auto-approve")
    assert result.code == 0, result.out + result.err


def test_apply_then_plan_is_empty_then_drift_is_planned_away(world: World) -> None:
    _apply(world)
    clean = world.run("plan", str(world.specs), "--detailed-exitcode")
    assert clean.code == 0, clean.out + clean.err
    assert "No changes" in clean.out

    job = _first_job(world)
    settings = dict(job["settings"], max_concurrent_runs=5)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()

    drifted = world.run("plan", str(world.specs), "--detailed-exitcode")
    assert drifted.code == 2
    assert "max_concurrent_runs: 5 → 1" in drifted.out
    [change] = world.changes()
    assert change["kind"] == "Job" and change["action"] == "update"
    assert [f["path"] for f in change["fields"]] == ["max_concurrent_runs"]
    assert [f["path"] for f in change["drift"]] == ["max_concurrent_runs"]

    _apply(world)
    assert world.run("plan", str(world.specs), "--detailed-exitcode").code == 0
    assert _first_job(world)["settings"]["max_concurrent_runs"] == 1


def test_removing_a_document_plans_and_applies_the_delete(world: World) -> None:
    _apply(world)
    endpoints = world.api.get("/serving-endpoints", params={"tenant_id": "acme"}).json()
    [endpoint_doc] = [
        p
        for p in (world.specs / "acme").rglob("*.yaml")
        if "kind: ServingEndpoint" in p.read_text()
    ]
    endpoint_doc.unlink()

    changes = world.changes()
    assert [(c["kind"], c["action"]) for c in changes] == [("ServingEndpoint", "delete")]

    _apply(world)
    assert world.changes() == []
    left = world.api.get("/serving-endpoints", params={"tenant_id": "acme"}).json()
    assert len(left["endpoints"]) == len(endpoints["endpoints"]) - 1


def test_deleted_outside_is_created_again(world: World) -> None:
    _apply(world)
    job = _first_job(world)
    world.api.delete(f"/jobs/{job['job_id']}", params={"tenant_id": "acme"}).raise_for_status()
    [change] = world.changes()
    assert (change["kind"], change["action"]) == ("Job", "create")
    assert "deleted outside the reconciler" in change["reason"]
    _apply(world)
    assert world.changes() == []


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_a_single_tenant_folder_plans_only_that_tenant(world: World, tenant: str) -> None:
    result = world.run("plan", str(world.specs / tenant), "--format", "json")
    assert result.code == 0, result.err
    assert [t["tenant"] for t in result.json()["tenants"]] == [tenant]


def test_endpoints_become_ready_during_apply(world: World) -> None:
    started = time.monotonic()
    _apply(world)
    assert time.monotonic() - started < 60
    endpoints = world.api.get("/serving-endpoints", params={"tenant_id": "acme"}).json()
    assert endpoints["endpoints"]
    assert all(e["state"]["ready"] == "READY" for e in endpoints["endpoints"])
