"""Helpers for the MCP server tests: two small tenants, a secret, the SDK's own client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.types import CallToolResult

SECRET = "tok-5ec7e7-agent-must-never-see"

TENANT = """\
apiVersion: agentprovision.ai/v1
kind: Tenant
metadata:
  name: {name}
spec:
  comment: {name} for the agent tests
"""

NOTEBOOK = """\
apiVersion: agentprovision.ai/v1
kind: Notebook
metadata:
  name: etl
spec:
  language: python
  content: |
    # Databricks notebook source
    print("etl")
"""

BROKEN_JOB = """\
apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: nightly
spec:
  tasks:
    - key: etl
      notebook: ${notebooks.etl.path}
      parameters:
        token: ${secret:AGENT_TEST_TOKEN}
  max_concurent_runs: 1
"""

FIXED_JOB = BROKEN_JOB.replace("max_concurent_runs", "max_concurrent_runs")
CHANGED_JOB = FIXED_JOB.replace("max_concurrent_runs: 1", "max_concurrent_runs: 2")


def write_specs(root: Path) -> Path:
    for name in ("acme", "globex"):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "tenant.yaml").write_text(TENANT.format(name=name))
        (folder / "notebooks.yaml").write_text(NOTEBOOK)
    return root


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    return write_specs(tmp_path / "specs")


@pytest.fixture
def agent_env(
    emulator: Any, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The settings every face of the reconciler reads, also set for this process."""
    secrets = tmp_path / "secrets"
    for tenant in ("acme", "globex"):
        (secrets / tenant).mkdir(parents=True, exist_ok=True)
        (secrets / tenant / "AGENT_TEST_TOKEN").write_text(SECRET + "\n")
    env = {
        "RECONCILER_SECRETS_DIR": str(secrets),
        "MCP_SERVER_URL": emulator.url,
        "MCP_API_KEY": emulator.api_key,
        "DATABASE_URL": db_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env


@dataclass
class Transcript:
    """Everything a client saw in a session, to search it for secrets."""

    seen: list[str] = field(default_factory=list)

    def add(self, value: Any) -> Any:
        if hasattr(value, "model_dump_json"):
            self.seen.append(value.model_dump_json())
        else:
            self.seen.append(str(value))
        return value

    def text(self) -> str:
        return "\n".join(self.seen)


async def call(client: Client, transcript: Transcript, tool: str, **arguments: Any) -> Any:
    """Call a tool; its structured content, or the error text (as a str)."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    transcript.add(result)
    if result.is_error:
        return "ERROR: " + " ".join(getattr(c, "text", "") for c in result.content)
    assert result.structured_content is not None, result
    return result.structured_content


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
