"""Narrow client behaviour over httpx.MockTransport: errors, retries, secrecy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.errors import (
    ClientError,
    ConflictError,
    NotFoundError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
)
from reconciler.mcp.client import ConnectorClient

KEY = "sk-very-secret"


def client(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> ConnectorClient:
    return ConnectorClient(
        "http://connector.test",
        KEY,
        transport=httpx.MockTransport(handler),
        backoff=0.001,
        **kw,  # type: ignore[arg-type]
    )


def problem(status: int, code: str, detail: str = "nope") -> httpx.Response:
    return httpx.Response(
        status,
        json={"status": status, "code": code, "detail": detail, "request_id": "req-1"},
        headers={"Content-Type": "application/problem+json"},
    )


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        pytest.param(401, "UNAUTHENTICATED", UnauthenticatedError, id="401-unauthenticated"),
        pytest.param(404, "NOT_FOUND", NotFoundError, id="404-not-found"),
        pytest.param(409, "ALREADY_EXISTS", ConflictError, id="409-conflict"),
        pytest.param(400, "INVALID_ARGUMENT", ClientError, id="400-client"),
        pytest.param(500, "INTERNAL", ServerError, id="500-server"),
    ],
)
async def test_problem_documents_become_typed_errors(
    status: int, code: str, error: type[Exception]
) -> None:
    async with client(lambda r: problem(status, code)) as c:
        with pytest.raises(error) as info:
            await c.get("/databricks/jobs/1")
    exc = info.value
    assert exc.status == status and exc.code == code and exc.request_id == "req-1"  # type: ignore[attr-defined]
    assert "GET /databricks/jobs/1" in str(exc)


async def test_bearer_key_is_sent_but_never_shown() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return problem(401, "UNAUTHENTICATED")

    async with client(handler) as c:
        assert KEY not in repr(c)
        with pytest.raises(UnauthenticatedError) as info:
            await c.get("/health")
    assert seen == [f"Bearer {KEY}"]
    assert KEY not in str(info.value)
    assert "MCP_API_KEY" in str(info.value)


async def test_get_is_retried_on_503_honouring_retry_after() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "UNAVAILABLE"})
        return httpx.Response(200, json={"ok": True})

    async with client(handler) as c:
        assert await c.get("/databricks/jobs") == {"ok": True}
    assert len(calls) == 3


async def test_post_without_idempotency_key_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"code": "UNAVAILABLE"})

    async with client(handler) as c:
        with pytest.raises(UnavailableError):
            await c.post("/databricks/jobs", json={})
    assert len(calls) == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "RATE_LIMITED"})
        return httpx.Response(201, json={"job_id": 7})

    async with client(handler) as c:
        assert await c.post("/databricks/jobs", json={}, idempotency_key="k-1") == {"job_id": 7}
    assert keys == ["k-1", "k-1"]


async def test_retries_give_up_after_the_limit() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502, json={"code": "UNAVAILABLE"})

    async with client(handler, max_retries=2) as c:
        with pytest.raises(UnavailableError):
            await c.get("/databricks/jobs")
    assert len(calls) == 3


async def test_connection_errors_are_unavailable_and_name_the_server() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(handler, max_retries=1) as c:
        with pytest.raises(UnavailableError) as info:
            await c.get("/health")
    assert "http://connector.test" in str(info.value)
    assert "reconciler emulator" in str(info.value)


async def test_a_refused_connection_is_retried_briefly_but_a_dropped_one_fully() -> None:
    calls: list[str] = []

    def refused(request: httpx.Request) -> httpx.Response:
        calls.append("refused")
        raise httpx.ConnectError("refused", request=request)

    async with client(refused, max_retries=5) as c:
        with pytest.raises(UnavailableError):
            await c.get("/health")
    assert len(calls) == 3, "a server that refuses connections is down: say so quickly"

    dropped: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        dropped.append("x")
        if len(dropped) < 5:
            raise httpx.RemoteProtocolError("peer closed", request=request)
        return httpx.Response(200, json={"ok": True})

    async with client(flaky, max_retries=5) as c:
        assert await c.get("/databricks/jobs") == {"ok": True}
    assert len(dropped) == 5


async def test_pagination_follows_tokens_across_empty_pages() -> None:
    pages = {
        None: {"jobs": [{"job_id": 1}], "next_page_token": "a"},
        "a": {"jobs": [], "next_page_token": "b"},
        "b": {"jobs": [{"job_id": 2}], "next_page_token": None},
    }
    sizes: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.add(request.url.params["page_size"])
        return httpx.Response(200, json=pages[request.url.params.get("page_token")])

    async with client(handler) as c:
        jobs = await c.list_all("/databricks/jobs", items="jobs", params={"tenant_id": "t"})
    assert [j["job_id"] for j in jobs] == [1, 2]
    assert sizes == {"100"}


async def test_long_error_bodies_are_truncated() -> None:
    async with client(lambda r: problem(400, "INVALID_ARGUMENT", "x" * 5000)) as c:
        with pytest.raises(ClientError) as info:
            await c.get("/databricks/jobs")
    assert len(str(info.value)) < 600


async def test_a_cookie_the_connector_sets_is_never_sent_back() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={}, headers={"Set-Cookie": "session=tenant-a; Path=/"})

    async with client(handler, max_connections=1) as connector:
        await connector.get("/databricks/jobs", params={"tenant_id": "a"})
        await connector.get("/databricks/jobs", params={"tenant_id": "b"})
    assert seen == [None, None]
