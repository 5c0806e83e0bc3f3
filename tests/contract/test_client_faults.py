"""The client over a faulty network, against the real emulator: retries never duplicate."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reconciler.emulator.faults import Faults
from reconciler.emulator.server import running_emulator
from reconciler.errors import UnavailableError
from reconciler.mcp.client import ConnectorClient

FAULTY = Faults(error_rate=0.15, drop_rate=0.25, rate_limit_per_s=200, retry_after_s=0.01, seed=7)


async def _notebooks(client: ConnectorClient) -> list[str]:
    listed = await client.list_all(
        "/databricks/notebooks", items="notebooks", params={"tenant_id": "t"}
    )
    return sorted(n["path"] for n in listed)


def _body(i: int) -> dict[str, object]:
    return {"tenant_id": "t", "name": f"nb{i}", "language": "PYTHON", "content": f"print({i})"}


def test_creates_with_idempotency_keys_survive_drops_and_5xx_without_duplicates() -> None:
    async def scenario(url: str, key: str) -> list[str]:
        async with ConnectorClient(url, key, backoff=0.005, max_retries=12) as client:
            await asyncio.gather(
                *(
                    client.post("/databricks/notebooks", json=_body(i), idempotency_key=f"k{i}")
                    for i in range(30)
                )
            )
            return await _notebooks(client)

    with running_emulator(faults=FAULTY) as emulator:
        paths = asyncio.run(scenario(emulator.url, emulator.api_key))
    assert len(paths) == 30 == len(set(paths))


def test_a_create_without_idempotency_key_is_never_retried() -> None:
    always_dropped = Faults(drop_rate=1.0, seed=1)

    async def scenario(url: str, key: str) -> None:
        async with ConnectorClient(url, key, backoff=0.005) as client:
            await client.post("/databricks/notebooks", json=_body(1))

    with running_emulator(faults=always_dropped) as emulator:
        with pytest.raises(UnavailableError):
            asyncio.run(scenario(emulator.url, emulator.api_key))
        counters = httpx.get(
            emulator.url + "/_emulator/counters",
            headers={"Authorization": f"Bearer {emulator.api_key}"},
        ).json()["requests"]
    assert counters.get("POST /agentprovision/v1/databricks/notebooks") == 1


def test_reads_ride_out_rate_limits_and_errors() -> None:
    async def scenario(url: str, key: str) -> int:
        async with ConnectorClient(url, key, backoff=0.005, max_retries=12) as client:
            results = await asyncio.gather(
                *(client.get("/databricks/catalogs/t") for _ in range(60))
            )
            return len(results)

    with running_emulator(
        faults=Faults(error_rate=0.2, rate_limit_per_s=100, retry_after_s=0.01, seed=3)
    ) as emulator:
        assert asyncio.run(scenario(emulator.url, emulator.api_key)) == 60
