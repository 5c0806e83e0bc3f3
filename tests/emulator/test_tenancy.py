"""Every call names its tenant; another tenant's object is 404 whichever way it is asked.

Two tenants in one emulator. Tenant B's objects are read before and after a
barrage of raw connector calls made as tenant A, or naming no tenant, or
naming A in one place and B in another; B's objects must read back byte for
byte the same. The backend's calls that carry no tenant (specs/connector.md,
Tenancy) work by default and are refused under ``require_tenant``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import running_emulator
from tests.emulator.helpers import assert_problem, ok

A, B = "tenant-a", "tenant-b"
CAT_A, CAT_B = "cat_a", "cat_b"


def _client(require_tenant: bool = False) -> Iterator[httpx.Client]:
    with (
        running_emulator(api_key="k", ready_delay=0.0, require_tenant=require_tenant) as emulator,
        httpx.Client(
            base_url=emulator.api_url, headers={"Authorization": "Bearer k"}, timeout=10
        ) as client,
    ):
        yield client


@pytest.fixture
def c() -> Iterator[httpx.Client]:
    yield from _client()


@pytest.fixture
def strict() -> Iterator[httpx.Client]:
    yield from _client(require_tenant=True)


def make_tenant(c: httpx.Client, tenant: str, catalog: str) -> dict[str, Any]:
    """A catalog, a dataset with vectors, a notebook, a job with a run, an endpoint, an index."""
    ok(c.post("/databricks/catalogs", json={"tenant_id": tenant, "catalog_name": catalog}), 201)
    schema = [{"name": "id", "type": "int"}, {"name": "v", "type": "array<float>"}]
    rows = [[1, [1.0, 0.0]], [2, [0.0, 1.0]]]
    body = {"tenant_id": tenant, "name": "t", "schema": schema, "data": rows}
    ok(c.post("/databricks/datasets", json=body), 201)
    note = {"tenant_id": tenant, "name": "etl", "language": "python", "content": "1"}
    path = ok(c.post("/databricks/notebooks", json=note), 201)["path"]
    task = {"task_key": "a", "notebook_task": {"notebook_path": path}}
    job = {"tenant_id": tenant, "name": "j", "tasks": [task]}
    job_id = ok(c.post("/databricks/jobs", json=job), 201)["job_id"]
    run_id = ok(c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": tenant}))["run_id"]
    endpoint = {"tenant_id": tenant, "name": f"ep-{tenant}", "model_name": f"{catalog}.m.x"}
    ok(c.post("/databricks/serving-endpoints", json={**endpoint, "model_version": "1"}), 201)
    index = {
        "tenant_id": tenant,
        "name": "idx",
        "source_table": "t",
        "embedding_dimension": 2,
        "embedding_column": "v",
    }
    index_name = ok(c.post("/databricks/vector-indexes", json=index), 201)["name"]
    return {
        "path": path,
        "job_id": job_id,
        "run_id": run_id,
        "endpoint": f"ep-{tenant}",
        "index": index_name,
    }


def snapshot(c: httpx.Client, tenant: str, o: dict[str, Any]) -> list[bytes]:
    """The raw bytes of every read of the tenant's objects (and of its lists)."""
    reads = [
        c.get(f"/databricks/catalogs/{tenant}"),
        c.get(f"/databricks/datasets/{tenant}/t"),
        c.post(
            "/databricks/datasets/query",
            json={"tenant_id": tenant, "dataset_name": "t", "sql": "SELECT * FROM t"},
        ),
        c.get(f"/databricks/notebooks/{tenant}", params={"path": o["path"]}),
        c.get(f"/databricks/jobs/{o['job_id']}", params={"tenant_id": tenant}),
        c.get(f"/databricks/jobs/{o['job_id']}/runs", params={"tenant_id": tenant}),
        c.get(f"/databricks/serving-endpoints/{o['endpoint']}", params={"tenant_id": tenant}),
        c.get(f"/databricks/vector-indexes/{o['index']}", params={"tenant_id": tenant}),
    ]
    for items in ("datasets", "notebooks", "jobs", "serving-endpoints", "vector-indexes"):
        reads.append(c.get(f"/databricks/{items}", params={"tenant_id": tenant}))
    for response in reads:
        assert response.status_code == 200, response.text
    contents = [r.content for r in reads]
    answer = reads[2].json()  # the query's rows, without its (varying) execution time
    contents[2] = repr((answer["rows"], answer["columns"], answer["row_count"])).encode()
    return contents


