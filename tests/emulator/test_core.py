"""Health, auth, problem documents, paging, counters and persistence over HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator, running_emulator
from tests.emulator.helpers import (
    TENANT,
    assert_problem,
    collect_pages,
    make_catalog,
    make_notebook,
    ok,
)


def test_health_needs_no_key(emulator: RunningEmulator) -> None:
    body = ok(httpx.get(emulator.url + "/agentprovision/v1/health"))
    assert body["status"] == "healthy"
    assert body["databricks_connected"] is True
    assert body["version"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic test-key", "Bearer test-key-not"])
def test_missing_or_wrong_key_is_401(emulator: RunningEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in [
        ("GET", "/agentprovision/v1/databricks/jobs?tenant_id=x"),
        ("POST", "/agentprovision/v1/databricks/catalogs"),
        ("GET", "/_emulator/counters"),
    ]:
        response = httpx.request(method, emulator.url + path, headers=headers, json={})
        assert_problem(response, 401, "UNAUTHENTICATED")


def test_bad_input_gets_problem_documents_never_500(emulator_client: httpx.Client) -> None:
    c = emulator_client
    bad = [
        c.post(
            "/databricks/catalogs",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        c.post("/databricks/catalogs", json=[1, 2]),
        c.post("/databricks/catalogs", json={"tenant_id": TENANT}),
        c.post("/databricks/catalogs", json={"tenant_id": 7, "catalog_name": "x"}),
        c.post("/databricks/catalogs", json={"tenant_id": "bad tenant!", "catalog_name": "x"}),
        c.post("/databricks/jobs", json={"tenant_id": TENANT, "name": 5, "tasks": []}),
        c.post("/databricks/jobs", json={"name": "x", "tasks": []}),
        c.get("/databricks/jobs/not-a-number"),
        c.get("/databricks/jobs", params={"tenant_id": TENANT, "page_size": 0}),
        c.get("/databricks/jobs", params={"tenant_id": TENANT, "page_size": 501}),
        c.get("/databricks/jobs", params={"tenant_id": TENANT, "page_size": "ten"}),
        c.get("/databricks/jobs", params={"tenant_id": TENANT, "page_token": "garbage"}),
        c.get("/databricks/datasets"),
    ]
    for response in bad:
        assert_problem(response, 400, "INVALID_ARGUMENT")
    assert_problem(c.get("/databricks/no-such-thing"), 404, "NOT_FOUND")
    assert_problem(c.get("/databricks/jobs/424242"), 404, "NOT_FOUND")
    assert_problem(c.get("/databricks/datasets/nobody/table"), 404, "NOT_FOUND")


def test_body_over_ten_mib_is_413(emulator_client: httpx.Client) -> None:
    big = b'{"tenant_id": "' + b"x" * (10 * 1024 * 1024 + 10) + b'"}'
    response = emulator_client.post(
        "/databricks/catalogs", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_every_response_has_a_request_id(emulator_client: httpx.Client) -> None:
    first = emulator_client.get("/health")
    second = emulator_client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_page_token_of_another_list_is_rejected(emulator_client: httpx.Client) -> None:
    for number in range(3):
        make_notebook(emulator_client, f"nb{number}")
    page = ok(
        emulator_client.get("/databricks/notebooks", params={"tenant_id": TENANT, "page_size": 1})
    )
    token = page["next_page_token"]
    assert token
    response = emulator_client.get(
        "/databricks/jobs", params={"tenant_id": TENANT, "page_token": token}
    )
    assert_problem(response, 400, "INVALID_ARGUMENT")


def test_paging_survives_deletes_between_pages(emulator_client: httpx.Client) -> None:
    paths = [make_notebook(emulator_client, f"nb{n}")["path"] for n in range(5)]
    first = ok(
        emulator_client.get("/databricks/notebooks", params={"tenant_id": TENANT, "page_size": 2})
    )
    assert [n["path"] for n in first["notebooks"]] == paths[:2]
    ok(emulator_client.delete(f"/databricks/notebooks/{TENANT}", params={"path": paths[0]}))
    rest = ok(
        emulator_client.get(
            "/databricks/notebooks",
            params={"tenant_id": TENANT, "page_size": 10, "page_token": first["next_page_token"]},
        )
    )
    assert [n["path"] for n in rest["notebooks"]] == paths[2:]
    assert rest["next_page_token"] is None
    everything, pages = collect_pages(
        emulator_client, "/databricks/notebooks", "notebooks", 2, tenant_id=TENANT
    )
    assert len(everything) == 4 and pages == 2


def test_counters_count_by_route_template_and_reset(
    emulator: RunningEmulator, emulator_client: httpx.Client
) -> None:
    auth = {"Authorization": "Bearer test-key"}
    make_catalog(emulator_client)
    for job_id in (1, 2, 3):
        emulator_client.get(f"/databricks/jobs/{job_id}")
    emulator_client.get("/databricks/jobs", params={"tenant_id": TENANT})
    counters = ok(httpx.get(emulator.url + "/_emulator/counters", headers=auth))
    requests = counters["requests"]
    assert requests["GET /agentprovision/v1/databricks/jobs/{job_id}"] == 3
    assert requests["GET /agentprovision/v1/databricks/jobs"] == 1
    assert requests["POST /agentprovision/v1/databricks/catalogs"] == 1
    assert counters["total"] == sum(requests.values())
    ok(httpx.post(emulator.url + "/_emulator/reset", headers=auth), 204)
    after = ok(httpx.get(emulator.url + "/_emulator/counters", headers=auth))
    assert after == {"requests": {}, "total": 0, "faults_injected": {}}
    assert ok(emulator_client.get(f"/databricks/catalogs/{TENANT}"))["exists"] is False


def test_state_survives_restart_with_a_state_file(tmp_path) -> None:
    state = tmp_path / "state" / "emulator.json"
    headers = {"Authorization": "Bearer k"}
    with running_emulator(api_key="k", state_file=state) as first:
        c = httpx.Client(base_url=first.api_url, headers=headers)
        make_catalog(c)
        columns = [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}]
        body = {
            "tenant_id": TENANT,
            "name": "people",
            "schema": columns,
            "data": [[1, "ada"], [2, "bob"]],
        }
        ok(c.post("/databricks/datasets", json=body), 201)
        notebook = make_notebook(c)
        task = {"task_key": "t", "notebook_task": {"notebook_path": notebook["path"]}}
        job = ok(
            c.post("/databricks/jobs", json={"tenant_id": TENANT, "name": "j", "tasks": [task]}),
            201,
        )
    assert state.exists()
    with running_emulator(api_key="k", state_file=state) as second:
        c = httpx.Client(base_url=second.api_url, headers=headers)
        assert ok(c.get(f"/databricks/catalogs/{TENANT}"))["catalog_name"] == "cat_a"
        query = {
            "tenant_id": TENANT,
            "dataset_name": "people",
            "sql": "SELECT name FROM people ORDER BY id",
        }
        assert [
            r["name"] for r in ok(c.post("/databricks/datasets/query", json=query))["rows"]
        ] == ["ada", "bob"]
        assert (
            ok(c.get(f"/databricks/notebooks/{TENANT}", params={"path": notebook["path"]}))[
                "content"
            ]
            == "print('hi')"
        )
        assert ok(c.get(f"/databricks/jobs/{job['job_id']}"))["settings"]["name"] == "j"
        again = make_notebook(c, "second")
        assert again["object_id"] != notebook["object_id"]


def test_concurrent_creates_get_unique_ids(emulator: RunningEmulator) -> None:
    def create(worker: int) -> list[int]:
        with httpx.Client(
            base_url=emulator.api_url, headers={"Authorization": "Bearer test-key"}
        ) as c:
            return [make_notebook(c, f"w{worker}-{n}")["object_id"] for n in range(10)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for batch in pool.map(create, range(8)) for i in batch]
    assert len(set(ids)) == 80
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": "Bearer test-key"}) as c:
        listed, _ = collect_pages(c, "/databricks/notebooks", "notebooks", 500, tenant_id=TENANT)
    assert len(listed) == 80


def test_openapi_document_is_served(emulator: RunningEmulator) -> None:
    paths = ok(httpx.get(emulator.url + "/openapi.json"))["paths"]
    assert "/agentprovision/v1/databricks/jobs/{job_id}" in paths
    assert "/agentprovision/v1/databricks/datasets/upload" in paths
