"""What a hostile caller can do with the tools: proposals stay in the tenant's folder, rights hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.client import Client

from reconciler.agent_mcp.access import Scope
from reconciler.agent_mcp.backend import Backend
from reconciler.agent_mcp.server import build_server
from reconciler.agent_mcp.workspace import Workspace
from reconciler.config import Settings
from tests.agent_mcp.conftest import NOTEBOOK, TENANT, Transcript, call

pytestmark = pytest.mark.usefixtures("agent_env")


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _client(specs: Path, scope: Scope) -> Client:
    backend = Backend(Workspace(specs), Settings.from_env(), default_scope=scope)
    return Client(build_server(backend), cache=None)


@pytest.mark.parametrize(
    "path",
    ["../globex/evil.yaml", "/tmp/evil.yaml", ".git/config", "a/../../x.yaml", "a\\b.yaml", ""],
)
async def test_proposed_files_cannot_leave_the_tenant_folder(specs: Path, path: str) -> None:
    seen = Transcript()
    async with _client(specs, Scope(frozenset({"acme"}), "plan", "a")) as client:
        files = [{"path": path, "text": NOTEBOOK}]
        for tool in ("validate", "plan"):
            key = "files" if tool == "validate" else "changes"
            answer = await call(client, seen, tool, tenant="acme", **{key: files})
            assert "not a plain path inside the tenant's folder" in answer, answer
    assert sorted(p.name for p in (specs / "globex").iterdir()) == [
        "notebooks.yaml",
        "tenant.yaml",
    ]


async def test_a_proposal_cannot_turn_into_another_tenant(specs: Path) -> None:
    seen = Transcript()
    async with _client(specs, Scope(frozenset({"acme"}), "plan", "a")) as client:
        renamed = [{"path": "tenant.yaml", "text": TENANT.format(name="globex")}]
        answer = await call(client, seen, "plan", tenant="acme", changes=renamed)
        assert "no longer define tenant acme" in answer, answer


async def test_read_rights_cannot_plan_or_apply(specs: Path) -> None:
    seen = Transcript()
    async with _client(specs, Scope(None, "read", "reader")) as client:
        assert "read rights only" in await call(client, seen, "plan", tenant="acme")
        answer = await call(client, seen, "apply", plan_id="plan-0000000000000000")
        assert "not found" in answer
