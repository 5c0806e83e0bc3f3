"""Every kind against the emulator over real HTTP.

Each test walks one object through its life: create → list → the projection
equals the normalised desired spec (no flapping defaults) → update one field →
list shows it → delete → delete again is fine. Prerequisites are created in
dependency order: the tenant's catalog first, a notebook before the job that
runs it, a dataset before the index on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from reconciler.kinds import KINDS
from reconciler.kinds.base import (
    DesiredResource,
    ObservedResource,
    ResourceKey,
    SourceLocation,
    TenantContext,
)
from reconciler.mcp.client import ConnectorClient
from tests.kinds.helpers import TENANT, files

CSV = b"id,text\n1,hello\n2,world\n"
CSV2 = b"id,text,score\n1,hello,0.5\n"
DOCS_COLUMNS = [
    {"name": "id", "type": "bigint", "nullable": False},
    {"name": "text", "type": "string"},
]
READ = files({"data/docs.csv": CSV, "data/docs2.csv": CSV2, "nb/etl.py": b"print('etl')\n"})


@pytest.fixture
async def client(emulator: Any) -> AsyncIterator[ConnectorClient]:
    async with ConnectorClient(emulator.url, emulator.api_key, backoff=0.01) as connector:
        yield connector


def desired(
    kind: str, name: str, spec: Mapping[str, Any], tenant: TenantContext = TENANT
) -> DesiredResource:
    """Validate and normalise a spec the way the loader does."""
    k = KINDS[kind]
    model = k.spec_model.model_validate(spec)
    normalized, blobs = k.normalize(tenant, name, model, READ)
    return DesiredResource(
        key=ResourceKey(tenant.name, kind, name),
        identity=k.identity(tenant, name, model),
        spec=normalized,
        location=SourceLocation(f"{name}.yaml", 1, 1),
        blobs=blobs,
    )


async def observe(client: ConnectorClient, kind: str, identity: str) -> ObservedResource | None:
    found = [o for o in await KINDS[kind].list(client, TENANT) if o.identity == identity]
    assert len(found) <= 1
    return found[0] if found else None


async def apply(client: ConnectorClient, want: DesiredResource) -> ObservedResource:
    """Create ``want``, wait for it, and return what the list shows."""
    kind = KINDS[want.key.kind]
    remote_id = await kind.create(client, TENANT, want)
    await kind.wait_ready(client, TENANT, want.identity, remote_id)
    seen = await observe(client, want.key.kind, want.identity)
    assert seen is not None and seen.managed
    assert seen.spec == want.spec
    return seen


async def change(
    client: ConnectorClient, old: ObservedResource, new: DesiredResource
) -> ObservedResource:
    """Update to ``new`` (the changed top-level fields only) and return what the list shows."""
    kind = KINDS[new.key.kind]
    changed = frozenset(f for f in new.spec if new.spec[f] != old.spec.get(f))
    assert changed, "the test should change something"
    await kind.update(client, TENANT, new, old, changed)
    await kind.wait_ready(client, TENANT, new.identity, old.remote_id)
    seen = await observe(client, new.key.kind, new.identity)
    assert seen is not None
    assert seen.spec == new.spec
    return seen


async def delete_twice(client: ConnectorClient, seen: ObservedResource) -> None:
    kind = KINDS[seen.kind]
    await kind.delete(client, TENANT, seen.identity, seen.remote_id)
    await kind.delete(client, TENANT, seen.identity, seen.remote_id)
    assert await observe(client, seen.kind, seen.identity) is None


async def make_catalog(client: ConnectorClient) -> None:
    await KINDS["Tenant"].create(client, TENANT, desired("Tenant", "acme", {}))


async def make_docs(client: ConnectorClient) -> ObservedResource:
    await make_catalog(client)
    return await apply(client, desired("Dataset", "docs", {"columns": DOCS_COLUMNS}))


# ---- one life-cycle test per kind ---------------------------------------------------------


async def test_tenant_catalog_lifecycle(client: ConnectorClient) -> None:
    assert await KINDS["Tenant"].list(client, TENANT) == []
    seen = await apply(client, desired("Tenant", "acme", {"comment": "Acme data"}))
    assert seen.identity == "agentprovision_acme"
    new = desired("Tenant", "acme", {"comment": "Acme", "properties": {"team": "data"}})
    seen = await change(client, seen, new)
    await delete_twice(client, seen)


async def test_dataset_lifecycle(client: ConnectorClient) -> None:
    await make_catalog(client)
    spec = {"description": "docs", "columns": DOCS_COLUMNS, "source": {"path": "data/docs.csv"}}
    seen = await apply(client, desired("Dataset", "docs", spec))
    assert seen.raw["row_count"] == 2
    wider = [*DOCS_COLUMNS, {"name": "score", "type": "double", "comment": "relevance"}]
    new_spec = {
        "description": "scored docs",
        "columns": wider,
        "source": {"path": "data/docs2.csv"},
    }
    seen = await change(client, seen, desired("Dataset", "docs", new_spec))
    assert seen.raw["row_count"] == 1
    await delete_twice(client, seen)


async def test_dataset_in_another_schema(client: ConnectorClient) -> None:
    await make_catalog(client)
    want = desired("Dataset", "q1-orders", {"schema": "sales", "columns": DOCS_COLUMNS})
    seen = await apply(client, want)
    assert seen.identity == "agentprovision_acme.sales.q1_orders"
    await delete_twice(client, seen)


async def test_notebook_lifecycle(client: ConnectorClient) -> None:
    seen = await apply(
        client, desired("Notebook", "etl", {"language": "python", "source": "nb/etl.py"})
    )
    assert seen.identity == "/Workspace/AgentProvision/acme/etl"
    new = desired("Notebook", "etl", {"language": "sql", "content": "select 1"})
    seen = await change(client, seen, new)
    await delete_twice(client, seen)


EXTRACT = {"key": "extract", "notebook": "/Workspace/AgentProvision/acme/etl"}
LOAD = {"key": "load", "notebook": "/Workspace/AgentProvision/acme/etl", "depends_on": ["extract"]}
JOB = {"tasks": [EXTRACT, LOAD]}


async def test_job_lifecycle(client: ConnectorClient) -> None:
    await apply(client, desired("Notebook", "etl", {"language": "python", "content": "1"}))
    seen = await apply(client, desired("Job", "nightly", JOB))
    assert seen.identity == "nightly" and seen.remote_id.isdigit()
    new_spec = {
        **JOB,
        "schedule": {"cron": "0 0 2 * * ?", "timezone": "Europe/Paris", "paused": True},
        "tags": {"team": "data"},
        "max_concurrent_runs": 2,
        "email_notifications": {"on_failure": ["ops@example.com"]},
    }
    new_spec["tasks"] = [
        EXTRACT,
        {**LOAD, "parameters": {"day": "1"}, "max_retries": 2, "timeout_seconds": 60},
    ]
    seen = await change(client, seen, desired("Job", "nightly", new_spec))
    await delete_twice(client, seen)


ENDPOINT = {"model": {"name": "agentprovision_acme.models.chat", "version": 1}}


async def test_serving_endpoint_lifecycle(client: ConnectorClient) -> None:
    await make_catalog(client)  # the model lives in the tenant's catalog
    seen = await apply(client, desired("ServingEndpoint", "acme-chat", ENDPOINT))
    assert seen.ready
    new_spec = {
        "model": {"name": "agentprovision_acme.models.chat", "version": "2"},
        "workload_size": "Medium",
        "tags": {"team": "ai"},
    }
    seen = await change(client, seen, desired("ServingEndpoint", "acme-chat", new_spec))
    assert seen.ready
    seen = await change(
        client, seen, desired("ServingEndpoint", "acme-chat", {**new_spec, "tags": {"owner": "x"}})
    )
    await delete_twice(client, seen)


INDEX = {
    "source": "agentprovision_acme.default.docs",
    "primary_key": "id",
    "embedding": {"source_column": "text", "model_endpoint": "bge-small"},
}


async def test_vector_index_lifecycle(client: ConnectorClient) -> None:
    await make_docs(client)
    seen = await apply(client, desired("VectorIndex", "docs-idx", INDEX))
    assert seen.ready and seen.identity == "agentprovision_acme.default.docs_idx"
    with pytest.raises(NotImplementedError, match="replaces"):
        await KINDS["VectorIndex"].update(
            client, TENANT, desired("VectorIndex", "docs-idx", INDEX), seen, frozenset({"pipeline"})
        )
    await delete_twice(client, seen)
    replaced = desired(
        "VectorIndex", "docs-idx", {**INDEX, "pipeline": "continuous", "columns_to_sync": ["text"]}
    )
    seen = await apply(client, replaced)
    await delete_twice(client, seen)


# ---- listing --------------------------------------------------------------------------------


async def test_list_follows_pages_without_reading_objects(
    client: ConnectorClient, emulator: Any
) -> None:
    """101 notebooks: two list calls of 100, and not one GET per notebook."""
    notebook = KINDS["Notebook"]
    await asyncio.gather(
        *(
            notebook.create(
                client, TENANT, desired("Notebook", f"nb{i}", {"language": "r", "content": str(i)})
            )
            for i in range(101)
        )
    )
    before = _counters(emulator)
    seen = await KINDS["Notebook"].list(client, TENANT)
    after = _counters(emulator)
    assert len(seen) == 101
    grown = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    assert list(grown.values()) == [2]
    assert next(iter(grown)).startswith("GET ") and next(iter(grown)).endswith("/notebooks")


def _counters(emulator: Any) -> dict[str, int]:
    """Requests served so far, by ``METHOD route``."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    body = httpx.get(emulator.url + "/_emulator/counters", headers=headers).json()
    return dict(body["requests"])


