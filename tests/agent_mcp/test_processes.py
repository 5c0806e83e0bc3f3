"""`reconciler mcp` as real processes: over stdio, and over HTTP with bearer tokens."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.agent_mcp.conftest import FIXED_JOB, SECRET, Transcript, call
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow
RECONCILER = str(Path(sys.executable).with_name("reconciler"))
TOOLS_WITH_A_TENANT = {
    "get_status": {},
    "get_resource": {"kind": "Notebook", "name": "etl"},
    "validate": {"files": [{"path": "jobs.yaml", "text": FIXED_JOB}]},
    "plan": {},
    "drift": {},
    "explain": {"kind": "Notebook", "name": "etl"},
    "history": {},
    "runs": {"job": "nightly"},
}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """One database is enough here: the stores are tested on both elsewhere."""
    return sqlite_url


def _approve(env: dict[str, str], plan_id: str) -> None:
    done = subprocess.run(
        [RECONCILER, "approve", plan_id], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


async def _session(client: Client, seen: Transcript, env: dict[str, str], specs: Path) -> None:
    """List, plan a proposal, be refused, get approved, apply, see it Synced."""
    listed = await call(client, seen, "list_tenants")
    assert isinstance(listed, dict), listed  # an error answer is text
    assert [t["name"] for t in listed["tenants"]] == ["acme"]
    fixed = [{"path": "jobs.yaml", "text": FIXED_JOB}]
    plan_id = (await call(client, seen, "plan", tenant="acme", changes=fixed))["plan_id"]
    assert "not approved" in await call(client, seen, "apply", plan_id=plan_id)
    _approve(env, plan_id)
    assert (await call(client, seen, "apply", plan_id=plan_id))["ok"] is True
    (specs / "acme" / "jobs.yaml").write_text(FIXED_JOB)
    assert (await call(client, seen, "get_status", tenant="acme"))["sync"] == "Synced"


async def _cannot_reach(client: Client, seen: Transcript, tenant: str, plan_id: str) -> None:
    """Every tool naming ``tenant`` (or its plan) answers "not found"."""
    for tool, extra in TOOLS_WITH_A_TENANT.items():
        answer = await call(client, seen, tool, tenant=tenant, **extra)
        assert answer.endswith(f": tenant {tenant} not found (see list_tenants)"), (tool, answer)
    answer = await call(client, seen, "apply", plan_id=plan_id)
    assert f": plan {plan_id} not found" in answer, answer
    for uri in (f"reconciler://tenants/{tenant}/documents", f"reconciler://tenants/{tenant}/state"):
        with pytest.raises(Exception, match="not found"):
            await client.read_resource(uri)


async def test_stdio_process_serves_only_its_tenants(
    specs: Path, agent_env: dict[str, str]
) -> None:
    params = StdioServerParameters(
        command=RECONCILER,
        args=["mcp", "--source", str(specs), "--tenant", "acme"],
        env={**os.environ, **agent_env},
    )
    seen = Transcript()
    async with Client(params, cache=None) as client:
        await _session(client, seen, agent_env, specs)
        await _cannot_reach(client, seen, "globex", "plan-0000000000000000")
    assert SECRET not in seen.text()


@contextmanager
def _http_server(specs: Path, env: dict[str, str], tokens: Path) -> Iterator[str]:
    port = free_port()
    argv = ["mcp", "--source", str(specs), "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(
        [RECONCILER, *argv, "--tokens", str(tokens)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the MCP server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
        assert SECRET not in err


def _client(url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, cache=None)


async def test_http_tokens_scope_tenants_and_rights(
    specs: Path, agent_env: dict[str, str], tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.yaml"
    digest = hashlib.sha256(b"acme-plan-token").hexdigest()
    tokens.write_text(
        "tokens:\n"
        f"  - {{name: acme-agent, sha256: {digest}, tenants: [acme], rights: plan}}\n"
        "  - {name: acme-reader, token: acme-read-token, tenants: [acme], rights: read}\n"
        "  - {name: globex-agent, token: globex-token, tenants: [globex], rights: plan}\n"
    )
    seen = Transcript()
    with _http_server(specs, agent_env, tokens) as url:
        async with _client(url, "globex-token") as globex:
            planned = await call(globex, seen, "plan", tenant="globex")
        async with _client(url, "acme-plan-token") as acme:
            await _session(acme, seen, agent_env, specs)
            await _cannot_reach(acme, seen, "globex", planned["plan_id"])
        async with _client(url, "acme-read-token") as reader:
            assert (await call(reader, seen, "get_status", tenant="acme"))["sync"] == "Synced"
            refused = await call(reader, seen, "plan", tenant="acme")
            assert "read rights only" in refused
        for token in (None, "wrong-token"):
            with pytest.raises(Exception):  # noqa: B017 - 401 before any MCP message
                async with _client(url, token) as anonymous:
                    await anonymous.list_tools()
    assert SECRET not in seen.text()
