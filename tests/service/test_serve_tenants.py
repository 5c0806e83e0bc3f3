"""A real `reconciler serve` over a folder: drift policy, isolation of tenants, outages, SIGTERM."""

from __future__ import annotations

import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator.faults import Faults
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.state import StateStore
from tests.service.process import (
    EXAMPLES,
    Serve,
    job_names,
    running_serve,
    serve_env,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "specs")
    return tmp_path / "specs"


@pytest.fixture
def api(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(
        base_url=emulator.url + "/agentprovision/v1/databricks", headers=headers, timeout=10
    ) as client:
        yield client


def _settled(serve: Serve, *tenants: str) -> bool:
    states = [serve.tenant(t) for t in tenants]
    return all(s["last_reconcile_at"] and s["sync"] == "Synced" for s in states)


def _bump_job(api: httpx.Client, tenant_id: str, runs: int) -> int:
    job = api.get("/jobs", params={"tenant_id": tenant_id}).json()["jobs"][0]
    settings = dict(job["settings"], max_concurrent_runs=runs)
    api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": tenant_id, "new_settings": settings}
    ).raise_for_status()
    return int(job["job_id"])


def _runs(api: httpx.Client, tenant_id: str, job_id: int) -> int:
    job = api.get(f"/jobs/{job_id}", params={"tenant_id": tenant_id}).json()
    return int(job["settings"]["max_concurrent_runs"])


def test_drift_is_reverted_or_only_reported_as_each_tenant_says(
    specs: Path, emulator: RunningEmulator, api: httpx.Client, sqlite_url: str, tmp_path: Path
) -> None:
    env = serve_env(emulator.url, emulator.api_key, sqlite_url)
    with running_serve(specs, env, tmp_path) as serve:
        wait_for("both synced", lambda: _settled(serve, "acme", "globex"), 30, serve)
        acme_job, globex_job = _bump_job(api, "acme", 4), _bump_job(api, "globex-eu", 7)
        for tenant in ("acme", "globex"):
            done = serve.post(f"/api/v1/tenants/{tenant}/reconcile?wait=true")
            assert done.status_code == 202, done.text
        assert _runs(api, "acme", acme_job) == 1, "drift: revert puts the value back"
        assert _runs(api, "globex-eu", globex_job) == 7, "drift: report leaves it"

        globex = serve.tenant("globex")
        assert (globex["sync"], globex["drift"]) == ("OutOfSync", 1)
        [job] = [r for r in globex["resources"] if r["kind"] == "Job"]
        assert job["sync"] == "OutOfSync" and "reported, not reverted" in job["message"]
        drift = serve.get("/api/v1/tenants/globex/drift")
        [current] = drift["current"]
        assert current["reverted"] is False
        assert [(f["path"], f["before"], f["remote"]) for f in current["fields"]] == [
            ("max_concurrent_runs", 1, 7)
        ]
        acme = serve.tenant("acme")
        assert (acme["sync"], acme["drift"]) == ("Synced", 0)
        assert serve.get("/api/v1/tenants/acme/drift")["history"][0]["drifted"][0]["reverted"]
        metrics = serve.get("/metrics")
        assert 'reconciler_drift_resources{tenant="globex"} 1.0' in metrics
        assert 'reconciler_drift_resources{tenant="acme"} 0.0' in metrics


INITECH = """apiVersion: agentprovision.ai/v1
kind: Tenant
metadata:
  name: initech
spec:
  catalog: taken_catalog
---
apiVersion: agentprovision.ai/v1
kind: Notebook
metadata:
  name: tps
spec:
  language: PYTHON
  content: "print('tps')"
"""


def _three_tenants(specs: Path, api: httpx.Client) -> None:
    """globex's documents are broken; initech's catalog is taken, so its creates fail."""
    (specs / "initech").mkdir()
    (specs / "initech" / "tenant.yaml").write_text(INITECH)
    doc = specs / "globex" / "assistant.yaml"
    doc.write_text(doc.read_text().replace("spec:", "spek:", 1))
    taken = {"tenant_id": "someone-else", "catalog_name": "taken_catalog"}
    api.post("/catalogs", json=taken).raise_for_status()


