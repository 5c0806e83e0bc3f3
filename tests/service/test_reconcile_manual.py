"""`sync: manual`: the service only plans, and `POST .../reconcile` applies what it planned.

The policy's own description says so ("apply them with `reconciler apply` or
POST .../reconcile"); the status page's Reconcile button is the same request.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from reconciler.config import Settings
from reconciler.emulator.server import RunningEmulator
from reconciler.service.app import create_app
from reconciler.service.config import PolicyOverride, ServiceConfig
from tests.service.conftest import ADMIN, READ, bearer


def test_manual_sync_waits_for_a_requested_reconcile(
    specs: Path, tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> None:
    config = ServiceConfig(
        source=str(specs), interval=3600, workdir=str(tmp_path / "work"),
        read_token=SecretStr(READ), admin_token=SecretStr(ADMIN),
        policy=PolicyOverride(sync="manual"),
    )  # fmt: skip
    settings = Settings(
        mcp_server_url=emulator.url, mcp_api_key=SecretStr(emulator.api_key),
        database_url=sqlite_url,
    )  # fmt: skip
    with TestClient(create_app(config, settings)) as service:
        deadline = time.monotonic() + 30
        status: dict[str, object] = {}
        while time.monotonic() < deadline and "sync is manual" not in str(status.get("message")):
            time.sleep(0.1)
            status = service.get("/api/v1/tenants/acme", headers=bearer(READ)).json()
        assert "sync is manual" in str(status["message"]), status
        assert status["sync"] == "OutOfSync", "the scheduled run planned and applied nothing"
        history = service.get("/api/v1/tenants/acme/history", headers=bearer(READ)).json()
        assert history["applies"] == []

        done = service.post("/api/v1/tenants/acme/reconcile?wait=true", headers=bearer(ADMIN))
        assert done.status_code == 202, done.text
        after = done.json()["status"]
        assert (after["sync"], after["last_error"]) == ("Synced", None)
        history = service.get("/api/v1/tenants/acme/history", headers=bearer(READ)).json()
        assert [a["outcome"] for a in history["applies"]] == ["succeeded"]