def attacks_on(c: httpx.Client, o: dict[str, Any], me: str) -> list[httpx.Response]:
    """Calls by tenant ``me`` aimed at another tenant's objects ``o`` (tenant in query or body)."""
    job, run, ep, index = o["job_id"], o["run_id"], o["endpoint"], o["index"]
    q = {"tenant_id": me}
    entity = {"served_entities": [{"entity_name": "x", "entity_version": "2"}]}
    return [
        c.delete(f"/databricks/jobs/{job}", params=q),
        c.get(f"/databricks/jobs/{job}", params=q),
        c.get(f"/databricks/jobs/{job}/runs", params=q),
        c.post(f"/databricks/jobs/{job}/reset", json={**q, "new_settings": {"name": "x"}}),
        c.post(f"/databricks/jobs/{job}/reset", params=q, json={"new_settings": {"name": "x"}}),
        c.post(f"/databricks/jobs/{job}/run", json=q),
        c.post(f"/databricks/jobs/{job}/run", params=q, json={}),
        c.get(f"/databricks/runs/{run}", params=q),
        c.get(f"/databricks/notebooks/runs/{run}", params=q),
        c.post(f"/databricks/runs/{run}/cancel", params=q),
        c.post(f"/databricks/runs/{run}/cancel", json=q),
        c.delete(f"/databricks/serving-endpoints/{ep}", params=q),
        c.get(f"/databricks/serving-endpoints/{ep}", params=q),
        c.put(f"/databricks/serving-endpoints/{ep}/config", json={**q, **entity}),
        c.put(f"/databricks/serving-endpoints/{ep}/config", params=q, json=entity),
        c.patch(f"/databricks/serving-endpoints/{ep}/tags", json={**q, "add_tags": []}),
        c.patch(f"/databricks/serving-endpoints/{ep}/tags", params=q, json={"add_tags": []}),
        c.post(f"/databricks/serving-endpoints/{ep}/invoke", json={**q, "input": 1}),
        c.post(f"/databricks/serving-endpoints/{ep}/invoke", params=q, json={"input": 1}),
        c.post(f"/databricks/vector-indexes/{index}/search", json={**q, "query_vector": [1, 0]}),
        c.post(
            f"/databricks/vector-indexes/{index}/search", params=q, json={"query_vector": [1, 0]}
        ),
        c.post(f"/databricks/vector-indexes/{index}/sync", json=q),
        c.post(f"/databricks/vector-indexes/{index}/sync", params=q),
        c.get(f"/databricks/vector-indexes/{index}", params=q),
        c.delete(f"/databricks/vector-indexes/{index}", params=q),
        c.delete(f"/databricks/notebooks/{me}", params={"path": o["path"]}),
        c.put(f"/databricks/notebooks/{me}", json={"path": o["path"], "content": "x"}),
        c.post("/databricks/notebooks/execute", json={**q, "notebook_path": o["path"]}),
    ]


def test_another_tenants_objects_are_404_whichever_way_they_are_asked(c: httpx.Client) -> None:
    make_tenant(c, A, CAT_A)
    b = make_tenant(c, B, CAT_B)
    before = snapshot(c, B, b)
    for response in attacks_on(c, b, A):
        assert_problem(response, 404, "NOT_FOUND")
    assert snapshot(c, B, b) == before


def test_a_call_that_could_name_its_tenant_must(c: httpx.Client) -> None:
    b = make_tenant(c, B, CAT_B)
    before = snapshot(c, B, b)
    job, ep, index = b["job_id"], b["endpoint"], b["index"]
    entity = {"served_entities": [{"entity_name": "x", "entity_version": "2"}]}
    unnamed = [
        c.post(f"/databricks/jobs/{job}/reset", json={"new_settings": {"name": "x"}}),
        c.post(f"/databricks/jobs/{job}/run", json={}),
        c.put(f"/databricks/serving-endpoints/{ep}/config", json=entity),
        c.patch(f"/databricks/serving-endpoints/{ep}/tags", json={"delete_tags": ["a"]}),
        c.post(f"/databricks/vector-indexes/{index}/sync", json={}),
        c.get(f"/databricks/vector-indexes/{index}"),
        c.get("/databricks/jobs"),
        c.post("/databricks/vector-indexes/idx/search", json={"query_vector": [1, 0]}),
    ]
    for response in unnamed:
        assert_problem(response, 400, "INVALID_ARGUMENT")
    twice = [
        c.post(f"/databricks/jobs/{job}/run", params={"tenant_id": A}, json={"tenant_id": B}),
        c.post(
            f"/databricks/vector-indexes/{index}/search",
            params={"tenant_id": B},
            json={"tenant_id": A, "query_vector": [1, 0]},
        ),
        c.post(
            f"/databricks/runs/{b['run_id']}/cancel", params={"tenant_id": B}, json={"tenant_id": A}
        ),
    ]
    for response in twice:
        assert_problem(response, 400, "INVALID_ARGUMENT")
    assert snapshot(c, B, b) == before


