"""The action routes of a real ``reconciler serve`` over the real emulator.

One serve process (SQLite state, a folder source with acme, globex and a
suspended initech) for the module: a job run followed to TERMINATED SUCCESS,
the idempotency key, the run history, cancel (and the runs it must not
touch), invoke, query, search; tokens; problem answers for bad requests; a
tenant's secret never in an answer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator, running_emulator
from tests.service.process import (
    ADMIN,
    EXAMPLES,
    READ,
    Serve,
    running_serve,
    serve_env,
    wait_for,
)

pytestmark = pytest.mark.slow

SECRET = "wh-token-5b1e9c77d2"
FAST = {"pending": 0.05, "task": 0.15, "retry": 0.05, "terminating": 0.05}
SLOW = {"pending": 0.05, "task": 30, "retry": 0.05, "terminating": 0.1}
INITECH = """\
apiVersion: agentprovision.ai/v1
kind: Tenant
metadata:
  name: initech
spec:
  policy:
    suspend: true
---
apiVersion: agentprovision.ai/v1
kind: Notebook
metadata:
  name: tps
spec:
  language: sql
  source: tps.sql
---
apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: tps-reports
spec:
  tasks:
    - key: cover
      notebook: ${notebooks.tps.path}
"""
PROBLEM = "application/problem+json"


@dataclass
class World:
    serve: Serve
    emulator: RunningEmulator

    def call(self, method: str, path: str, token: str | None = ADMIN, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kw.pop("headers", {}))
        return httpx.request(method, self.serve.url + path, headers=headers, timeout=60, **kw)

    def ok(self, method: str, path: str, token: str = ADMIN, **kw: Any) -> Any:
        answer = self.call(method, path, token, **kw)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def pace(self, pace: dict[str, float], fail: tuple[str, ...] = ()) -> None:
        httpx.post(
            self.emulator.url + "/_emulator/runs",
            json={"pace": pace, "fail_tasks": list(fail)},
            headers={"Authorization": f"Bearer {self.emulator.api_key}"},
            timeout=10,
        ).raise_for_status()

    def connector(self, method: str, path: str, **kw: Any) -> Any:
        answer = httpx.request(
            method,
            self.emulator.api_url + path,
            headers={"Authorization": f"Bearer {self.emulator.api_key}"},
            timeout=10,
            **kw,
        )
        answer.raise_for_status()
        return answer.json()


def _synced(serve: Serve, tenant: str) -> bool:
    status = serve.tenant(tenant)
    return status["sync"] == "Synced" and not status["last_error"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("actions")
    specs = root / "specs"
    shutil.copytree(EXAMPLES, specs)
    jobs = specs / "acme" / "jobs.yaml"
    jobs.write_text(
        jobs.read_text().replace(
            "        table: ${datasets.sales.table}\n",
            "        table: ${datasets.sales.table}\n        token: ${secret:WAREHOUSE_TOKEN}\n",
            1,
        )
    )
    (specs / "initech").mkdir()
    (specs / "initech" / "tenant.yaml").write_text(INITECH)
    (specs / "initech" / "tps.sql").write_text("SELECT 1\n")
    secrets = root / "secrets" / "acme"
    secrets.mkdir(parents=True)
    (secrets / "WAREHOUSE_TOKEN").write_text(SECRET + "\n")
    with running_emulator(api_key="test-key", ready_delay=0.2) as emulator:
        env = serve_env(emulator.url, emulator.api_key, f"sqlite:///{root / 'state.db'}")
        env["RECONCILER_SECRETS_DIR"] = str(root / "secrets")
        with running_serve(specs, env, root) as serve:
            for tenant in ("acme", "globex"):
                wait_for(f"{tenant} synced", lambda t=tenant: _synced(serve, t), 60, serve)
            yield World(serve, emulator)
            assert "Traceback" not in serve.output()


def _until_terminal(world: World, tenant: str, job: str, run_id: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        runs = world.ok("GET", f"/api/v1/tenants/{tenant}/jobs/{job}/runs", READ)["runs"]
        found = next(r for r in runs if r["run_id"] == run_id)
        return found if found["state"] == "TERMINATED" else None

    return wait_for(f"run {run_id} to end", done, 30, world.serve)


def test_a_run_is_started_once_per_key_followed_to_success_and_listed(world: World) -> None:
    world.pace(FAST)
    path = "/api/v1/tenants/acme/jobs/nightly-sales/runs"
    body = {"params": {"day": "2026-12-01"}, "idempotency_key": "nightly-2026-12-01"}
    started = world.call("POST", path, json=body)
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["tenant"] == "acme" and run["state"] in ("QUEUED", "PENDING", "RUNNING")
    assert run["url"].startswith("http")
    again = world.ok("POST", path, json=body)
    assert again["run_id"] == run["run_id"], "a retried request must not start a second run"

    ended = _until_terminal(world, "acme", "nightly-sales", run["run_id"])
    assert ended["result"] == "SUCCESS" and ended["duration_s"] is not None
    assert {t["task_key"] for t in ended["tasks"]} == {"ingest", "report", "refresh_docs"}
    assert {t["result"] for t in ended["tasks"]} == {"SUCCESS"}

    other = world.ok("POST", path)  # no key: a fresh one, so a second run
    assert other["run_id"] != run["run_id"]
    history = world.ok("GET", path + "?limit=5", READ)
    assert [r["run_id"] for r in history["runs"]] == [other["run_id"], run["run_id"]]
    assert world.ok("GET", path + "?limit=1", READ)["runs"][0]["run_id"] == other["run_id"]
    _until_terminal(world, "acme", "nightly-sales", other["run_id"])


def test_cancel_stops_the_tenants_run_and_no_other(world: World) -> None:
    world.pace(SLOW)
    acme = world.ok("POST", "/api/v1/tenants/acme/jobs/nightly-sales/runs")
    globex = world.ok("POST", "/api/v1/tenants/globex/jobs/shipment-quality/runs")

    wrong = world.call("POST", f"/api/v1/runs/{acme['run_id']}/cancel", json={"tenant": "globex"})
    assert wrong.status_code == 404, wrong.text
    assert wrong.headers["content-type"] == PROBLEM
    assert f"no run {acme['run_id']}" in wrong.json()["detail"]
    for missing in (987654321, acme["run_id"] + 1000):
        assert world.call("POST", f"/api/v1/runs/{missing}/cancel").status_code == 404

    # a run of a job the service does not manage, even under acme's tenant id
    listed = world.connector("GET", "/databricks/jobs", params={"tenant_id": "acme"})["jobs"]
    task = dict(listed[0]["settings"]["tasks"][0])
    task.pop("depends_on", None)
    made = {"tenant_id": "acme", "name": "hand-made", "tasks": [task]}
    job = world.connector("POST", "/databricks/jobs", json=made)
    foreign = world.connector(
        "POST", f"/databricks/jobs/{job['job_id']}/run", json={"tenant_id": "acme"}
    )
    refused = world.call("POST", f"/api/v1/runs/{foreign['run_id']}/cancel")
    assert refused.status_code == 404, refused.text

    cancelled = world.ok("POST", f"/api/v1/runs/{acme['run_id']}/cancel")
    assert cancelled["tenant"] == "acme" and cancelled["run_id"] == acme["run_id"]
    assert _until_terminal(world, "acme", "nightly-sales", acme["run_id"])["result"] == "CANCELED"
    still = world.ok("GET", "/api/v1/tenants/globex/jobs/shipment-quality/runs", READ)["runs"][0]
    assert still["run_id"] == globex["run_id"] and still["state"] != "TERMINATED"
    named = world.ok("POST", f"/api/v1/runs/{globex['run_id']}/cancel", json={"tenant": "globex"})
    assert named["tenant"] == "globex"
    foreign_run = world.connector("GET", f"/databricks/runs/{foreign['run_id']}")
    assert foreign_run["state"]["life_cycle_state"] != "TERMINATED", "not cancelled"
    world.pace(FAST)


def test_invoke_query_and_search(world: World) -> None:
    answer = world.ok(
        "POST",
        "/api/v1/tenants/acme/endpoints/acme-support-agent/invoke",
        json={"input": {"inputs": ["where is my order?"]}},
    )
    assert answer["endpoint"] == "acme-support-agent" and len(answer["predictions"]) == 1
    assert answer["answer"]["served_entity_name"]

    table = world.ok("POST", "/api/v1/tenants/acme/datasets/sales/query", READ, json={"limit": 3})
    assert table["row_count"] == 3 and "order_id" in table["columns"]
    assert set(table["rows"][0]) == set(table["columns"])
    counted = world.ok(
        "POST",
        "/api/v1/tenants/acme/datasets/sales/query",
        READ,
        json={"sql": "SELECT count(*) AS n FROM sales"},
    )
    assert counted["columns"] == ["n"] and counted["rows"][0]["n"] > 3

    found = world.ok(
        "POST",
        "/api/v1/tenants/acme/indexes/docs-index/search",
        READ,
        json={"text": "refund", "k": 2},
    )
    assert found["index"] == "docs-index" and found["query"] == "refund"  # no rows yet
    near = world.ok(
        "POST",
        "/api/v1/tenants/acme/indexes/articles-index/search",
        READ,
        json={"vector": [0.1] * 8, "k": 1, "columns": ["id", "title"]},
    )
    assert near["row_count"] == 1 and near["columns"][:2] == ["id", "title"]


def test_tokens_read_is_403_on_acting_routes_none_is_401(world: World) -> None:
    acting = [
        ("/api/v1/tenants/acme/jobs/nightly-sales/runs", {}),
        ("/api/v1/runs/1/cancel", {}),
        ("/api/v1/tenants/acme/endpoints/acme-support-agent/invoke", {"input": 1}),
    ]
    for path, body in acting:
        forbidden = world.call("POST", path, READ, json=body)
        assert forbidden.status_code == 403, (path, forbidden.text)
        assert forbidden.headers["content-type"] == PROBLEM
        assert world.call("POST", path, None, json=body).status_code == 401
        assert world.call("POST", path, "wrong-token", json=body).status_code == 401
    reading = [
        ("GET", "/api/v1/tenants/acme/jobs/nightly-sales/runs", None),
        ("POST", "/api/v1/tenants/acme/datasets/sales/query", {"limit": 1}),
        ("POST", "/api/v1/tenants/acme/indexes/docs-index/search", {"text": "x", "k": 1}),
    ]
    for method, path, body in reading:
        assert world.call(method, path, None, json=body).status_code == 401
        assert world.call(method, path, READ, json=body).status_code == 200, path


def test_unknown_tenants_and_resources_not_applied_are_404_saying_what_to_do(
    world: World,
) -> None:
    cases = {
        "/api/v1/tenants/nope/jobs/nightly-sales/runs": "no tenant 'nope' in the source",
        "/api/v1/tenants/acme/jobs/no-such-job/runs": "tenant acme has no job no-such-job",
        "/api/v1/tenants/acme/jobs/docs/runs": "tenant acme has no job docs",
        "/api/v1/tenants/initech/jobs/tps-reports/runs": "POST /api/v1/tenants/initech/reconcile",
    }
    for path, said in cases.items():
        answer = world.call("GET", path, READ)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert said in answer.json()["detail"], answer.json()
    not_applied = world.call("GET", "/api/v1/tenants/initech/jobs/tps-reports/runs", READ)
    assert "globex" not in not_applied.text and "acme" not in not_applied.text
    started = world.call("POST", "/api/v1/tenants/initech/jobs/tps-reports/runs")
    assert started.status_code == 404
    cancel = world.call("POST", "/api/v1/runs/1/cancel", json={"tenant": "nope"})
    assert cancel.status_code == 404, cancel.text
    assert "no tenant 'nope' in the source" in cancel.json()["detail"]


def test_bad_requests_are_problem_answers(world: World) -> None:
    runs = "/api/v1/tenants/acme/jobs/nightly-sales/runs"
    query = "/api/v1/tenants/acme/datasets/sales/query"
    search = "/api/v1/tenants/acme/indexes/docs-index/search"
    cases = [
        ("POST", runs, {"params": "day=1"}, 422),
        ("POST", runs, {"params": {"day": 1}}, 422),
        ("POST", runs, {"idempotency_key": "has spaces\n"}, 422),
        ("POST", runs, {"surprise": True}, 422),
        ("GET", runs + "?limit=0", None, 422),
        ("POST", "/api/v1/runs/0/cancel", None, 422),
        ("POST", "/api/v1/runs/12/cancel", {"tenant": "<script>"}, 422),
        ("POST", "/api/v1/tenants/acme/endpoints/acme-support-agent/invoke", {}, 422),
        ("POST", query, {"sql": "DROP TABLE sales"}, 400),
        ("POST", query, {"sql": "SELECT 1; DELETE FROM sales"}, 400),
        ("POST", query, {"sql": "SELECT no_such_column FROM sales"}, 400),
        ("POST", query, {"limit": 0}, 422),
        ("POST", search, {"text": "a", "vector": [1.0]}, 400),
        ("POST", search, {"k": 3}, 400),
        ("POST", search, {"text": "a", "k": 0}, 422),
        ("POST", "/api/v1/tenants/acme/indexes/sales/search", {"text": "a"}, 404),
    ]
    for method, path, body, status in cases:
        answer = (
            world.call(method, path, json=body) if body is not None else world.call(method, path)
        )
        assert answer.status_code == status, (path, body, answer.text)
        assert answer.headers["content-type"] == PROBLEM, answer.text
        detail = answer.json()["detail"]
        assert detail and "\n" not in detail and "Traceback" not in detail
    raw = world.call(
        "POST", runs, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert raw.status_code == 422 and raw.headers["content-type"] == PROBLEM
    refused = world.call("POST", query, json={"sql": "DROP TABLE sales"}).json()["detail"]
    assert "read-only" in refused


def test_a_tenant_secret_never_leaves_in_an_answer(world: World) -> None:
    query = "/api/v1/tenants/acme/datasets/sales/query"
    sql = f"SELECT '{SECRET}' AS x FROM sales LIMIT 1"
    echoed = world.call("POST", query, READ, json={"sql": sql})
    assert echoed.status_code == 200 and SECRET not in echoed.text
    assert echoed.json()["rows"] == [{"x": "(sensitive)"}]
    failed = world.call("POST", query, READ, json={"sql": f"SELECT `{SECRET}` FROM sales"})
    assert failed.status_code == 400, failed.text
    assert SECRET not in failed.text and "(sensitive)" in failed.json()["detail"]
