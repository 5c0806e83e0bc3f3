"""Waiting for long-running objects: settles, fails fast, or times out with advice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.errors import ConnectorError
from reconciler.kinds.base import poll_until
from reconciler.kinds.serving_endpoint import ServingEndpoint
from reconciler.kinds.vector_index import VectorIndex
from reconciler.mcp.client import ConnectorClient
from tests.kinds.helpers import TENANT


def connector(answers: Callable[[int], dict[str, Any]]) -> tuple[ConnectorClient, list[str]]:
    """A client whose n-th GET answers ``answers(n)``; returns it and the requested URLs."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=answers(len(seen)))

    return ConnectorClient("http://mcp", "k", transport=httpx.MockTransport(handle)), seen


def endpoint(ready: str, update: str) -> dict[str, Any]:
    return {"name": "chat", "state": {"ready": ready, "config_update": update}}


class QuickEndpoint(ServingEndpoint):
    ready_timeout = 0.3


class QuickIndex(VectorIndex):
    ready_timeout = 0.3


async def test_endpoint_wait_returns_once_settled() -> None:
    client, seen = connector(
        lambda n: (
            endpoint("READY", "NOT_UPDATING") if n >= 3 else endpoint("NOT_READY", "IN_PROGRESS")
        )
    )
    async with client:
        await QuickEndpoint().wait_ready(client, TENANT, "chat", "id-1")
    assert len(seen) == 3
    assert (
        seen[0] == "http://mcp/agentprovision/v1/databricks/serving-endpoints/chat?tenant_id=acme"
    )


async def test_endpoint_wait_times_out_naming_the_endpoint() -> None:
    client, _ = connector(lambda n: endpoint("NOT_READY", "IN_PROGRESS"))
    async with client:
        with pytest.raises(
            ConnectorError, match=r"'chat' was not ready.*next apply will pick it up"
        ):
            await QuickEndpoint().wait_ready(client, TENANT, "chat", "id-1")


async def test_endpoint_wait_stops_on_failed_update() -> None:
    client, seen = connector(lambda n: endpoint("READY", "UPDATE_FAILED"))
    async with client:
        with pytest.raises(ConnectorError, match="failed to apply its new config"):
            await QuickEndpoint().wait_ready(client, TENANT, "chat", "id-1")
    assert len(seen) == 1


async def test_index_wait_times_out_naming_the_index() -> None:
    client, _ = connector(lambda n: {"name": "c.default.i", "status": {"ready": False}})
    async with client:
        with pytest.raises(ConnectorError, match=r"'c\.default\.i' was not ready"):
            await QuickIndex().wait_ready(client, TENANT, "c.default.i", "c.default.i")


async def test_poll_interval_grows_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr("asyncio.sleep", fake_sleep)  # poll_until imports asyncio when it runs
    calls = iter(range(12))

    async def check() -> bool:
        return next(calls) >= 11

    assert await poll_until(check, timeout=1000)
    assert sleeps[0] == 0.1 and sleeps[-1] == 2.0
    assert sleeps == sorted(sleeps)


async def test_an_object_deleted_while_apply_waits_is_a_clear_failure() -> None:
    def gone(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"code": "NOT_FOUND", "detail": "no such endpoint"})

    client = ConnectorClient("http://mcp", "k", transport=httpx.MockTransport(gone))
    async with client:
        with pytest.raises(ConnectorError, match="'chat' disappeared while apply waited"):
            await QuickEndpoint().wait_ready(client, TENANT, "chat", "id-1")


async def test_kinds_that_settle_at_once_do_not_poll() -> None:
    from reconciler.kinds.notebook import Notebook

    client, seen = connector(lambda n: {})
    async with client:
        await Notebook().wait_ready(client, TENANT, "/p", "1")
    assert seen == []
