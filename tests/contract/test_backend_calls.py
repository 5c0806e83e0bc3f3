"""The AgentProvision backend's own calls work against the emulator, as the backend makes them.

:class:`BackendCalls` writes down the call shapes of the backend's connector
client (``apps/api/app/services/mcp_client.py``) from the compatibility table
in ``specs/connector.md``: the same paths, methods and bodies, the same
missing tenant ids where the backend sends none, and the same habit of
``raise_for_status()`` followed by ``.json()`` on every answer, deletes
included. The test drives all 26 calls in the table's order over real HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator, running_emulator

TENANT = "3f2c9a4e-5b1d-4c7e-9a8b-1d2e3f4a5b6c"  # the backend's tenant ids are UUIDs
DIMENSION = 1536  # the backend's vector stores keep 1536-dimensional embeddings


class BackendCalls:
    """The backend's connector calls, one method each, answering ``response.json()``."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            timeout=30.0,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )

    def _request(self, method: str, endpoint: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"/agentprovision/v1{endpoint}", **kwargs)
        response.raise_for_status()
        return response.json()

    def health_check(self) -> Any:
        return self._request("GET", "/health")

    def create_tenant_catalog(self, tenant_id: str, catalog_name: str) -> Any:
        body = {
            "tenant_id": tenant_id,
            "catalog_name": catalog_name,
            "comment": f"Catalog for tenant {tenant_id}",
        }
        return self._request("POST", "/databricks/catalogs", json=body)

    def get_catalog_status(self, tenant_id: str) -> Any:
        return self._request("GET", f"/databricks/catalogs/{tenant_id}")

    def create_dataset(
        self, tenant_id: str, dataset_name: str, schema: list[dict[str, str]], data: list[Any]
    ) -> Any:
        body = {"tenant_id": tenant_id, "name": dataset_name, "schema": schema, "data": data}
        return self._request("POST", "/databricks/datasets", json=body)

    def get_dataset_metadata(self, tenant_id: str, dataset_name: str) -> Any:
        return self._request("GET", f"/databricks/datasets/{tenant_id}/{dataset_name}")

    def query_dataset(self, tenant_id: str, dataset_name: str, limit: int = 100) -> Any:
        body = {
            "tenant_id": tenant_id,
            "dataset_name": dataset_name,
            "sql": f"SELECT * FROM {dataset_name} LIMIT {limit}",
        }
        return self._request("POST", "/databricks/datasets/query", json=body)

    def delete_dataset(self, tenant_id: str, dataset_name: str) -> Any:
        return self._request("DELETE", f"/databricks/datasets/{tenant_id}/{dataset_name}")

    def create_notebook(self, tenant_id: str, name: str, language: str, content: str) -> Any:
        body = {"tenant_id": tenant_id, "name": name, "language": language, "content": content}
        return self._request("POST", "/databricks/notebooks", json=body)

    def get_notebook(self, tenant_id: str, notebook_path: str) -> Any:
        return self._request(
            "GET", f"/databricks/notebooks/{tenant_id}", params={"path": notebook_path}
        )

    def update_notebook(self, tenant_id: str, notebook_path: str, content: str) -> Any:
        body = {"path": notebook_path, "content": content}
        return self._request("PUT", f"/databricks/notebooks/{tenant_id}", json=body)

    def execute_notebook(self, tenant_id: str, notebook_path: str, parameters: Any) -> Any:
        body = {"tenant_id": tenant_id, "notebook_path": notebook_path, "parameters": parameters}
        return self._request("POST", "/databricks/notebooks/execute", json=body)

    def get_notebook_run_status(self, run_id: Any) -> Any:
        return self._request("GET", f"/databricks/notebooks/runs/{run_id}")

    def delete_notebook(self, tenant_id: str, notebook_path: str) -> Any:
        return self._request(
            "DELETE", f"/databricks/notebooks/{tenant_id}", params={"path": notebook_path}
        )

    def create_job(self, tenant_id: str, job_name: str, tasks: list[Any], schedule: Any) -> Any:
        body = {"tenant_id": tenant_id, "name": job_name, "tasks": tasks, "schedule": schedule}
        return self._request("POST", "/databricks/jobs", json=body)

    def run_job(self, tenant_id: str, job_id: Any, parameters: Any) -> Any:
        body = {"tenant_id": tenant_id, "job_parameters": parameters or {}}
        return self._request("POST", f"/databricks/jobs/{job_id}/run", json=body)

    def get_job_run_status(self, run_id: Any) -> Any:
        return self._request("GET", f"/databricks/runs/{run_id}")

    def list_job_runs(self, job_id: Any, limit: int = 25) -> Any:
        return self._request("GET", f"/databricks/jobs/{job_id}/runs", params={"limit": limit})

    def get_job_status(self, job_id: Any) -> Any:
        return self._request("GET", f"/databricks/jobs/{job_id}")

    def delete_job(self, job_id: Any) -> Any:
        return self._request("DELETE", f"/databricks/jobs/{job_id}")

    def deploy_model(
        self, tenant_id: str, model_name: str, model_version: str, endpoint_name: str
    ) -> Any:
        body = {
            "tenant_id": tenant_id,
            "name": endpoint_name,
            "model_name": model_name,
            "model_version": model_version,
            "workload_size": "Small",
            "scale_to_zero_enabled": True,
        }
        return self._request("POST", "/databricks/serving-endpoints", json=body)

    def get_endpoint_status(self, endpoint_name: str) -> Any:
        return self._request("GET", f"/databricks/serving-endpoints/{endpoint_name}")

    def invoke_model(self, endpoint_name: str, input_data: Any) -> Any:
        body = {"input": input_data}
        return self._request(
            "POST", f"/databricks/serving-endpoints/{endpoint_name}/invoke", json=body
        )

    def delete_endpoint(self, endpoint_name: str) -> Any:
        return self._request("DELETE", f"/databricks/serving-endpoints/{endpoint_name}")

    def create_vector_index(
        self, tenant_id: str, index_name: str, source_table: str, dimension: int
    ) -> Any:
        body = {
            "tenant_id": tenant_id,
            "name": index_name,
            "source_table": source_table,
            "embedding_dimension": dimension,
            "embedding_column": "embedding",
        }
        return self._request("POST", "/databricks/vector-indexes", json=body)

    def search_vectors(self, index_name: str, query_vector: list[float], num_results: int) -> Any:
        body = {"query_vector": query_vector, "num_results": num_results}
        return self._request("POST", f"/databricks/vector-indexes/{index_name}/search", json=body)

    def delete_vector_index(self, index_name: str) -> Any:
        return self._request("DELETE", f"/databricks/vector-indexes/{index_name}")


