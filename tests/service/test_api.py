"""The service API: tokens, problem answers, status after a reconcile, hostile requests."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from reconciler.emulator.server import RunningEmulator
from reconciler.errors import ConfigError
from reconciler.service.config import ServiceConfig
from tests.service.conftest import ADMIN, HOOK, READ, bearer

READS = [
    "/api/v1/tenants",
    "/api/v1/tenants/acme",
    "/api/v1/tenants/acme/drift",
    "/api/v1/tenants/acme/history",
    "/api/v1/tenants/acme/databricks/status",
]
WRITES = [
    "/api/v1/tenants/acme/reconcile",
    "/api/v1/tenants/acme/suspend",
    "/api/v1/tenants/acme/resume",
    "/api/v1/tenants/acme/databricks/initialize",
]


def test_tokens_read_reads_admin_changes_everything_else_is_401(service: TestClient) -> None:
    for path in READS:
        for headers in ({}, bearer("wrong"), {"Authorization": "Basic x"}):
            answer = service.get(path, headers=headers)
            assert answer.status_code == 401, path
            assert answer.headers["content-type"] == "application/problem+json"
        assert service.get(path, headers=bearer(READ)).status_code == 200, path
        assert service.get(path, headers=bearer(ADMIN)).status_code == 200, path
    for path in WRITES:
        assert service.post(path).status_code == 401, path
        assert service.post(path, headers=bearer(READ)).status_code == 401, path
    for path in ("/healthz", "/metrics"):
        assert service.get(path).status_code == 200


def test_reconcile_applies_and_the_status_says_synced(service: TestClient) -> None:
    done = service.post("/api/v1/tenants/acme/reconcile?wait=true", headers=bearer(ADMIN))
    assert done.status_code == 202, done.text
    status = done.json()["status"]
    assert (status["sync"], status["health"], status["last_error"]) == ("Synced", "Healthy", None)
    assert {r["sync"] for r in status["resources"]} == {"Synced"}
    history = service.get("/api/v1/tenants/acme/history", headers=bearer(READ)).json()
    assert [a["outcome"] for a in history["applies"]] == ["succeeded"]
    assert history["applies"][0]["actor"].startswith("serve@")
    backend = service.get("/api/v1/tenants/acme/databricks/status", headers=bearer(READ)).json()
    assert backend == {
        "enabled": True,
        "mcp_healthy": True,
        "catalog_exists": True,
        "catalog_name": "agentprovision_acme",
    }
    metrics = service.get("/metrics").text
    assert 'reconciler_resources{health="Healthy",sync="Synced"}' in metrics
    assert "mcp_requests_total" in metrics


def test_initialize_creates_only_the_catalog(service: TestClient) -> None:
    before = service.get("/api/v1/tenants/globex/databricks/status", headers=bearer(READ)).json()
    assert before["catalog_exists"] is False and before["catalog_name"] == "globex_logistics"
    after = service.post("/api/v1/tenants/globex/databricks/initialize", headers=bearer(ADMIN))
    assert after.status_code == 200 and after.json()["catalog_exists"] is True
    [apply] = service.get("/api/v1/tenants/globex/history", headers=bearer(READ)).json()["applies"]
    assert [(s["kind"], s["action"]) for s in apply["steps"]] == [("Tenant", "create")]


def test_suspend_is_kept_and_nothing_is_planned(service: TestClient) -> None:
    suspended = service.post("/api/v1/tenants/acme/suspend", headers=bearer(ADMIN)).json()
    assert suspended["suspended"] is True
    done = service.post("/api/v1/tenants/acme/reconcile?wait=true", headers=bearer(ADMIN))
    status = done.json()["status"]
    assert status["health"] == "Suspended" and "suspended through the API" in status["message"]
    assert service.get("/api/v1/tenants/acme/history", headers=bearer(READ)).json()["applies"] == []
    resumed = service.post("/api/v1/tenants/acme/resume", headers=bearer(ADMIN)).json()
    assert resumed["suspended"] is False


@pytest.mark.parametrize(
    "path", ["/api/v1/tenants/nope", "/api/v1/tenants/nope/drift", "/api/v1/tenants/nope/history"]
)
def test_unknown_tenant_is_a_404_problem(service: TestClient, path: str) -> None:
    answer = service.get(path, headers=bearer(READ))
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no tenant 'nope' in the source"


@pytest.mark.parametrize("name", ["..", "a" * 64, "ACME", "a b", "%00"])
def test_a_name_that_cannot_be_a_tenant_is_a_422_problem(service: TestClient, name: str) -> None:
    answer = service.get(f"/api/v1/tenants/{name}", headers=bearer(READ))
    assert answer.status_code in (404, 422)
    assert "Traceback" not in answer.text


def _signed(body: bytes, secret: str = HOOK) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


def test_hostile_webhooks_are_refused_without_a_fetch(service: TestClient) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    url = "/api/v1/webhooks/git"
    assert service.post(url, content=body).status_code == 401
    assert service.post(url, content=body, headers=_signed(body, "guess")).status_code == 401
    assert service.post(url, content=body, headers={"X-Gitlab-Token": "guess"}).status_code == 401
    assert service.post(url, content=body, headers=bearer(READ)).status_code == 401
    junk = b"{not json"
    assert service.post(url, content=junk, headers=_signed(junk)).status_code == 400
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    ignored = service.post(url, content=other, headers=_signed(other)).json()
    assert ignored["accepted"] is False and "feature" in ignored["reason"]
    accepted = service.post(url, content=body, headers=_signed(body))
    assert accepted.status_code == 202 and accepted.json()["accepted"] is True
    gitlab = service.post(url, content=body, headers={"X-Gitlab-Token": HOOK})
    assert gitlab.status_code == 202


def test_no_tokens_means_loopback_only() -> None:
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without API tokens"):
        ServiceConfig(source=".", host="0.0.0.0").check()
    ServiceConfig(source=".", host="127.0.0.1").check()
    ServiceConfig(source=".", host="::1").check()


def test_initialize_waits_for_a_reconcile_of_the_tenant_already_running_here(
    service: TestClient, emulator: RunningEmulator
) -> None:
    """The service's own reconcile of a tenant is not "elsewhere": a person's initialize
    waits for it to end, then runs (a 409 is only for another replica)."""
    faults = f"{emulator.url}/_emulator/faults"
    key = {"Authorization": f"Bearer {emulator.api_key}"}
    httpx.post(faults, headers=key, json={"latency_ms": 150}).raise_for_status()
    try:
        started = service.post("/api/v1/tenants/globex/reconcile", headers=bearer(ADMIN))
        assert started.status_code == 202
        after = service.post("/api/v1/tenants/globex/databricks/initialize", headers=bearer(ADMIN))
    finally:
        httpx.post(faults, headers=key, json={}).raise_for_status()
    assert after.status_code == 200, after.text
    assert after.json()["catalog_exists"] is True
