"""A person approves an agent's plan through the service's admin API; the agent applies it.

The MCP server (the SDK's own client, in memory) and the service app share
the state database and the emulator: the agent plans, is refused ``apply``;
``POST /api/v1/plans/{id}/approve`` with the admin token approves exactly that
plan (a read token is 403, an unknown id 404); ``apply`` then succeeds, and a
second approval of the applied plan is 409. The ``runs`` tool lists the run
the service API started, with its URL and tasks (the library's run view).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mcp.client import Client
from pydantic import SecretStr

from reconciler.agent_mcp.access import Scope
from reconciler.agent_mcp.backend import Backend
from reconciler.agent_mcp.server import build_server
from reconciler.agent_mcp.workspace import Workspace
from reconciler.config import Settings
from reconciler.service.app import create_app
from reconciler.service.config import ServiceConfig
from tests.agent_mcp.conftest import FIXED_JOB, SECRET, Transcript, call

READ, ADMIN = "read-token-1234", "admin-token-5678"
pytestmark = pytest.mark.usefixtures("agent_env")


@pytest.fixture
def service(specs: Path, tmp_path: Path, emulator: Any, db_url: str) -> Iterator[TestClient]:
    config = ServiceConfig(
        source=str(specs),
        interval=3600,
        workdir=str(tmp_path / "work"),
        read_token=SecretStr(READ),
        admin_token=SecretStr(ADMIN),
    )
    settings = Settings(
        mcp_server_url=emulator.url, mcp_api_key=SecretStr(emulator.api_key), database_url=db_url
    )
    with TestClient(create_app(config, settings)) as client:
        done = client.post("/api/v1/tenants/acme/reconcile?wait=true", headers=_auth(ADMIN))
        assert done.status_code == 202 and done.json()["status"]["sync"] == "Synced", done.text
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_admin_api_approves_the_agents_plan_and_runs_show_in_the_runs_tool(
    specs: Path, service: TestClient
) -> None:
    backend = Backend(Workspace(specs), Settings.from_env(), default_scope=Scope(None, "plan", "t"))
    seen = Transcript()
    async with Client(build_server(backend), cache=None) as client:
        fixed = [{"path": "jobs.yaml", "text": FIXED_JOB}]
        planned = await call(client, seen, "plan", tenant="acme", changes=fixed)
        plan_id = planned["plan_id"]
        assert "not approved" in await call(client, seen, "apply", plan_id=plan_id)

        approve = f"/api/v1/plans/{plan_id}/approve"
        assert service.post(approve, headers=_auth(READ)).status_code == 403
        assert service.post(approve).status_code == 401
        missing = service.post("/api/v1/plans/plan-0000/approve", headers=_auth(ADMIN))
        assert missing.status_code == 404 and "not found" in missing.json()["detail"]
        strange = service.post(approve, headers=_auth(ADMIN), json={"approved_by": "a\nb"})
        assert strange.status_code == 422
        approved = service.post(approve, headers=_auth(ADMIN), json={"approved_by": "Pat"})
        assert approved.status_code == 200, approved.text
        answer = approved.json()
        assert answer["tenant"] == "acme" and answer["approved_by"] == "Pat (service admin API)"
        assert answer["changes"] == ["create Job/nightly: new"]
        assert len(answer["digest"]) == 64

        applied = await call(client, seen, "apply", plan_id=plan_id)
        assert applied["ok"] is True and applied["approved_by"] == "Pat (service admin API)"
        again = service.post(approve, headers=_auth(ADMIN))
        assert again.status_code == 409 and "applied already" in again.json()["detail"]

        started = service.post("/api/v1/tenants/acme/jobs/nightly/runs", headers=_auth(ADMIN))
        assert started.status_code == 201, started.text
        runs = (await call(client, seen, "runs", tenant="acme", job="nightly"))["runs"]
        assert [r["run_id"] for r in runs] == [started.json()["run_id"]]
        assert runs[0]["url"] == started.json()["url"] and runs[0]["tasks"][0]["task_key"] == "etl"
        unknown = await call(client, seen, "runs", tenant="acme", job="weekly")
        assert "weekly" in unknown and "globex" not in unknown
    backend.close()
    assert SECRET not in seen.text()