def unit_vector(seed: int) -> list[float]:
    """A deterministic unit vector of the backend's dimension, mostly along axis ``seed``."""
    raw = [math.sin(seed * 7.0 + i) * 0.01 for i in range(DIMENSION)]
    raw[seed] = 1.0
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


@pytest.fixture
def backend() -> Iterator[BackendCalls]:
    running: RunningEmulator
    with running_emulator(api_key="backend-key", ready_delay=0.0) as running:
        calls = BackendCalls(running.url, "backend-key")
        yield calls
        calls.http.close()


def test_the_backends_26_calls_work_as_it_makes_them(backend: BackendCalls) -> None:
    b = backend
    assert b.health_check()["status"] == "healthy"  # 1
    assert b.create_tenant_catalog(TENANT, "tenant_3f2c")["catalog_name"] == "tenant_3f2c"  # 2
    assert b.get_catalog_status(TENANT)["exists"] is True  # 3

    schema = [
        {"name": "id", "type": "string"},
        {"name": "content", "type": "string"},
        {"name": "embedding", "type": "array<float>"},
    ]
    articles = ["returns policy", "shipping times", "warranty claims"]
    data = [
        {"id": f"doc-{i}", "content": text, "embedding": unit_vector(i)}
        for i, text in enumerate(articles)
    ]
    created = b.create_dataset(TENANT, "knowledge_base", schema, data)  # 4
    assert created["table_path"] == "tenant_3f2c.default.knowledge_base"
    metadata = b.get_dataset_metadata(TENANT, "knowledge_base")  # 5
    assert [c["type_text"] for c in metadata["columns"]] == ["string", "string", "array<float>"]
    assert metadata["row_count"] == 3
    queried = b.query_dataset(TENANT, "knowledge_base")  # 6
    assert queried["row_count"] == 3
    assert queried["rows"][1]["embedding"] == pytest.approx(unit_vector(1), rel=1e-6)

    notebook = b.create_notebook(TENANT, "analysis", "python", "# New notebook\n")  # 7
    path = notebook["path"]
    assert path == f"/Workspace/AgentProvision/{TENANT}/analysis"
    assert b.get_notebook(TENANT, path)["content"] == "# New notebook\n"  # 8
    updated = b.update_notebook(TENANT, path, "print('updated')\n")  # 9
    assert updated["path"] == path
    assert b.get_notebook(TENANT, path)["content"] == "print('updated')\n"
    execution = b.execute_notebook(TENANT, path, {"date": "2026-01-01"})  # 10
    status = b.get_notebook_run_status(execution["run_id"])  # 11
    assert status["result_state"] == "SUCCESS"

    tasks = [{"task_key": "main", "notebook_task": {"notebook_path": path}}]
    job = b.create_job(TENANT, "nightly-analysis", tasks, None)  # 12
    run = b.run_job(TENANT, job["job_id"], {"day": "monday"})  # 13
    assert b.get_job_run_status(run["run_id"])["life_cycle_state"] == "TERMINATED"  # 14
    runs = b.list_job_runs(job["job_id"])  # 15
    assert [r["run_id"] for r in runs["runs"]] == [run["run_id"]]
    assert b.get_job_status(job["job_id"])["settings"]["name"] == "nightly-analysis"  # 16
    assert b.delete_job(job["job_id"]) == {  # 17
        "deleted": "job",
        "id": str(job["job_id"]),
        "tenant_id": TENANT,
    }

    endpoint = b.deploy_model(TENANT, "tenant_3f2c.default.support_agent", "1", "support-agent")
    assert endpoint["name"] == "support-agent"  # 18
    assert b.get_endpoint_status("support-agent")["state"]["ready"] == "READY"  # 19
    assert len(b.invoke_model("support-agent", {"question": "hi"})["predictions"]) == 1  # 20
    assert b.delete_endpoint("support-agent")["deleted"] == "serving_endpoint"  # 21

    index = b.create_vector_index(TENANT, "kb_index", created["table_path"], DIMENSION)  # 22
    assert index["name"] == "tenant_3f2c.default.kb_index"
    found = b.search_vectors(index["name"], unit_vector(2), 2)  # 23
    assert found["result"]["data_array"][0][0] == "doc-2"
    assert b.delete_vector_index(index["name"])["deleted"] == "vector_index"  # 24

    assert b.delete_notebook(TENANT, path)["deleted"] == "notebook"  # 25
    assert b.delete_dataset(TENANT, "knowledge_base")["deleted"] == "dataset"  # 26