def backend_calls(c: httpx.Client, o: dict[str, Any]) -> list[httpx.Response]:
    """The backend's calls that carry no tenant id (reads first, then the deletes)."""
    return [
        c.get(f"/databricks/jobs/{o['job_id']}"),
        c.get(f"/databricks/jobs/{o['job_id']}/runs"),
        c.get(f"/databricks/runs/{o['run_id']}"),
        c.get(f"/databricks/notebooks/runs/{o['run_id']}"),
        c.post(f"/databricks/runs/{o['run_id']}/cancel"),
        c.get(f"/databricks/serving-endpoints/{o['endpoint']}"),
        c.post(f"/databricks/serving-endpoints/{o['endpoint']}/invoke", json={"input": 1}),
        c.post(f"/databricks/vector-indexes/{o['index']}/search", json={"query_vector": [1, 0]}),
        c.delete(f"/databricks/vector-indexes/{o['index']}"),
        c.delete(f"/databricks/serving-endpoints/{o['endpoint']}"),
        c.delete(f"/databricks/jobs/{o['job_id']}"),
    ]


def test_the_backends_tenantless_calls_reach_the_owner_by_default(c: httpx.Client) -> None:
    b = make_tenant(c, B, CAT_B)
    for response in backend_calls(c, b):
        assert response.status_code == 200, response.text
        assert response.json() is not None


def test_require_tenant_refuses_them_too(strict: httpx.Client) -> None:
    b = make_tenant(strict, B, CAT_B)
    before = snapshot(strict, B, b)
    for response in backend_calls(strict, b):
        assert_problem(response, 400, "INVALID_ARGUMENT")
    assert snapshot(strict, B, b) == before


def test_no_squatting_in_another_tenants_namespace(c: httpx.Client) -> None:
    make_tenant(c, A, CAT_A)
    b = make_tenant(c, B, CAT_B)
    before = snapshot(c, B, b)
    note = {"tenant_id": A, "name": "x", "language": "python", "content": "1"}
    for path in [
        f"/Workspace/AgentProvision/{B}/x",
        "/Workspace/Shared/x",
        f"/Workspace/AgentProvision/{A}/../{B}/x",
        f"/Workspace/AgentProvision/{A}/x\x00",
        f"/Workspace/AgentProvision/{A}/" + "x" * 100_000,
        f"/Workspace/AgentProvision/{A}",
    ]:
        assert_problem(
            c.post("/databricks/notebooks", json={**note, "path": path}), 400, "INVALID_ARGUMENT"
        )
    endpoint = {"tenant_id": A, "name": "steal", "model_name": f"{CAT_B}.m.x", "model_version": "1"}
    assert_problem(c.post("/databricks/serving-endpoints", json=endpoint), 400, "INVALID_ARGUMENT")
    own = {**endpoint, "name": "mine", "model_name": f"{CAT_A}.m.x"}
    ok(c.post("/databricks/serving-endpoints", json=own), 201)
    config = {
        "tenant_id": A,
        "served_entities": [{"entity_name": f"{CAT_B}.m.x", "entity_version": "1"}],
    }
    assert_problem(
        c.put("/databricks/serving-endpoints/mine/config", json=config), 400, "INVALID_ARGUMENT"
    )
    index = {"tenant_id": A, "name": "i2", "source_table": f"{CAT_B}.default.t"}
    index.update(embedding_dimension=2, embedding_column="v")
    assert_problem(c.post("/databricks/vector-indexes", json=index), 400, "INVALID_ARGUMENT")
    foreign_name = {**index, "source_table": "t", "name": f"{CAT_B}.default.i2"}
    assert_problem(c.post("/databricks/vector-indexes", json=foreign_name), 400, "INVALID_ARGUMENT")
    query = {"tenant_id": A, "dataset_name": f"{CAT_B}.default.t", "sql": "SELECT 1"}
    assert_problem(c.post("/databricks/datasets/query", json=query), 400, "INVALID_ARGUMENT")
    task = {"task_key": "a", "notebook_task": {"notebook_path": b["path"]}}
    job = {"tenant_id": A, "name": "j2", "tasks": [task]}
    assert_problem(c.post("/databricks/jobs", json=job), 400, "INVALID_ARGUMENT")
    assert snapshot(c, B, b) == before
