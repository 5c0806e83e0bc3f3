"""Issue-level behaviour end to end: table evolution, data safety, saved plans, drift, secrets."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StalePlanError
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.planfile import recheck
from reconciler.reconcile import plan_tenants
from reconciler.state import StateStore, normalize_database_url
from tests.e2e.conftest import World
from tests.support.secret_fixtures import PutSecret


def _apply(world: World, *extra: str) -> None:
    result = world.run("apply", str(world.specs), "--auto-approve", *extra)
    assert result.code == 0, result.out + result.err


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _sales(world: World) -> dict:
    response = world.api.get("/datasets/acme/retail.sales")
    response.raise_for_status()
    return response.json()


def test_adding_a_column_keeps_the_rows(world: World) -> None:
    _apply(world)
    rows = _sales(world)["row_count"]
    assert rows > 0
    _edit(
        world.specs / "acme/datasets.yaml",
        '    - {name: amount, type: "decimal(10,2)", comment: Line total in EUR}',
        '    - {name: amount, type: "decimal(10,2)", comment: Line total in EUR}\n'
        "    - {name: channel, type: string}",
    )
    [change] = world.changes()
    assert (change["address"], change["action"]) == ("Dataset/sales", "update")
    assert "column `channel` added: rows kept" in change["reason"]
    assert not change["destructive"]
    _apply(world)
    sales = _sales(world)
    assert sales["row_count"] == rows
    assert [c["name"] for c in sales["columns"]][-1] == "channel"
    assert world.changes() == []


def test_narrowing_a_column_needs_allow_data_loss(world: World) -> None:
    _apply(world)
    version = _sales(world)["version"]
    _edit(
        world.specs / "acme/datasets.yaml",
        "{name: quantity, type: int}",
        "{name: quantity, type: smallint}",
    )
    [change] = world.changes()
    assert change["action"] == "replace" and change["destructive"]
    assert "narrowed" in change["reason"]

    refused = world.run("apply", str(world.specs), "--auto-approve")
    assert refused.code == 1
    assert "destroys data" in refused.err and "--allow-data-loss" in refused.err
    assert _sales(world)["version"] == version, "nothing may change without consent"

    _apply(world, "--allow-data-loss")
    sales = _sales(world)
    assert next(c for c in sales["columns"] if c["name"] == "quantity")["type_text"] == "smallint"
    assert sales["row_count"] > 0, "the source file is loaded into the new table"
    assert world.changes() == []


def test_removing_documents_deletes_but_orphans_datasets(world: World) -> None:
    _apply(world)
    for doc in (world.specs / "acme").glob("*.yaml"):
        if doc.name != "tenant.yaml":
            doc.unlink()
    changes = {c["address"]: c["action"] for c in world.changes(world.specs / "acme")}
    assert changes["Dataset/sales"] == "forget" and changes["Dataset/docs"] == "forget"
    assert changes["Job/nightly-sales"] == "delete"
    assert {a for a, act in changes.items() if act == "delete"} >= {
        "Job/nightly-sales",
        "VectorIndex/docs-index",
    }
    _apply(world)
    assert world.changes(world.specs / "acme") == []
    assert _sales(world)["row_count"] > 0, "orphaned data is kept"
    plan = world.run("plan", str(world.specs / "acme"), "--format", "json").json()
    unmanaged = {(u["kind"], u["identity"]) for u in plan["tenants"][0]["unmanaged"]}
    assert ("Dataset", "agentprovision_acme.retail.sales") in unmanaged
    _apply(world)  # deleting again finds nothing to do and is fine


def test_prevent_destroy_outlives_the_document(world: World) -> None:
    agent = world.specs / "acme/agent.yaml"
    agent.write_text(agent.read_text() + "lifecycle:\n  prevent_destroy: true\n")
    _apply(world)
    agent.unlink()
    result = world.run("plan", str(world.specs))
    assert result.code == 1
    assert "blocked" in result.out and "prevent_destroy" in result.err
    refused = world.run("apply", str(world.specs), "--auto-approve")
    assert refused.code == 1
    endpoints = world.api.get("/serving-endpoints", params={"tenant_id": "acme"}).json()
    assert endpoints["endpoints"], "the protected endpoint is still there"


def test_saved_plan_refused_when_the_serial_moved(world: World, tmp_path: Path) -> None:
    _apply(world)
    _edit(world.specs / "acme/jobs.yaml", "    timezone: Europe/Berlin", "    timezone: UTC")
    saved = tmp_path / "plan.json"
    assert world.run("plan", str(world.specs), "--out", str(saved)).code == 0
    _apply(world)
    result = world.run("apply", str(saved), "--auto-approve")
    assert result.code == 1
    assert "serial" in result.err and "re-run plan" in result.err


def test_saved_plan_refused_when_the_remote_object_changed(world: World, tmp_path: Path) -> None:
    _apply(world)
    _edit(world.specs / "acme/jobs.yaml", "    timezone: Europe/Berlin", "    timezone: UTC")
    saved = tmp_path / "plan.json"
    assert world.run("plan", str(world.specs), "--out", str(saved)).code == 0
    assert "${secret" not in saved.read_text()
    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    settings = dict(job["settings"], timeout_seconds=99)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()
    result = world.run("apply", str(saved), "--auto-approve")
    assert result.code == 1
    assert "remote object changed after the plan" in result.err and "re-run plan" in result.err
    assert (
        world.api.get(f"/jobs/{job['job_id']}", params={"tenant_id": "acme"}).json()["settings"][
            "timeout_seconds"
        ]
        == 99
    ), "a refused plan changes nothing"


def test_saved_plan_applies_when_nothing_moved(world: World, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert world.run("plan", str(world.specs), "--out", str(saved)).code == 0
    _apply_saved = world.run("apply", str(saved), "--auto-approve")
    assert _apply_saved.code == 0, _apply_saved.err
    assert world.changes() == []


def test_each_step_rechecks_its_object_just_before_the_call(world: World, emulator: object) -> None:
    _apply(world)
    _edit(world.specs / "acme/jobs.yaml", "    timezone: Europe/Berlin", "    timezone: UTC")

    async def scenario() -> None:
        store = StateStore.open(normalize_database_url(_env("DATABASE_URL")))
        try:
            async with ConnectorClient(_env("MCP_SERVER_URL"), _env("MCP_API_KEY")) as client:
                plan = await plan_tenants(load_path(world.specs), store=store, client=client)
                [change] = [c for t in plan.tenants for c in t.actionable]
                hook = recheck(plan, client)
                await hook(change)  # unchanged: passes
                job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
                settings = dict(job["settings"], max_concurrent_runs=7)
                world.api.post(
                    f"/jobs/{job['job_id']}/reset",
                    json={"tenant_id": "acme", "new_settings": settings},
                ).raise_for_status()
                with pytest.raises(StalePlanError, match="changed after the plan"):
                    await hook(change)
        finally:
            store.close()

    asyncio.run(scenario())


def test_drift_report_exit_codes_unmanaged_and_history(world: World) -> None:
    _apply(world)
    clean = world.run("drift", str(world.specs))
    assert clean.code == 0, clean.err
    assert "No drift" in clean.out

    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    settings = dict(job["settings"], max_concurrent_runs=4)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()
    world.api.post(
        "/notebooks",
        json={"tenant_id": "acme", "name": "scratch", "language": "PYTHON", "content": "1"},
    ).raise_for_status()

    drifted = world.run("drift", str(world.specs), "--format", "json")
    assert drifted.code == 2
    report = drifted.json()
    [acme] = [t for t in report["tenants"] if t["tenant"] == "acme"]
    [entry] = acme["drifted"]
    assert entry["address"] == "Job/nightly-sales"
    assert [(f["path"], f["before"], f["remote"]) for f in entry["fields"]] == [
        ("max_concurrent_runs", 1, 4)
    ]
    assert ("Notebook", "/Workspace/AgentProvision/acme/scratch") in {
        (u["kind"], u["identity"]) for u in acme["unmanaged"]
    }
    markdown = world.run("drift", str(world.specs), "--format", "markdown")
    assert markdown.code == 2 and "| acme | `Job/nightly-sales` | changed |" in markdown.out

    history = world.run("drift", "--history", "--tenant", "acme")
    assert history.code == 0
    lines = history.out.strip().splitlines()
    assert len(lines) == 3 and "Job/nightly-sales" in lines[0] and "no drift" in lines[-1]
    assert world.changes() and world.run("drift", str(world.specs)).code == 2


def test_a_secret_appears_nowhere_but_in_the_connector_call(
    world: World, put_secret: PutSecret, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "tok-9f8e7d6c5b4a-very-secret"
    put_secret("acme", "ACME_WAREHOUSE_TOKEN", secret)
    _edit(
        world.specs / "acme/jobs.yaml",
        "        table: ${datasets.sales.table}",
        "        table: ${datasets.sales.table}\n        token: ${secret:ACME_WAREHOUSE_TOKEN}",
    )
    caplog.set_level(logging.DEBUG)
    outputs = [
        world.run("plan", str(world.specs)),
        world.run("plan", str(world.specs), "--format", "json"),
        world.run("plan", str(world.specs), "--format", "markdown"),
        world.run("apply", str(world.specs), "--auto-approve"),
        world.run("apply", str(world.specs), "--auto-approve", "--format", "json"),
        world.run("drift", str(world.specs), "--format", "json"),
        world.run("history"),
        world.run("state", "show", "acme/Job/nightly-sales"),
    ]
    assert all(o.code in (0, 2) for o in outputs), [o.err for o in outputs]
    for output in outputs:
        assert secret not in output.out + output.err
    assert secret not in caplog.text
    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    params = job["settings"]["tasks"][0]["notebook_task"]["base_parameters"]
    assert params["token"] == secret, "the connector received the clear value"
    assert secret not in _dump_state(_env("DATABASE_URL"))

    put_secret("acme", "ACME_WAREHOUSE_TOKEN", secret + "-rotated")
    [change] = world.changes()
    assert [f["path"] for f in change["fields"]] == [
        "tasks.ingest.notebook_task.base_parameters.token"
    ]
    assert change["fields"][0]["sensitive"] is True


def test_a_missing_secret_is_a_located_error(world: World, put_secret: PutSecret) -> None:
    _edit(
        world.specs / "acme/jobs.yaml",
        "        table: ${datasets.sales.table}",
        "        table: ${datasets.sales.table}\n        token: ${secret:NOT_SET_ANYWHERE}",
    )
    result = world.run("validate", str(world.specs))
    assert result.code == 1
    assert "acme/jobs.yaml:" in result.err and "NOT_SET_ANYWHERE" in result.err
    assert "/acme/NOT_SET_ANYWHERE" in result.err, "it says which file to write"


def test_a_secret_cannot_read_the_reconcilers_own_settings(
    world: World, put_secret: PutSecret
) -> None:
    """`${secret:MCP_API_KEY}` is not the connector key: secrets come from the tenant's folder."""
    _edit(
        world.specs / "acme/jobs.yaml",
        "        table: ${datasets.sales.table}",
        "        table: ${datasets.sales.table}\n        token: ${secret:MCP_API_KEY}",
    )
    result = world.run("apply", str(world.specs), "--auto-approve")
    assert result.code == 1 and "MCP_API_KEY" in result.err and "acme/jobs.yaml:" in result.err
    assert world.api.get("/jobs", params={"tenant_id": "acme"}).json().get("jobs", []) == []


