"""schemathesis runs the whole OpenAPI document against the live emulator.

Every operation gets generated requests (valid and not), sent over real HTTP;
every answer must be documented (status, content type, body schema) and none
may be a 5xx. Half of the generated cases have their ``tenant_id`` replaced by
a seeded tenant that has one object of every kind, so generated calls reach
real objects and not only 404s;

``name``, ``job_id``, ``run_id``, ``dataset_name`` and the notebook ``path``
are aimed at seeded objects the same way.

The run is bounded: a few examples per operation, no shrinking, no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reconciler.emulator.app import create_app
from reconciler.emulator.openapi import contract_document
from reconciler.emulator.server import RunningEmulator, running_emulator

KEY = "contract-key"
TENANT = "acme"
EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[RunningEmulator, dict[str, Any]]]:
    with running_emulator(api_key=KEY, ready_delay=0.05) as emulator:
        yield emulator, _seed(emulator)


def _seed(emulator: RunningEmulator) -> dict[str, Any]:
    """One object of every kind for :data:`TENANT`; the values to aim cases at."""
    with httpx.Client(base_url=emulator.api_url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        c.post("/databricks/catalogs", json={"tenant_id": TENANT, "catalog_name": "acme"})
        columns = [{"name": "id", "type": "int"}, {"name": "v", "type": "array<float>"}]
        c.post(
            "/databricks/datasets", json={"tenant_id": TENANT, "name": "docs", "schema": columns}
        )
        note = c.post(
            "/databricks/notebooks",
            json={"tenant_id": TENANT, "name": "etl", "language": "PYTHON", "content": "1"},
        ).json()
        task = {"task_key": "t", "notebook_task": {"notebook_path": note["path"]}}
        job = c.post(
            "/databricks/jobs", json={"tenant_id": TENANT, "name": "nightly", "tasks": [task]}
        ).json()
        run = c.post(f"/databricks/jobs/{job['job_id']}/run", json={"tenant_id": TENANT}).json()
        endpoint = {"tenant_id": TENANT, "name": "scorer", "model_name": "m", "model_version": "1"}
        c.post("/databricks/serving-endpoints", json=endpoint)
        index = {
            "tenant_id": TENANT,
            "name": "docs_index",
            "source_table": "docs",
            "embedding_dimension": 3,
            "embedding_column": "v",
        }
        c.post("/databricks/vector-indexes", json=index)
    return {
        "tenant_id": TENANT,
        "dataset_name": "docs",
        "path": note["path"],
        "job_id": job["job_id"],
        "run_id": run["run_id"],
        "serving-endpoints": "scorer",
        "vector-indexes": "acme.default.docs_index",
    }


def _operations() -> list[Any]:
    schema = schemathesis.openapi.from_dict(contract_document(create_app(api_key=KEY)))
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = _operations()


def _aim(case: Any, seeds: dict[str, Any]) -> None:
    """Point the case's identifying parameters at the seeded objects."""
    for container in (case.path_parameters, case.query):
        if not isinstance(container, dict):
            continue
        for name in ("tenant_id", "dataset_name", "path", "job_id", "run_id"):
            if name in container:
                container[name] = seeds[name]
        if "name" in container:
            area = case.path.split("/")[4]
            container["name"] = seeds.get(area, container["name"])


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_operation_conforms(live: tuple[RunningEmulator, dict[str, Any]], operation: Any) -> None:
    emulator, seeds = live
    headers = {"Authorization": f"Bearer {KEY}"}

    @given(case=operation.as_strategy(), aim=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, aim: bool) -> None:
        if aim:
            _aim(case, seeds)
        case.call_and_validate(base_url=emulator.url, headers=headers, checks=CHECKS, timeout=10)

    run()
