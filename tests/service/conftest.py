"""Service fixtures: the app in-process over the real emulator and a real state database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from reconciler.config import Settings
from reconciler.emulator.server import RunningEmulator
from reconciler.service.app import create_app
from reconciler.service.config import ServiceConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
READ, ADMIN, HOOK = "read-token-1234", "admin-token-5678", "hook-secret-9012"


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "specs")
    return tmp_path / "specs"


@pytest.fixture
def service(
    specs: Path, tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> Iterator[TestClient]:
    """The service app with tokens set, an interval of an hour (nothing runs by itself)."""
    config = ServiceConfig(
        source=str(specs),
        interval=3600,
        workdir=str(tmp_path / "work"),
        read_token=SecretStr(READ),
        admin_token=SecretStr(ADMIN),
        webhook_secret=SecretStr(HOOK),
    )
    settings = Settings(
        mcp_server_url=emulator.url,
        mcp_api_key=SecretStr(emulator.api_key),
        database_url=sqlite_url,
    )
    with TestClient(create_app(config, settings)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
