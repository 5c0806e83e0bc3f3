"""Serving endpoints and vector indexes: readiness over time, updates, search."""

from __future__ import annotations

import httpx

from tests.emulator.helpers import (
    CATALOG,
    TENANT,
    assert_problem,
    collect_pages,
    make_catalog,
    ok,
    wait_for,
)


def make_endpoint(client: httpx.Client, name: str = "scorer", tenant: str = TENANT) -> dict:
    body = {
        "tenant_id": tenant,
        "name": name,
        "model_name": "churn",
        "model_version": "3",
        "tags": {"team": "ml"},
        "managed_by": "agentprovision-reconciler",
    }
    return ok(client.post("/databricks/serving-endpoints", json=body), 201)


def endpoint(client: httpx.Client, name: str = "scorer") -> dict:
    return ok(client.get(f"/databricks/serving-endpoints/{name}", params={"tenant_id": TENANT}))


def test_endpoint_deploys_after_the_ready_delay(emulator_client: httpx.Client) -> None:
    c = emulator_client
    created = make_endpoint(c)
    assert created["state"] == {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}
    assert created["id"] and created["creator"] and created["creation_timestamp"] > 0
    assert created["tags"] == [{"key": "team", "value": "ml"}]
    assert created["managed_by"] == "agentprovision-reconciler"
    entity = created["pending_config"]["served_entities"][0]
    assert (entity["workload_size"], entity["scale_to_zero_enabled"]) == ("Small", True)
    assert created["config"]["served_entities"][0]["state"]["deployment"] == "DEPLOYMENT_CREATING"
    assert_problem(
        c.post("/databricks/serving-endpoints/scorer/invoke", json={"input": [1]}), 409, "CONFLICT"
    )
    update = {
        "tenant_id": TENANT,
        "served_entities": [{"entity_name": "churn", "entity_version": "4"}],
    }
    assert_problem(
        c.put("/databricks/serving-endpoints/scorer/config", json=update), 409, "CONFLICT"
    )
    wait_for(lambda: endpoint(c)["state"]["ready"] == "READY")
    ready = endpoint(c)
    assert ready["state"]["config_update"] == "NOT_UPDATING" and "pending_config" not in ready
    config = ready["config"]
    assert config["config_version"] == 1
    assert config["served_entities"][0]["state"]["deployment"] == "DEPLOYMENT_READY"
    assert config["traffic_config"]["routes"] == [
        {"served_model_name": entity["name"], "traffic_percentage": 100}
    ]
    prediction = ok(
        c.post("/databricks/serving-endpoints/scorer/invoke", json={"input": [{"x": 1}, {"x": 2}]})
    )
    assert len(prediction["predictions"]) == 2


