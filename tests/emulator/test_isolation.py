"""Tenant isolation: another tenant's objects are invisible (404, never 403)."""

from __future__ import annotations

import httpx

from tests.emulator.helpers import (
    CATALOG,
    OTHER,
    OTHER_CATALOG,
    TENANT,
    assert_problem,
    make_catalog,
    make_notebook,
    ok,
)


def test_tenant_b_cannot_see_or_touch_tenant_a(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    make_catalog(c, OTHER, OTHER_CATALOG)
    ok(
        c.post(
            "/databricks/datasets",
            json={
                "tenant_id": TENANT,
                "name": "t",
                "schema": [{"name": "id", "type": "int"}, {"name": "v", "type": "array<float>"}],
            },
        ),
        201,
    )
    notebook = make_notebook(c)
    task = {"task_key": "a", "notebook_task": {"notebook_path": notebook["path"]}}
    job = ok(
        c.post("/databricks/jobs", json={"tenant_id": TENANT, "name": "j", "tasks": [task]}), 201
    )
    ok(
        c.post(
            "/databricks/serving-endpoints",
            json={"tenant_id": TENANT, "name": "ep", "model_name": "m", "model_version": "1"},
        ),
        201,
    )
    index_body = {
        "tenant_id": TENANT,
        "name": "idx",
        "source_table": "t",
        "embedding_dimension": 2,
        "embedding_column": "v",
    }
    index = ok(c.post("/databricks/vector-indexes", json=index_body), 201)

    for path, key in [
        ("/databricks/datasets", "datasets"),
        ("/databricks/notebooks", "notebooks"),
        ("/databricks/jobs", "jobs"),
        ("/databricks/serving-endpoints", "endpoints"),
        ("/databricks/vector-indexes", "vector_indexes"),
    ]:
        assert ok(c.get(path, params={"tenant_id": OTHER}))[key] == [], path
        assert len(ok(c.get(path, params={"tenant_id": TENANT}))[key]) == 1, path
        assert ok(c.get(path, params={"tenant_id": "nobody"})) == {key: [], "next_page_token": None}

    reads = [
        c.get(f"/databricks/datasets/{OTHER}/t"),
        c.patch(f"/databricks/datasets/{OTHER}/t", json={"description": "x"}),
        c.delete(f"/databricks/datasets/{OTHER}/t"),
        c.get(f"/databricks/notebooks/{OTHER}", params={"path": notebook["path"]}),
        c.put(
            f"/databricks/notebooks/{OTHER}",
            params={"path": notebook["path"]},
            json={"content": "x"},
        ),
        c.delete(f"/databricks/notebooks/{OTHER}", params={"path": notebook["path"]}),
        c.post(
            "/databricks/notebooks/execute",
            json={"tenant_id": OTHER, "notebook_path": notebook["path"]},
        ),
        c.get(f"/databricks/jobs/{job['job_id']}", params={"tenant_id": OTHER}),
        c.delete(f"/databricks/jobs/{job['job_id']}", params={"tenant_id": OTHER}),
        c.post(
            f"/databricks/jobs/{job['job_id']}/reset",
            json={"tenant_id": OTHER, "new_settings": {"name": "x"}},
        ),
        c.post(f"/databricks/jobs/{job['job_id']}/run", json={"tenant_id": OTHER}),
        c.get("/databricks/serving-endpoints/ep", params={"tenant_id": OTHER}),
        c.delete("/databricks/serving-endpoints/ep", params={"tenant_id": OTHER}),
        c.put(
            "/databricks/serving-endpoints/ep/config",
            json={
                "tenant_id": OTHER,
                "served_entities": [{"entity_name": "m", "entity_version": "2"}],
            },
        ),
        c.patch(
            "/databricks/serving-endpoints/ep/tags", json={"tenant_id": OTHER, "delete_tags": ["a"]}
        ),
        c.get(f"/databricks/vector-indexes/{index['name']}", params={"tenant_id": OTHER}),
        c.delete(f"/databricks/vector-indexes/{index['name']}", params={"tenant_id": OTHER}),
    ]
    for response in reads:
        assert_problem(response, 404, "NOT_FOUND")
    taken = {
        "tenant_id": OTHER,
        "name": "etl",
        "language": "python",
        "content": "x",
        "path": notebook["path"],
        "overwrite": True,
    }
    assert_problem(c.post("/databricks/notebooks", json=taken), 400, "INVALID_ARGUMENT")
    assert (
        ok(c.get(f"/databricks/notebooks/{TENANT}", params={"path": notebook["path"]}))["content"]
        == "print('hi')"
    )
    foreign = {**index_body, "tenant_id": OTHER, "name": f"{CATALOG}.default.idx2"}
    assert_problem(c.post("/databricks/vector-indexes", json=foreign), 400, "INVALID_ARGUMENT")
    assert (
        ok(c.get(f"/databricks/jobs/{job['job_id']}", params={"tenant_id": TENANT}))["job_id"]
        == job["job_id"]
    )
    assert ok(c.get(f"/databricks/jobs/{job['job_id']}"))["tenant_id"] == TENANT