def test_a_tenant_reads_only_its_own_secrets(world: World, put_secret: PutSecret) -> None:
    put_secret("globex", "SHARED_NAME", "globex-only-value")
    _edit(
        world.specs / "acme/jobs.yaml",
        "        table: ${datasets.sales.table}",
        "        table: ${datasets.sales.table}\n        token: ${secret:SHARED_NAME}",
    )
    result = world.run("plan", str(world.specs))
    assert result.code == 1 and "/acme/SHARED_NAME" in result.err
    assert "globex-only-value" not in result.out + result.err


def _env(name: str) -> str:
    import os

    return os.environ[name]


def _dump_state(url: str) -> str:
    """Every row of every table of the state database, as text."""
    engine = sa.create_engine(normalize_database_url(url))
    try:
        with engine.connect() as connection:
            tables = sa.MetaData()
            tables.reflect(connection)
            return json.dumps(
                [
                    [list(map(str, row)) for row in connection.execute(table.select())]
                    for table in tables.sorted_tables
                ]
            )
    finally:
        engine.dispose()


def test_a_deploy_that_outlasts_its_wait_is_picked_up_by_the_next_apply(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.kinds.serving_endpoint import ServingEndpoint

    slow = world.api.post(world.emulator_url + "/_emulator/faults", json={"slow_ops_factor": 25})
    slow.raise_for_status()
    monkeypatch.setattr(ServingEndpoint, "ready_timeout", 0.3)
    agent = ("--tenant", "acme", "--target", "ServingEndpoint/acme-support-agent")
    first = world.run("apply", str(world.specs), "--auto-approve", *agent)
    assert first.code == 1
    assert "was not ready after 0.3 s" in first.out + first.err
    assert "the next apply will pick it up" in first.out + first.err

    plan = world.run("plan", str(world.specs), "--format", "json", *agent).json()
    changes = plan["tenants"][0]["resource_changes"]
    [change] = [c for c in changes if c["kind"] == "ServingEndpoint"]
    assert change["action"] == "noop" and change["refresh"]
    assert "not ready yet" in change["reason"]

    monkeypatch.setattr(ServingEndpoint, "ready_timeout", 30.0)
    second = world.run("apply", str(world.specs), "--auto-approve", *agent)
    assert second.code == 0, second.out + second.err
    assert "waiting" in second.out
    endpoints = world.api.get("/serving-endpoints", params={"tenant_id": "acme"}).json()
    assert all(e["state"]["ready"] == "READY" for e in endpoints["endpoints"])


def test_a_job_update_keeps_the_settings_the_documents_do_not_own(world: World) -> None:
    _apply(world)
    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    settings = dict(job["settings"], queue={"enabled": True})
    settings["tasks"] = [
        dict(t, libraries=[{"pypi": {"package": "requests"}}]) if t["task_key"] == "ingest" else t
        for t in settings["tasks"]
    ]
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()
    assert world.changes() == [], "fields nobody's documents name are not changes"

    jobs_doc = world.specs / "acme/jobs.yaml"
    _edit(jobs_doc, "  schedule:\n", "  max_concurrent_runs: 2\n  schedule:\n")
    _edit(jobs_doc, '    cron: "0 30 2 * * ?"\n    timezone: Europe/Berlin\n', "")
    _edit(jobs_doc, "  schedule:\n", "")
    [change] = world.changes()
    assert sorted(f["path"] for f in change["fields"]) == ["max_concurrent_runs", "schedule"]
    _apply(world)

    after = world.api.get(f"/jobs/{job['job_id']}", params={"tenant_id": "acme"}).json()
    assert after["settings"]["max_concurrent_runs"] == 2
    assert "schedule" not in after["settings"], "an owned field the documents dropped is reset"
    assert after["settings"]["queue"] == {"enabled": True}, "someone else's field is kept"
    [ingest] = [t for t in after["settings"]["tasks"] if t["task_key"] == "ingest"]
    assert ingest["libraries"] == [{"pypi": {"package": "requests"}}]
    assert world.changes() == []


def test_refresh_only_records_the_remote_state_and_changes_nothing(world: World) -> None:
    _apply(world)
    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    settings = dict(job["settings"], max_concurrent_runs=5)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()
    assert world.run("drift", str(world.specs)).code == 2

    _apply(world, "--refresh-only")
    remote = world.api.get(f"/jobs/{job['job_id']}", params={"tenant_id": "acme"}).json()
    assert remote["settings"]["max_concurrent_runs"] == 5, "refresh-only changes nothing remote"
    assert world.run("drift", str(world.specs)).code == 0, "the record now holds what is there"

    [change] = world.changes()
    assert change["action"] == "update" and change["drift"] == []
    [field] = change["fields"]
    assert (field["path"], field["before"], field["remote"], field["after"]) == (
        "max_concurrent_runs",
        5,
        5,
        1,
    )


def test_markdown_split_writes_parts_a_pull_request_can_post(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = world.run("plan", str(world.specs), "--format", "markdown", "--split")
    assert result.code == 0, result.err
    parts = sorted(tmp_path.glob("plan-*.md"))
    assert parts and all(len(p.read_text()) < 65_000 for p in parts)
    assert "### Reconciler plan" in parts[0].read_text()
    assert "`Job/nightly-sales`" in "".join(p.read_text() for p in parts)


def test_a_connector_error_quoting_a_secret_is_redacted_everywhere(
    world: World, put_secret: PutSecret
) -> None:
    secret = "tok-echoed-back-by-the-connector"
    put_secret("acme", "ECHOED_TOKEN", secret)
    _edit(
        world.specs / "acme/jobs.yaml",
        "      notebook: ${notebooks.daily-report.path}",
        "      notebook: /Workspace/AgentProvision/acme/missing/${secret:ECHOED_TOKEN}",
    )
    result = world.run("apply", str(world.specs), "--auto-approve")
    assert result.code == 1, "the connector rejects a task whose notebook does not exist"
    assert "nightly-sales" in result.out + result.err
    assert "(sensitive)" in result.out + result.err
    assert secret not in result.out + result.err
    history = world.run("history", "--steps", "--format", "json")
    assert secret not in history.out
    assert secret not in _dump_state(_env("DATABASE_URL"))


def test_a_secret_inside_a_list_is_masked(world: World, put_secret: PutSecret) -> None:
    secret = "oncall-5ecret-inbox"
    put_secret("acme", "ONCALL", secret)
    _edit(
        world.specs / "acme/jobs.yaml",
        "    on_failure: [data-oncall@acme.example]",
        '    on_failure: ["${secret:ONCALL}@acme.example"]',
    )
    saved = world.specs.parent / "list.plan"
    outputs = [
        world.run("plan", str(world.specs)),
        world.run("plan", str(world.specs), "--format", "json"),
        world.run("plan", str(world.specs), "--out", str(saved)),
        world.run("apply", str(world.specs), "--auto-approve"),
        world.run("state", "show", "acme/Job/nightly-sales"),
        world.run("drift", str(world.specs), "--format", "json"),
    ]
    assert all(o.code in (0, 2) for o in outputs), [o.err for o in outputs]
    for output in outputs:
        assert secret not in output.out + output.err
    assert secret not in saved.read_text()
    assert secret not in _dump_state(_env("DATABASE_URL"))
    job = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"][0]
    assert job["settings"]["email_notifications"]["on_failure"] == [f"{secret}@acme.example"]