def test_endpoint_config_update_keeps_serving(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_endpoint(c)
    wait_for(lambda: endpoint(c)["state"]["ready"] == "READY")
    update = {
        "tenant_id": TENANT,
        "served_entities": [
            {
                "name": "a",
                "entity_name": "churn",
                "entity_version": "4",
                "workload_size": "Medium",
                "scale_to_zero_enabled": False,
            },
            {"name": "b", "entity_name": "churn", "entity_version": "3"},
        ],
        "traffic_config": {
            "routes": [
                {"served_model_name": "a", "traffic_percentage": 90},
                {"served_model_name": "b", "traffic_percentage": 10},
            ]
        },
    }
    updating = ok(c.put("/databricks/serving-endpoints/scorer/config", json=update))
    assert updating["state"] == {"ready": "READY", "config_update": "IN_PROGRESS"}
    assert updating["config"]["config_version"] == 1
    assert updating["pending_config"]["config_version"] == 2
    wait_for(lambda: endpoint(c)["state"]["config_update"] == "NOT_UPDATING")
    settled = endpoint(c)["config"]
    assert settled["config_version"] == 2
    assert [e["workload_size"] for e in settled["served_entities"]] == ["Medium", "Small"]
    bad_traffic = {
        **update,
        "traffic_config": {"routes": [{"served_model_name": "a", "traffic_percentage": 50}]},
    }
    assert_problem(
        c.put("/databricks/serving-endpoints/scorer/config", json=bad_traffic),
        400,
        "INVALID_ARGUMENT",
    )
    tags = ok(
        c.patch(
            "/databricks/serving-endpoints/scorer/tags",
            json={
                "tenant_id": TENANT,
                "add_tags": [{"key": "env", "value": "prod"}],
                "delete_tags": ["team"],
            },
        )
    )
    assert tags == {"tags": [{"key": "env", "value": "prod"}]}


def test_endpoint_names_paging_and_delete(emulator_client: httpx.Client) -> None:
    c = emulator_client
    for number in range(5):
        make_endpoint(c, f"ep-{number}")
    items, pages = collect_pages(
        c, "/databricks/serving-endpoints", "endpoints", 2, tenant_id=TENANT
    )
    assert [e["name"] for e in items] == [f"ep-{n}" for n in range(5)] and pages == 3
    assert_problem(
        c.post(
            "/databricks/serving-endpoints",
            json={"tenant_id": "tenant-b", "name": "ep-0", "model_name": "m", "model_version": "1"},
        ),
        409,
        "ALREADY_EXISTS",
    )
    for name in ("", "x" * 64, "bad name", "dots.not.allowed"):
        body = {"tenant_id": TENANT, "name": name, "model_name": "m", "model_version": "1"}
        assert_problem(c.post("/databricks/serving-endpoints", json=body), 400, "INVALID_ARGUMENT")
    size = {
        "tenant_id": TENANT,
        "name": "sized",
        "model_name": "m",
        "model_version": "1",
        "workload_size": "Huge",
    }
    assert_problem(c.post("/databricks/serving-endpoints", json=size), 400, "INVALID_ARGUMENT")
    ok(c.delete("/databricks/serving-endpoints/ep-0", params={"tenant_id": TENANT}))
    assert_problem(
        c.delete("/databricks/serving-endpoints/ep-0", params={"tenant_id": TENANT}),
        404,
        "NOT_FOUND",
    )
    assert_problem(c.get("/databricks/serving-endpoints/ep-0"), 404, "NOT_FOUND")


def make_source(client: httpx.Client) -> None:
    make_catalog(client)
    columns = [
        {"name": "id", "type": "bigint"},
        {"name": "text", "type": "string"},
        {"name": "extra", "type": "int"},
        {"name": "embedding", "type": "array<float>"},
    ]
    rows = [[n, f"doc {n}", n, [float(n), 0.0, 1.0]] for n in range(4)]
    body = {"tenant_id": TENANT, "name": "docs", "schema": columns, "data": rows}
    ok(client.post("/databricks/datasets", json=body), 201)


def make_index(client: httpx.Client, name: str = "docs_index", pipeline: str = "TRIGGERED") -> dict:
    body = {
        "tenant_id": TENANT,
        "name": name,
        "endpoint_name": "vs-endpoint",
        "primary_key": "id",
        "delta_sync_index_spec": {
            "source_table": f"{CATALOG}.default.docs",
            "pipeline_type": pipeline,
            "embedding_source_columns": [{"name": "text", "embedding_model_endpoint_name": "bge"}],
            "columns_to_sync": ["id", "text"],
        },
        "managed_by": "agentprovision-reconciler",
    }
    return ok(client.post("/databricks/vector-indexes", json=body), 201)


def index(client: httpx.Client, name: str) -> dict:
    return ok(client.get(f"/databricks/vector-indexes/{name}", params={"tenant_id": TENANT}))


def test_vector_index_life_cycle(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_source(c)
    created = make_index(c)
    name = f"{CATALOG}.default.docs_index"
    assert created["name"] == name and created["index_type"] == "DELTA_SYNC"
    assert created["status"]["ready"] is False and created["status"]["indexed_row_count"] == 0
    assert created["delta_sync_index_spec"]["pipeline_id"] and created["creator"]
    assert created["managed_by"] == "agentprovision-reconciler"
    search = {"tenant_id": TENANT, "query_text": "hello", "num_results": 2}
    assert_problem(
        c.post(f"/databricks/vector-indexes/{name}/search", json=search), 409, "CONFLICT"
    )
    wait_for(lambda: index(c, name)["status"]["ready"])
    assert index(c, name)["status"]["indexed_row_count"] == 4
    found = ok(c.post(f"/databricks/vector-indexes/{name}/search", json=search))
    assert found["manifest"]["columns"] == [{"name": "id"}, {"name": "text"}, {"name": "score"}]
    assert found["manifest"]["column_count"] == 3 and found["result"]["row_count"] == 2
    assert len(found["result"]["data_array"][0]) == 3
    both = {"query_text": "a", "query_vector": [0.1]}
    assert_problem(
        c.post(f"/databricks/vector-indexes/{name}/search", json=both), 400, "INVALID_ARGUMENT"
    )
    ok(c.post(f"/databricks/vector-indexes/{name}/sync", json={"tenant_id": TENANT}))
    short = {
        "tenant_id": TENANT,
        "name": "vec",
        "source_table": "docs",
        "embedding_dimension": 3,
        "embedding_column": "embedding",
    }
    short_index = ok(c.post("/databricks/vector-indexes", json=short), 201)
    spec = short_index["delta_sync_index_spec"]
    assert spec["embedding_vector_columns"] == [{"name": "embedding", "embedding_dimension": 3}]
    assert spec["pipeline_type"] == "TRIGGERED" and short_index["primary_key"] == "id"
    wrong_size = {"tenant_id": TENANT, "query_vector": [0.1, 0.2]}
    assert_problem(
        c.post(f"/databricks/vector-indexes/{short_index['name']}/search", json=wrong_size),
        400,
        "INVALID_ARGUMENT",
    )
    make_index(c, "live", pipeline="CONTINUOUS")
    assert_problem(
        c.post(f"/databricks/vector-indexes/{CATALOG}.default.live/sync", json={}),
        400,
        "INVALID_ARGUMENT",
    )
    items, pages = collect_pages(
        c, "/databricks/vector-indexes", "vector_indexes", 2, tenant_id=TENANT
    )
    assert [i["name"].rsplit(".", 1)[1] for i in items] == [
        "docs_index",
        "vec",
        "live",
    ] and pages == 2
    assert_problem(c.post("/databricks/vector-indexes", json=short), 409, "ALREADY_EXISTS")
    ok(c.delete(f"/databricks/vector-indexes/{name}", params={"tenant_id": TENANT}))
    assert_problem(
        c.delete(f"/databricks/vector-indexes/{name}", params={"tenant_id": TENANT}),
        404,
        "NOT_FOUND",
    )


def test_vector_index_input_is_checked(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_source(c)
    spec = {
        "source_table": "docs",
        "embedding_source_columns": [{"name": "text", "embedding_model_endpoint_name": "bge"}],
    }
    base = {"tenant_id": TENANT, "name": "i", "primary_key": "id", "delta_sync_index_spec": spec}
    bad = [
        {"name": "other_catalog.default.i"},
        {"primary_key": "missing"},
        {"delta_sync_index_spec": {**spec, "source_table": "nope"}},
        {
            "delta_sync_index_spec": {
                **spec,
                "embedding_vector_columns": [{"name": "v", "embedding_dimension": 3}],
            }
        },
        {"delta_sync_index_spec": {"source_table": "docs"}},
        {
            "delta_sync_index_spec": {
                **spec,
                "embedding_source_columns": [
                    {"name": "extra", "embedding_model_endpoint_name": "bge"}
                ],
            }
        },
        {"delta_sync_index_spec": {**spec, "pipeline_type": "SOMETIMES"}},
        {"delta_sync_index_spec": {**spec, "columns_to_sync": ["ghost"]}},
        {"index_type": "DIRECT_ACCESS"},
    ]
    for change in bad:
        assert_problem(
            c.post("/databricks/vector-indexes", json={**base, **change}), 400, "INVALID_ARGUMENT"
        )
    no_catalog = {**base, "tenant_id": "tenant-b"}
    assert_problem(c.post("/databricks/vector-indexes", json=no_catalog), 404, "NOT_FOUND")


def _exact_neighbours(
    rows: list[list[object]], query: list[float], k: int
) -> list[tuple[int, float]]:
    """The test's own exact k nearest rows by squared L2 distance, with Databricks' score
    ``1 / (1 + d²)``; ties by row order."""
    scored = []
    for position, (key, vector) in enumerate((row[0], row[1]) for row in rows):
        assert isinstance(vector, list)
        distance = sum((float(a) - b) ** 2 for a, b in zip(vector, query, strict=True))
        scored.append((distance, position, int(key), 1.0 / (1.0 + distance)))  # type: ignore[arg-type]
    scored.sort()
    return [(key, score) for _, _, key, score in scored[:k]]


def test_vector_search_returns_the_exact_nearest_neighbours(emulator_client: httpx.Client) -> None:
    """Fixed vectors, several queries: the top k are exactly the nearest rows computed here,
    best first, each with the score Databricks gives for L2 similarity."""
    c = emulator_client
    make_catalog(c)
    columns = [{"name": "id", "type": "bigint"}, {"name": "v", "type": "array<float>"}]
    rows: list[list[object]] = [
        [1, [0.0, 0.0, 0.0]],
        [2, [1.0, 0.0, 0.0]],
        [3, [0.0, 2.0, 0.0]],
        [4, [0.5, 0.5, 0.5]],
        [5, [-1.0, -1.0, 3.0]],
        [6, [0.9, 0.1, 0.0]],
        [7, [2.5, -0.5, 1.5]],
        [8, [0.0, 0.0, -2.0]],
    ]
    table = {"tenant_id": TENANT, "name": "points", "schema": columns, "data": rows}
    ok(c.post("/databricks/datasets", json=table), 201)
    body = {
        "tenant_id": TENANT,
        "name": "points_index",
        "source_table": "points",
        "embedding_dimension": 3,
        "embedding_column": "v",
    }
    name = ok(c.post("/databricks/vector-indexes", json=body), 201)["name"]
    wait_for(lambda: index(c, name)["status"]["ready"])
    for query, k in [
        ([0.8, 0.2, 0.1], 3),
        ([0.0, 1.5, 0.2], 2),
        ([-0.5, -0.5, 2.0], 4),
        ([10.0, 10.0, 10.0], 8),
    ]:
        search = {"tenant_id": TENANT, "query_vector": query, "num_results": k, "columns": ["id"]}
        found = ok(c.post(f"/databricks/vector-indexes/{name}/search", json=search))
        names = [column["name"] for column in found["manifest"]["columns"]]
        assert names == ["id", "score"]
        got = [(int(row[0]), float(row[1])) for row in found["result"]["data_array"]]
        expected = _exact_neighbours(rows, query, k)
        assert [key for key, _ in got] == [key for key, _ in expected], query
        for (_, score), (_, wanted) in zip(got, expected, strict=True):
            assert abs(score - wanted) < 1e-9, (query, score, wanted)
