"""Fixtures for the apply tests: a copy of the examples and the environment the CLI reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator.server import RunningEmulator
from tests.apply.helpers import EXAMPLES


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "specs"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def cli_env(emulator: RunningEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI (in this process and in subprocesses) at the emulator and ``db_url``."""
    monkeypatch.setenv("MCP_SERVER_URL", emulator.url)
    monkeypatch.setenv("MCP_API_KEY", emulator.api_key)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url
