"""Bad input and trouble: one clear line, exit 1, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import World


def _reconciler(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _break_a_document(specs: Path) -> Path:
    doc = next(p for p in (specs / "acme").rglob("*.yaml") if "kind: Job" in p.read_text())
    doc.write_text(doc.read_text().replace("tasks:", "taskz:", 1))
    return doc


def test_bad_document_fails_before_any_connector_call_or_state_write(world: World) -> None:
    """Only acme is broken: nothing of acme is sent or written, globex is still applied."""
    doc = _break_a_document(world.specs)
    result = world.run("apply", str(world.specs), "--auto-approve")
    assert result.code == 1
    rel = doc.relative_to(world.specs).as_posix()
    assert rel in result.err and "taskz" in result.err
    assert "error: tenant acme:" in result.err and "the other tenants go on" in result.err
    assert "Traceback" not in result.err
    assert world.api.get("/catalogs/acme").json().get("exists") is False
    assert world.api.get("/catalogs/globex-eu").json().get("exists") is True
    history = world.run("history", "--format", "json")
    assert {a["tenant"] for a in history.json()} == {"globex"}, "nothing recorded for acme"
    for args in (("plan",), ("drift",)):
        other = world.run(*args, str(world.specs))
        assert other.code == 1 and "error: tenant acme:" in other.err
        assert "globex" in other.out


def test_plan_without_server_url_says_how_to_start_the_emulator(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    env = {"MCP_SERVER_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    result = _reconciler("plan", str(examples), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "MCP_SERVER_URL is not set" in result.stderr
    assert "reconciler emulator" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_connector_is_one_clear_line(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    env = {
        "MCP_SERVER_URL": "http://127.0.0.1:9",
        "MCP_API_KEY": "k",
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
    }
    result = _reconciler("plan", str(examples), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach the connector" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_api_key_is_one_clear_line_without_the_key(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_API_KEY", "s3cret-wrong-key")
    result = world.run("plan", str(world.specs))
    assert result.code == 1
    assert "401" in result.err and "MCP_API_KEY" in result.err
    assert "s3cret-wrong-key" not in result.err + result.out


def test_apply_refuses_without_auto_approve_when_not_a_terminal(world: World) -> None:
    env = {
        "MCP_SERVER_URL": os.environ["MCP_SERVER_URL"],
        "MCP_API_KEY": os.environ["MCP_API_KEY"],
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    result = _reconciler("apply", str(world.specs), env=env, cwd=world.specs)
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"] == []


def test_validate_reports_every_problem_with_file_and_line(world: World) -> None:
    doc = _break_a_document(world.specs)
    result = world.run("validate", str(world.specs))
    assert result.code == 1
    line = next(x for x in result.err.splitlines() if "taskz" in x)
    rel = doc.relative_to(world.specs).as_posix()
    expected_line = next(
        i for i, text in enumerate(doc.read_text().splitlines(), 1) if "taskz" in text
    )
    assert line.startswith(f"{rel}:{expected_line}:")


def test_validate_examples_is_clean(world: World) -> None:
    result = world.run("validate", str(world.specs))
    assert result.code == 0, result.err
    assert "no problems" in result.out
