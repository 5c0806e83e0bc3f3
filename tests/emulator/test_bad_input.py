"""Bad input always gets a 4xx problem document, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulator.helpers import TENANT

CASES: list[Any] = [
    pytest.param("POST", "/databricks/catalogs", {"json": {"tenant_id": 5, "catalog_name": "x"}}, 400, id="wrong-type"),
    pytest.param("POST", "/databricks/catalogs", {"json": {"tenant_id": TENANT}}, 400, id="missing-field"),
    pytest.param("POST", "/databricks/catalogs", {"json": {"tenant_id": TENANT, "catalog_name": "x", "zz": 1}}, 400, id="unknown-field"),
    pytest.param("POST", "/databricks/catalogs", {"json": [1, 2]}, 400, id="array-body"),
    pytest.param("POST", "/databricks/catalogs", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, id="malformed-json"),
    pytest.param("POST", "/databricks/catalogs", {"content": b"tenant_id=x", "headers": {"content-type": "text/plain"}}, 400, id="not-json"),
    pytest.param("POST", "/databricks/catalogs", {"content": b"x" * (10 * 1024 * 1024 + 1), "headers": {"content-type": "application/json"}}, 413, id="oversized"),
    pytest.param("POST", "/databricks/jobs", {"json": {"tenant_id": TENANT, "name": 3, "tasks": "x"}}, 400, id="job-wrong-types"),
    pytest.param("POST", "/databricks/jobs", {"json": {"name": "n"}}, 400, id="job-without-tenant"),
    pytest.param("POST", "/databricks/datasets", {"json": {"tenant_id": "nobody", "name": "t", "schema": [{"name": "a", "type": "int"}]}}, 404, id="unknown-tenant"),
    pytest.param("GET", "/databricks/jobs/not-a-number", {}, 400, id="path-not-int"),
    pytest.param("GET", "/databricks/jobs", {"params": {"tenant_id": TENANT, "page_size": 100000}}, 400, id="page-size-too-large"),
    pytest.param("GET", "/databricks/jobs", {"params": {"tenant_id": TENANT, "page_token": "%%%"}}, 400, id="bad-page-token"),
    pytest.param("GET", "/databricks/jobs", {}, 400, id="list-without-tenant"),
    pytest.param("GET", "/databricks/datasets/nobody/t", {}, 404, id="read-unknown-tenant"),
    pytest.param("POST", "/databricks/serving-endpoints", {"json": {"tenant_id": TENANT, "name": "a b", "model_name": "m", "model_version": "1"}}, 400, id="bad-endpoint-name"),
    pytest.param("POST", "/databricks/vector-indexes/x/search", {"json": {"query_vector": ["a"]}}, 400, id="search-wrong-type"),
    pytest.param("POST", "/databricks/datasets/upload", {"params": {"tenant_id": TENANT, "dataset_name": "t", "format": "csv"}}, 400, id="upload-without-file"),
    pytest.param("DELETE", "/databricks/catalogs/nobody", {}, 404, id="delete-unknown"),
    pytest.param("POST", "/databricks/jobs", {"json": {"tenant_id": TENANT}, "headers": {"Idempotency-Key": "k" * 300}}, 400, id="idempotency-key-too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "kw", "status"), CASES)
def test_bad_input_is_a_4xx_problem(
    emulator_client: httpx.Client, method: str, path: str, kw: dict[str, Any], status: int
) -> None:
    response = emulator_client.request(method, path, **kw)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] and body["detail"] and body["request_id"]