def test_a_broken_tenant_and_a_failing_tenant_never_stop_the_others(
    specs: Path, emulator: RunningEmulator, api: httpx.Client, sqlite_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _three_tenants(specs, api)
    for name, value in serve_env(emulator.url, emulator.api_key, sqlite_url).items():
        if name.startswith(("MCP_", "DATABASE_URL")):
            monkeypatch.setenv(name, value)
    assert main(["apply", str(specs), "--auto-approve"]) == 1, "the CLI exits 1 at the end"
    assert "nightly-sales" in job_names(api, "acme"), "acme still converged through the CLI"

    api.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    api.post("/catalogs", json={"tenant_id": "someone-else", "catalog_name": "taken_catalog"})
    env = serve_env(emulator.url, emulator.api_key, f"sqlite:///{tmp_path / 'serve.db'}")
    with running_serve(specs, env, tmp_path, "--max-backoff", "2") as serve:
        wait_for("acme synced", lambda: _settled(serve, "acme"), 30, serve)
        initech = wait_for(
            "initech to report its failure",
            lambda: (s := serve.tenant("initech"))["last_error"] and s,
            30,
            serve,
        )
        assert "taken_catalog" in initech["last_error"]
        listing = serve.get("/api/v1/tenants")
        assert "globex" in listing["source"]["problems"], listing["source"]
        assert "assistant.yaml" in listing["source"]["problems"]["globex"]
        assert "Traceback" not in serve.output()


def _admin(emulator: RunningEmulator, path: str, body: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    if body is None:
        answer = httpx.get(emulator.url + path, headers=headers)
    else:
        answer = httpx.post(emulator.url + path, headers=headers, json=body)
    answer.raise_for_status()
    return answer


def _connector_requests(emulator: RunningEmulator) -> int:
    counts = _admin(emulator, "/_emulator/counters").json()["requests"]
    return sum(n for route, n in counts.items() if "/databricks/" in route)


def test_an_outage_costs_a_bounded_number_of_requests_and_the_service_recovers(
    specs: Path, sqlite_url: str, tmp_path: Path
) -> None:
    outage = 20.0
    with running_emulator(api_key="k", ready_delay=0.1) as emulator:
        env = serve_env(emulator.url, "k", sqlite_url)
        args = ("--circuit-max-wait", "4", "--max-backoff", "4")
        with running_serve(specs, env, tmp_path, *args, interval=2) as serve:
            wait_for("both synced", lambda: _settled(serve, "acme", "globex"), 30, serve)
            faults = {"error_rate": 1.0, "retry_after_s": 0.05}
            _admin(emulator, "/_emulator/faults", faults)
            before = _connector_requests(emulator)
            time.sleep(outage)
            sent = _connector_requests(emulator) - before
            # 2 tenants x 6 kinds x 6 attempts every 2 s would be ~720 requests.
            assert sent <= 60, f"{sent} requests in {outage:g} s of outage"
            failing = serve.tenant("acme")
            assert failing["last_error"]
            assert len(failing["resources"]) > 1, "a failed reconcile keeps the resources' statuses"
            _admin(emulator, "/_emulator/faults", {})
            wait_for(
                "recovery",
                lambda: all(not serve.tenant(t)["last_error"] for t in ("acme", "globex")),
                20,
                serve,
            )
            assert "reconciler_connector_circuit_open 0.0" in serve.get("/metrics")
    print(f"{sent} connector requests during a {outage:g} s outage")


def test_sigterm_during_an_apply_exits_0_and_leaves_nothing_unresolvable(
    specs: Path, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_emulator(api_key="k", faults=Faults(latency_ms=150)) as emulator:
        env = serve_env(emulator.url, "k", sqlite_url)
        with running_serve(specs, env, tmp_path, "--grace", "5") as serve:
            wait_for("an apply under way", lambda: _posts(emulator) >= 2, 30, serve)
            serve.proc.send_signal(signal.SIGTERM)
            code = serve.proc.wait(timeout=30)
            output = serve.output()
        assert code == 0, output
        assert "Traceback" not in output
        for name, value in env.items():
            if name.startswith(("MCP_", "DATABASE_URL")):
                monkeypatch.setenv(name, value)
        with StateStore.open(sqlite_url) as store:
            assert store.locks() == [], "leases released"
        assert main(["apply", str(specs), "--auto-approve"]) == 0
        with StateStore.open(sqlite_url) as store:
            assert store.open_intents() == []
        assert main(["plan", str(specs), "--detailed-exitcode"]) == 0


def _posts(emulator: RunningEmulator) -> int:
    counts = _admin(emulator, "/_emulator/counters").json()["requests"]
    return sum(n for route, n in counts.items() if route.startswith("POST /agentprovision"))


def test_a_second_replica_on_sqlite_is_warned_about(
    specs: Path, emulator: RunningEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    env = serve_env(emulator.url, emulator.api_key, sqlite_url)
    with running_serve(specs, env, tmp_path / "one") as first:
        assert "warnings" not in first.get("/readyz")
        with running_serve(specs, env, tmp_path / "two") as second:
            wait_for("the warning", lambda: "SQLite is for one replica" in second.output(), 10)
            for replica, other in ((first, second), (second, first)):
                ready = replica.get("/readyz")
                assert ready["ready"] is True, ready
                [warning] = ready["warnings"]
                assert f"pid {other.proc.pid} " in warning and "PostgreSQL" in warning, warning
        assert "SQLite is for one replica" not in first.output()
        assert "warnings" not in first.get("/readyz"), "the second replica is gone"
    assert re.search(r"run replicas on PostgreSQL", second.output())
