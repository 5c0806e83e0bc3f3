"""Observing a tenant costs one list page per kind per page of objects, plus a constant.

The emulator counts requests by route. A tenant with hundreds of objects is
observed once; the counters must show only list calls (one per page of
``page_size`` objects, per kind) and the one catalog read, never a GET per
resource. Another tenant's objects cost nothing.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.kinds.base import TenantContext
from reconciler.mcp.client import ConnectorClient
from reconciler.reconcile import observe_tenant

KEY = "cost-key"
PAGE = 100  # the page size the kinds ask for
SIZES = {"notebooks": 230, "jobs": 120, "datasets": 101, "endpoints": 7, "indexes": 3}
LISTS = {
    "notebooks": "GET /agentprovision/v1/databricks/notebooks",
    "jobs": "GET /agentprovision/v1/databricks/jobs",
    "datasets": "GET /agentprovision/v1/databricks/datasets",
    "endpoints": "GET /agentprovision/v1/databricks/serving-endpoints",
    "indexes": "GET /agentprovision/v1/databricks/vector-indexes",
}
CONSTANT = {"GET /agentprovision/v1/databricks/catalogs/{tenant_id}": 1}


def _populate(c: httpx.Client, tenant: str, sizes: dict[str, int]) -> None:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = c.post(path, json={"tenant_id": tenant, "managed_by": "x", **body})
        assert response.status_code == 201, response.text
        return dict(response.json())

    post("/databricks/catalogs", {"catalog_name": f"{tenant}_cat"})
    paths = []
    for i in range(sizes["notebooks"]):
        paths.append(
            post(
                "/databricks/notebooks",
                {"name": f"nb{i}", "language": "SQL", "content": "select 1"},
            )["path"]
        )
    for i in range(sizes["jobs"]):
        task = {"task_key": "t", "notebook_task": {"notebook_path": paths[i % len(paths)]}}
        post("/databricks/jobs", {"name": f"job{i}", "tasks": [task]})
    columns = [{"name": "id", "type": "int"}, {"name": "text", "type": "array<float>"}]
    for i in range(sizes["datasets"]):
        post("/databricks/datasets", {"name": f"t{i}", "schema": columns})
    for i in range(sizes["endpoints"]):
        post(
            "/databricks/serving-endpoints",
            {"name": f"{tenant}-ep{i}", "model_name": "m", "model_version": "1"},
        )
    for i in range(sizes["indexes"]):
        spec = {"source_table": f"t{i}", "embedding_dimension": 4, "embedding_column": "text"}
        post("/databricks/vector-indexes", {"name": f"ix{i}", **spec})


def _counts(emulator: RunningEmulator) -> dict[str, int]:
    return dict(emulator.app.state.counters.snapshot()["requests"])


async def test_observe_costs_one_list_page_per_kind_per_page_size() -> None:
    with running_emulator(api_key=KEY, ready_delay=0.01) as emulator:
        with httpx.Client(
            base_url=emulator.api_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as c:
            _populate(c, "big", SIZES)
            _populate(c, "other", {k: max(1, n // 4) for k, n in SIZES.items()})
        emulator.app.state.counters.clear()
        async with ConnectorClient(emulator.url, KEY) as client:
            observed = await observe_tenant(
                client, TenantContext(name="big", tenant_id="big", catalog="big_cat")
            )
        counts = _counts(emulator)

    assert len(observed) == sum(SIZES.values()) + 1  # + the catalog
    expected = {LISTS[kind]: max(1, math.ceil(n / PAGE)) for kind, n in SIZES.items()}
    expected.update(CONSTANT)
    assert counts == expected, "observe must list by pages and never read objects one by one"
