"""An agent's session through the SDK's own client, in memory: plan freely, apply what a person approved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from reconciler.agent_mcp.access import Scope
from reconciler.agent_mcp.backend import Backend
from reconciler.agent_mcp.server import build_server
from reconciler.agent_mcp.workspace import Workspace
from reconciler.cli import main
from reconciler.config import Settings
from tests.agent_mcp.conftest import (
    BROKEN_JOB,
    CHANGED_JOB,
    FIXED_JOB,
    SECRET,
    Transcript,
    call,
)

pytestmark = pytest.mark.usefixtures("agent_env")


def _server(specs: Path, scope: Scope | None = None) -> tuple[Backend, Any]:
    backend = Backend(
        Workspace(specs), Settings.from_env(), default_scope=scope or Scope(None, "plan", "test")
    )
    return backend, build_server(backend)


async def test_agent_session_plans_freely_and_applies_only_what_a_person_approved(
    specs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, server = _server(specs)
    seen = Transcript()
    async with Client(server, cache=None) as client:
        tools = {t.name: t for t in seen.add(await client.list_tools()).tools}
        assert tools["apply"].annotations.destructive_hint is True
        assert tools["get_status"].annotations.read_only_hint is True
        assert tools["plan"].annotations.read_only_hint is False
        assert tools["plan"].output_schema["properties"]["plan_id"]

        listed = await call(client, seen, "list_tenants")
        assert [t["name"] for t in listed["tenants"]] == ["acme", "globex"]

        broken = [{"path": "jobs.yaml", "text": BROKEN_JOB}]
        checked = await call(client, seen, "validate", files=broken, tenant="acme")
        assert checked["ok"] is False
        [problem] = checked["problems"]
        assert (problem["file"], problem["line"]) == ("jobs.yaml", 11)
        assert "did you mean `max_concurrent_runs`" in problem["message"]

        fixed = [{"path": "jobs.yaml", "text": FIXED_JOB}]
        assert (await call(client, seen, "validate", files=fixed, tenant="acme"))["ok"] is True

        planned = await call(client, seen, "plan", tenant="acme", changes=fixed)
        plan_id = planned["plan_id"]
        assert planned["counts"]["create"] == 3, planned["counts"]  # tenant, notebook, job
        assert not (specs / "acme" / "jobs.yaml").exists(), "proposals stay out of the repo"
        reasons = [c["reason"] for c in planned["plan"]["tenants"][0]["resource_changes"]]
        assert all(reasons)

        refused = await call(client, seen, "apply", plan_id=plan_id)
        assert "not approved" in refused and f"reconciler approve {plan_id}" in refused

        assert main(["approve", plan_id]) == 0
        assert "Approved by" in capsys.readouterr().out

        applied = await call(client, seen, "apply", plan_id=plan_id)
        assert applied["ok"] is True, applied
        assert "applied already" in await call(client, seen, "apply", plan_id=plan_id)

        # a person merges the proposal: the tenant's documents now match what was applied
        (specs / "acme" / "jobs.yaml").write_text(FIXED_JOB)
        status = await call(client, seen, "get_status", tenant="acme")
        assert status["sync"] == "Synced", status
        assert status["last_apply"]["actor"].startswith("mcp (test) (approved by ")

        changed = [{"path": "jobs.yaml", "text": CHANGED_JOB}]
        second = await call(client, seen, "plan", tenant="acme", changes=changed)
        third = await call(client, seen, "plan", tenant="acme", changes=changed)
        assert second["plan_id"] != plan_id and second["counts"] == {"update": 1}
        assert "not approved" in await call(client, seen, "apply", plan_id=second["plan_id"])
        assert main(["approve", second["plan_id"]]) == 0
        assert main(["approve", third["plan_id"]]) == 0
        assert (await call(client, seen, "apply", plan_id=second["plan_id"]))["ok"] is True
        stale = await call(client, seen, "apply", plan_id=third["plan_id"])
        assert "stale" in stale and "re-run plan" in stale

        await _read_everything(client, seen)
    backend.close()
    assert SECRET not in seen.text()
    assert "(sensitive)" in seen.text()


async def _read_everything(client: Client, seen: Transcript) -> None:
    """Every read tool, resource and prompt, into the transcript."""
    resource = await call(client, seen, "get_resource", tenant="acme", kind="Job", name="nightly")
    assert resource["last_applied"]["max_concurrent_runs"] == 2
    assert resource["observed"]["max_concurrent_runs"] == 2
    assert "(sensitive) sha256:" in json.dumps(resource["desired"]), "the token is masked"
    explained = await call(client, seen, "explain", tenant="acme", kind="jobs", name="nightly")
    assert explained["action"] == "update" and explained["fields"]  # the docs still say 1
    assert (await call(client, seen, "drift", tenant="acme"))["has_drift"] is False
    assert len((await call(client, seen, "history", tenant="acme"))["applies"]) == 2
    assert (await call(client, seen, "runs", tenant="acme", job="nightly"))["runs"] == []
    for uri in ("reconciler://tenants/acme/documents", "reconciler://tenants/acme/state"):
        seen.add(await client.read_resource(uri))
    seen.add(
        await client.get_prompt(
            "why-out-of-sync", {"tenant": "acme", "kind": "Job", "name": "nightly"}
        )
    )
    seen.add(await client.get_prompt("what-would-change", {"tenant": "acme", "change": "x"}))
