"""The objects the emulator returns are real Databricks shapes.

Each object goes through the databricks-sdk dataclass for it and back; every
key the emulator returns must survive with its value. The SDK leaves empty
collections out of ``as_dict``, so those are compared as absent (and every
top-level key must still be a field of the dataclass).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from databricks.sdk.service.jobs import JobSettings
from databricks.sdk.service.serving import ServingEndpointDetailed
from databricks.sdk.service.vectorsearch import VectorIndex

from tests.emulator.helpers import CATALOG, TENANT, make_catalog, make_notebook, ok, wait_for

OUR_KEYS = ("tenant_id", "managed_by", "etag")


def without_empties(value: Any) -> Any:
    """``value`` with empty dicts/lists and None values removed, recursively."""
    if isinstance(value, dict):
        cleaned = {k: without_empties(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [without_empties(v) for v in value]
    return value


def assert_round_trip(cls: type, obj: dict[str, Any]) -> None:
    """Every key of ``obj`` is a field of ``cls`` and survives ``from_dict``/``as_dict``."""
    assert set(obj) <= {f.name for f in dataclasses.fields(cls)}
    assert without_empties(cls.from_dict(obj).as_dict()) == without_empties(obj)


def strip_ours(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in OUR_KEYS}


def test_job_settings_round_trip_through_the_sdk(emulator_client: httpx.Client) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]
    body = {
        "tenant_id": TENANT,
        "name": "nightly",
        "tags": {"team": "data"},
        "email_notifications": {"on_failure": ["ops@example.com"]},
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?"},
        "tasks": [
            {
                "task_key": "a",
                "notebook_task": {"notebook_path": path, "base_parameters": {"x": "1"}},
            },
            {
                "task_key": "b",
                "depends_on": [{"task_key": "a"}],
                "max_retries": 1,
                "notebook_task": {"notebook_path": path},
            },
        ],
    }
    job_id = ok(c.post("/databricks/jobs", json=body), 201)["job_id"]
    settings = ok(c.get(f"/databricks/jobs/{job_id}"))["settings"]
    assert_round_trip(JobSettings, settings)
    minimal = {
        "tenant_id": TENANT,
        "name": "bare",
        "tasks": [{"task_key": "only", "notebook_task": {"notebook_path": path}}],
    }
    job_id = ok(c.post("/databricks/jobs", json=minimal), 201)["job_id"]
    settings = ok(c.get(f"/databricks/jobs/{job_id}"))["settings"]
    assert_round_trip(JobSettings, settings)


def test_serving_endpoint_round_trips_through_the_sdk(emulator_client: httpx.Client) -> None:
    c = emulator_client
    body = {
        "tenant_id": TENANT,
        "name": "scorer",
        "model_name": "churn",
        "model_version": "1",
        "tags": {"a": "b"},
    }
    created = ok(c.post("/databricks/serving-endpoints", json=body), 201)
    assert "pending_config" in created
    endpoint = strip_ours(created)
    assert_round_trip(ServingEndpointDetailed, endpoint)
    wait_for(lambda: ok(c.get("/databricks/serving-endpoints/scorer"))["state"]["ready"] == "READY")
    endpoint = strip_ours(ok(c.get("/databricks/serving-endpoints/scorer")))
    assert_round_trip(ServingEndpointDetailed, endpoint)


def test_vector_index_round_trips_through_the_sdk(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    columns = [{"name": "id", "type": "bigint"}, {"name": "text", "type": "string"}]
    ok(
        c.post(
            "/databricks/datasets", json={"tenant_id": TENANT, "name": "docs", "schema": columns}
        ),
        201,
    )
    body = {
        "tenant_id": TENANT,
        "name": f"{CATALOG}.default.idx",
        "primary_key": "id",
        "delta_sync_index_spec": {
            "source_table": f"{CATALOG}.default.docs",
            "pipeline_type": "TRIGGERED",
            "embedding_source_columns": [{"name": "text", "embedding_model_endpoint_name": "bge"}],
            "columns_to_sync": ["id", "text"],
        },
    }
    index = strip_ours(ok(c.post("/databricks/vector-indexes", json=body), 201))
    assert_round_trip(VectorIndex, index)