async def test_lists_of_a_tenant_without_catalog_are_empty(client: ConnectorClient) -> None:
    other = TenantContext(name="nobody", tenant_id="nobody", catalog="agentprovision_nobody")
    for kind in KINDS.values():
        assert await kind.list(client, other) == []


SPARK_TYPES = ["string", "int", "bigint", "smallint", "tinyint", "double", "float", "boolean"]
SPARK_TYPES += ["date", "timestamp", "decimal", "DECIMAL(12, 3)"]


async def test_every_column_type_round_trips(client: ConnectorClient) -> None:
    """What the spec accepts, the connector stores and projects back unchanged."""
    await make_catalog(client)
    columns = [{"name": f"c{i}", "type": t} for i, t in enumerate(SPARK_TYPES)]
    seen = await apply(client, desired("Dataset", "typed", {"columns": columns}))
    await delete_twice(client, seen)


async def test_binary_column_round_trips(client: ConnectorClient) -> None:
    await make_catalog(client)
    columns = [{"name": "id", "type": "int"}, {"name": "blob", "type": "binary"}]
    seen = await apply(client, desired("Dataset", "blobs", {"columns": columns}))
    await delete_twice(client, seen)


async def test_endpoint_update_waits_out_a_deploy_in_progress(client: ConnectorClient) -> None:
    """A config PUT during a deploy is refused (409); update waits for the deploy and retries."""
    kind = KINDS["ServingEndpoint"]
    first = desired("ServingEndpoint", "busy", ENDPOINT)
    await kind.create(client, TENANT, first)
    seen = await observe(client, "ServingEndpoint", "busy")
    assert seen is not None and not seen.ready
    second = desired("ServingEndpoint", "busy", {**ENDPOINT, "scale_to_zero": False})
    await kind.update(client, TENANT, second, seen, frozenset({"scale_to_zero"}))
    await kind.wait_ready(client, TENANT, "busy", seen.remote_id)
    seen = await observe(client, "ServingEndpoint", "busy")
    assert seen is not None and seen.spec == second.spec and seen.ready


async def test_objects_made_by_others_are_not_marked_managed(client: ConnectorClient) -> None:
    body = {"tenant_id": "acme", "name": "adhoc", "language": "PYTHON", "content": "1"}
    await client.post("/databricks/notebooks", json=body)
    seen = await observe(client, "Notebook", "/Workspace/AgentProvision/acme/adhoc")
    assert seen is not None and not seen.managed
