"""Per-tenant outcomes, `policy.drift: report`, and a plan that only reads the state database."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from reconciler.kinds.base import ResourceKey
from reconciler.state import StateStore
from tests.e2e.conftest import World
from tests.support.postgres import libpq_url


def _apply(world: World) -> None:
    result = world.run("apply", str(world.specs), "--auto-approve")
    assert result.code == 0, result.out + result.err


def _bump_job(world: World, tenant_id: str, runs: int) -> int:
    job = world.api.get("/jobs", params={"tenant_id": tenant_id}).json()["jobs"][0]
    settings = dict(job["settings"], max_concurrent_runs=runs)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": tenant_id, "new_settings": settings}
    ).raise_for_status()
    return int(job["job_id"])


def _runs(world: World, tenant_id: str, job_id: int) -> int:
    job = world.api.get(f"/jobs/{job_id}", params={"tenant_id": tenant_id}).json()
    return int(job["settings"]["max_concurrent_runs"])


def test_drift_report_tenant_keeps_its_drift_revert_tenant_is_put_back(world: World) -> None:
    """globex says `drift: report`, acme the default `revert`: one apply, two outcomes."""
    _apply(world)
    globex_job = _bump_job(world, "globex-eu", 7)
    acme_job = _bump_job(world, "acme", 4)

    plan = world.run("plan", str(world.specs), "--format", "json")
    assert plan.code == 0, plan.err
    changes = {
        (t["tenant"], c["address"]): c
        for t in plan.json()["tenants"]
        for c in t["resource_changes"]
    }
    [reported] = [c for (t, _), c in changes.items() if t == "globex" and c["drift"]]
    assert reported["action"] == "noop"
    assert "reported, not reverted (policy.drift is report)" in reported["reason"]
    assert changes[("acme", "Job/nightly-sales")]["action"] == "update"

    _apply(world)
    assert _runs(world, "globex-eu", globex_job) == 7, "report: the drift stays"
    assert _runs(world, "acme", acme_job) == 1, "revert: the drift is undone"
    drift = world.run("drift", str(world.specs), "--tenant", "globex")
    assert drift.code == 2, "the drift is still reported after the apply"


@pytest.fixture
def read_only_url(pg_url: str) -> str:
    """A login role that may only read the test database (no INSERT/UPDATE/DELETE)."""
    role = f"ro_{uuid.uuid4().hex[:10]}"
    database = make_url(pg_url).database
    StateStore.open(pg_url).close()  # migrate first, as the owner
    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(str(database)), sql.Identifier(role)
            )
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
    return make_url(pg_url).set(username=role).render_as_string(hide_password=False)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_plan_runs_with_read_only_database_credentials(
    world: World, pg_url: str, read_only_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An open intent is left by an interrupted apply; plan (read-only) sees past it."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    _apply(world)
    key = ResourceKey("acme", "Job", "nightly-sales")
    with StateStore.open(pg_url) as store:
        serial = store.read_tenant("acme").serial
        apply_id = store.begin_apply(
            "acme", expected_serial=serial, actor="t", git_commit=None, summary={}
        )
        store.open_intent(
            apply_id, key, action="update", identity="x", idempotency_key="k", request={}
        )

    monkeypatch.setenv("DATABASE_URL", read_only_url)
    plan = world.run("plan", str(world.specs), "--detailed-exitcode")
    assert plan.code == 0, plan.err
    with StateStore.open(pg_url) as store:
        assert len(store.open_intents("acme")) == 1, "plan wrote nothing"
        assert store.locks() == []
    denied = world.run("apply", str(world.specs), "--auto-approve")
    assert denied.code == 1 and "permission denied" in denied.err

    monkeypatch.setenv("DATABASE_URL", pg_url)
    _apply(world)
    with StateStore.open(pg_url) as store:
        assert store.open_intents("acme") == [], "apply settles the journal"
