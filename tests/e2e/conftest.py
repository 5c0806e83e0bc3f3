"""End-to-end helpers: the real CLI entry point, the emulator over HTTP, a real database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class World:
    """A copy of the examples, the emulator, a state database, and a way to run the CLI."""

    specs: Path
    api: httpx.Client
    run: Callable[..., CliResult]
    emulator_url: str

    def counters(self) -> dict[str, int]:
        """Requests the emulator has served, by route."""
        response = self.api.get(self.emulator_url + "/_emulator/counters")
        response.raise_for_status()
        requests: dict[str, int] = response.json()["requests"]
        return requests

    def changes(self, path: Path | None = None) -> list[dict[str, Any]]:
        """Every non-no-op resource change of a JSON plan."""
        result = self.run("plan", str(path or self.specs), "--format", "json")
        assert result.code == 0, result.err
        return [
            c
            for t in result.json()["tenants"]
            for c in t["resource_changes"]
            if c["action"] != "noop"
        ]


@pytest.fixture
def world(
    tmp_path: Path,
    emulator: Any,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[World]:
    specs = tmp_path / "specs"
    shutil.copytree(EXAMPLES, specs)
    monkeypatch.setenv("MCP_SERVER_URL", emulator.url)
    monkeypatch.setenv("MCP_API_KEY", emulator.api_key)
    monkeypatch.setenv("DATABASE_URL", db_url)

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    base = emulator.url + "/agentprovision/v1/databricks"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as api:
        yield World(specs, api, run, emulator.url)
