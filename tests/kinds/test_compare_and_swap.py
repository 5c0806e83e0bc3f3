"""Updates carry the observed ETag: an object changed since it was observed is not overwritten."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import ConflictError
from reconciler.kinds import KINDS
from reconciler.kinds.base import TenantContext
from reconciler.mcp.client import ConnectorClient
from tests.kinds.helpers import TENANT
from tests.kinds.test_emulator import apply, client, desired, make_catalog, observe  # noqa: F401

NOTEBOOK = {"language": "python", "content": "print(1)"}


async def test_an_update_against_a_stale_observation_is_refused(client: ConnectorClient) -> None:  # noqa: F811
    await make_catalog(client)
    seen = await apply(client, desired("Notebook", "etl", NOTEBOOK))
    await client.put(
        "/databricks/notebooks/acme",
        params={"path": seen.identity},
        json={"path": seen.identity, "content": "someone else's edit"},
    )
    wanted = desired("Notebook", "etl", {**NOTEBOOK, "content": "print(2)"})
    with pytest.raises(ConflictError) as info:
        await KINDS["Notebook"].update(
            client, _tenant(), wanted, seen, frozenset({"content_sha256"})
        )
    assert info.value.status == 412
    now = await observe(client, "Notebook", seen.identity)
    assert now is not None and now.spec["content_sha256"] != wanted.spec["content_sha256"]


@pytest.mark.parametrize(
    "kind", ["Tenant", "Dataset", "Notebook", "Job", "ServingEndpoint", "VectorIndex"]
)
async def test_read_one_matches_the_list(client: ConnectorClient, kind: str) -> None:  # noqa: F811
    await make_catalog(client)
    docs = await apply(
        client,
        desired(
            "Dataset",
            "docs",
            {"columns": [{"name": "id", "type": "bigint"}, {"name": "body", "type": "string"}]},
        ),
    )
    nb = await apply(client, desired("Notebook", "etl", NOTEBOOK))
    specs: dict[str, Any] = {
        "Job": {"tasks": [{"key": "t", "notebook": nb.identity}]},
        "ServingEndpoint": {"model": {"name": "agentprovision_acme.s.m", "version": "1"}},
        "VectorIndex": {
            "source": docs.identity,
            "primary_key": "id",
            "embedding": {"source_column": "body", "model_endpoint": "e"},
        },
    }
    if kind in specs:
        await apply(client, desired(kind, "thing", specs[kind]))
    [listed] = [
        o
        for o in await KINDS[kind].list(client, _tenant())
        if kind != "Dataset" or o.identity == docs.identity
    ][:1]
    read = await KINDS[kind].read(client, _tenant(), listed.identity, listed.remote_id)
    assert read is not None
    assert (read.identity, read.remote_id, read.spec) == (
        listed.identity,
        listed.remote_id,
        listed.spec,
    )
    if kind == "Tenant":  # a catalog is deleted once its tables are gone
        await KINDS["Dataset"].delete(client, _tenant(), docs.identity, docs.remote_id)
    await KINDS[kind].delete(client, _tenant(), listed.identity, listed.remote_id)
    assert await KINDS[kind].read(client, _tenant(), listed.identity, listed.remote_id) is None


def _tenant() -> TenantContext:
    return TENANT
