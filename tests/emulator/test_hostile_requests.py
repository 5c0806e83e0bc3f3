"""Hostile requests get the 400 Databricks would give, never a 2xx, a 500 or a pinned core."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.server import running_emulator
from tests.emulator.helpers import CATALOG, TENANT, assert_problem, make_catalog, make_notebook, ok


@pytest.fixture
def c() -> Iterator[httpx.Client]:
    with (
        running_emulator(api_key="k", ready_delay=0.0, query_seconds=0.3) as emulator,
        httpx.Client(
            base_url=emulator.api_url, headers={"Authorization": "Bearer k"}, timeout=30
        ) as client,
    ):
        yield client


BAD_TENANTS = ["../../etc", "a\x00b", "x" * 10_000, "", " acme", "acme\n", "a/b"]
LISTS = ["datasets", "notebooks", "jobs", "serving-endpoints", "vector-indexes"]


@pytest.mark.parametrize(
    "tenant", BAD_TENANTS, ids=["dots", "nul", "10k", "empty", "space", "newline", "slash"]
)
def test_malformed_tenant_ids_are_refused_everywhere(c: httpx.Client, tenant: str) -> None:
    for items in LISTS:
        assert_problem(
            c.get(f"/databricks/{items}", params={"tenant_id": tenant}), 400, "INVALID_ARGUMENT"
        )
    assert_problem(
        c.get("/databricks/jobs/1", params={"tenant_id": tenant}), 400, "INVALID_ARGUMENT"
    )
    body = {"tenant_id": tenant, "catalog_name": "x"}
    assert_problem(c.post("/databricks/catalogs", json=body), 400, "INVALID_ARGUMENT")


def test_malformed_tenant_ids_in_paths_are_refused(c: httpx.Client) -> None:
    for path in [
        "/databricks/catalogs/a%00b",
        "/databricks/datasets/a%00b/t",
        "/databricks/notebooks/a%00b",
    ]:
        response = c.get(path, params={"path": "/Workspace/AgentProvision/a/x"})
        assert_problem(response, 400, "INVALID_ARGUMENT")
    long = "x" * 10_000
    assert_problem(c.get(f"/databricks/catalogs/{long}"), 400, "INVALID_ARGUMENT")


def test_hostile_notebook_paths_are_refused_on_every_call(c: httpx.Client) -> None:
    make_catalog(c)
    note = {"tenant_id": TENANT, "name": "x", "language": "python", "content": "1"}
    huge = f"/Workspace/AgentProvision/{TENANT}/" + "a" * 100_000
    assert_problem(
        c.post("/databricks/notebooks", json={**note, "path": huge}), 400, "INVALID_ARGUMENT"
    )
    assert_problem(
        c.put(f"/databricks/notebooks/{TENANT}", json={"path": huge, "content": "x"}),
        400,
        "INVALID_ARGUMENT",
    )
    for path in ["/Workspace/AgentProvision/tenant-a/x\x00", "/" + "a" * 5_000]:
        assert_problem(
            c.get(f"/databricks/notebooks/{TENANT}", params={"path": path}), 400, "INVALID_ARGUMENT"
        )
        put = {"path": path, "content": "x"}
        assert_problem(c.put(f"/databricks/notebooks/{TENANT}", json=put), 400, "INVALID_ARGUMENT")
        assert_problem(
            c.delete(f"/databricks/notebooks/{TENANT}", params={"path": path}),
            400,
            "INVALID_ARGUMENT",
        )


def test_a_job_with_ten_thousand_tasks_is_refused(c: httpx.Client) -> None:
    make_catalog(c)
    path = make_notebook(c)["path"]
    tasks = [
        {
            "task_key": f"t{i}",
            "notebook_task": {"notebook_path": path},
            **({"depends_on": [{"task_key": f"t{i - 1}"}]} if i else {}),
        }
        for i in range(10_000)
    ]
    body = {"tenant_id": TENANT, "name": "huge", "tasks": tasks}
    assert (
        "at most 1000 tasks"
        in assert_problem(c.post("/databricks/jobs", json=body), 400, "INVALID_ARGUMENT")["detail"]
    )
    chained = {**body, "tasks": tasks[:1000]}  # the longest chain allowed: no stack overflow
    ok(c.post("/databricks/jobs", json=chained), 201)


def test_catalog_properties_are_bounded(c: httpx.Client) -> None:
    many = {f"k{i}": "v" for i in range(100_000)}
    body = {"tenant_id": TENANT, "catalog_name": CATALOG, "properties": many}
    assert_problem(c.post("/databricks/catalogs", json=body), 400, "INVALID_ARGUMENT")
    make_catalog(c)
    assert_problem(
        c.patch(f"/databricks/catalogs/{TENANT}", json={"properties": many}),
        400,
        "INVALID_ARGUMENT",
    )
    assert ok(c.get(f"/databricks/catalogs/{TENANT}"))["properties"] == {}


def _table(c: httpx.Client) -> None:
    make_catalog(c)
    schema = [{"name": "id", "type": "int"}, {"name": "v", "type": "array<float>"}]
    body = {"tenant_id": TENANT, "name": "t", "schema": schema, "data": [[1, [1.0, 0.0]]]}
    ok(c.post("/databricks/datasets", json=body), 201)


def test_nul_in_an_uploaded_csv_is_refused(c: httpx.Client) -> None:
    _table(c)
    params = {"tenant_id": TENANT, "dataset_name": "t", "format": "csv"}
    content = b'id,v\n1,"[1, 2]"\n2\x00,"[3, 4]"\n'
    response = c.post(
        "/databricks/datasets/upload", params=params, files={"file": ("t.csv", content)}
    )
    assert "NUL byte (line 3)" in assert_problem(response, 400, "INVALID_ARGUMENT")["detail"]
    assert ok(c.get(f"/databricks/datasets/{TENANT}/t"))["row_count"] == 1


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_query_vector_are_refused(c: httpx.Client, number: str) -> None:
    _table(c)
    index = {
        "tenant_id": TENANT,
        "name": "i",
        "source_table": "t",
        "embedding_dimension": 2,
        "embedding_column": "v",
    }
    ok(c.post("/databricks/vector-indexes", json=index), 201)
    raw = f'{{"tenant_id": "{TENANT}", "query_vector": [{number}, 0.5]}}'
    response = c.post(
        f"/databricks/vector-indexes/{CATALOG}.default.i/search",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "INVALID_ARGUMENT")


def test_a_runaway_query_is_stopped_and_answered_400(c: httpx.Client) -> None:
    _table(c)
    runaway = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    )
    body = {"tenant_id": TENANT, "dataset_name": "t", "sql": runaway}
    detail = assert_problem(
        c.post("/databricks/datasets/query", json=body), 400, "INVALID_ARGUMENT"
    )["detail"]
    assert "stopped after 0.3 s" in detail
    rows = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 20000) SELECT x FROM n"
    body["sql"] = rows
    assert (
        "more than 10000 rows"
        in assert_problem(c.post("/databricks/datasets/query", json=body), 400, "INVALID_ARGUMENT")[
            "detail"
        ]
    )
    big = "WITH RECURSIVE s(x) AS (SELECT 'a' UNION ALL SELECT x || x FROM s LIMIT 40) SELECT length(max(x)) FROM s"
    body["sql"] = big
    assert_problem(c.post("/databricks/datasets/query", json=body), 400, "INVALID_ARGUMENT")
    body["sql"] = "SELECT count(*) AS n FROM t"
    assert ok(c.post("/databricks/datasets/query", json=body))["rows"] == [{"n": 1}]
