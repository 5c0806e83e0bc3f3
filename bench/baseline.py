"""The per-resource baseline: refresh every managed resource with its own GET.

This is how Terraform refreshes state before a plan: for each resource it
manages, one read call, at most ``parallelism`` (Terraform's default: 10) in
flight. The baseline reads the recorded resources from the same state store,
GETs each one from the same connector with the same client, and projects the
answer the way observe does, so the only difference from our plan is the
shape of the reads: one GET per resource instead of one list page per kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reconciler.kinds import KINDS
from reconciler.kinds.base import ObservedResource, RecordedResource, TenantContext
from reconciler.mcp.client import ConnectorClient
from reconciler.state import StateStore

TERRAFORM_PARALLELISM = 10


def read_call(context: TenantContext, record: RecordedResource) -> tuple[str, dict[str, Any]]:
    """The path and query of the one GET that reads ``record`` back."""
    tenant = context.tenant_id
    kind, identity = record.key.kind, record.identity
    if kind == "Tenant":
        return f"/databricks/catalogs/{tenant}", {}
    if kind == "Dataset":
        schema_table = identity.split(".", 1)[1]
        return f"/databricks/datasets/{tenant}/{schema_table}", {}
    if kind == "Notebook":
        return f"/databricks/notebooks/{tenant}", {"path": identity}
    if kind == "Job":
        return f"/databricks/jobs/{record.remote_id}", {"tenant_id": tenant}
    if kind == "ServingEndpoint":
        return f"/databricks/serving-endpoints/{identity}", {"tenant_id": tenant}
    if kind == "VectorIndex":
        return f"/databricks/vector-indexes/{identity}", {"tenant_id": tenant}
    raise ValueError(f"no read call for kind {kind}")


async def refresh_each(
    contexts: Mapping[str, TenantContext],
    *,
    store: StateStore,
    client: ConnectorClient,
    parallelism: int = TERRAFORM_PARALLELISM,
) -> list[ObservedResource]:
    """Read every recorded resource of ``contexts``' tenants with one GET each."""
    slots = asyncio.Semaphore(parallelism)

    async def refresh(context: TenantContext, record: RecordedResource) -> ObservedResource:
        path, params = read_call(context, record)
        async with slots:
            raw = await client.get(path, params=params)
        return KINDS[record.key.kind].project(raw)

    reads = [
        refresh(context, record)
        for name, context in contexts.items()
        for record in store.read_tenant(name).resources.values()
    ]
    return list(await asyncio.gather(*reads))
