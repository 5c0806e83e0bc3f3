"""Async client for the MCP Databricks connector (contract: ``specs/connector.md``).

It wraps httpx behind the project's own errors (:mod:`reconciler.errors`):
problem documents become typed errors carrying status, code and request id;
429/502/503/504 and connection failures are retried with exponential backoff
and jitter, honouring ``Retry-After``; a POST is retried only when it carries an
``Idempotency-Key``. The API key is sent as a Bearer token and never appears in
reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from prometheus_client import Counter, Histogram

from reconciler.errors import (
    ClientError,
    ConflictError,
    ConnectorError,
    NotFoundError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
)

API_PREFIX = "/agentprovision/v1"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
BODY_LIMIT = 300  # characters of a response body quoted in an error

log = logging.getLogger("reconciler.mcp")

REQUESTS = Counter(
    "mcp_requests_total", "Connector requests by operation and status", ["operation", "status"]
)
DURATION = Histogram(
    "mcp_request_duration_seconds", "Connector request duration by operation", ["operation"]
)


class ConnectorClient:
    """One connection pool to the connector; use as ``async with ConnectorClient(...)``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_connections: int = 32,
        max_retries: int = 5,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ConnectorClient({self.base_url!r})"

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- verbs -----------------------------------------------------------------------

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, *, json: Any = None, **kw: Any) -> Any:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, *, json: Any = None, **kw: Any) -> Any:
        return await self.request("PUT", path, json=json, **kw)

    async def patch(self, path: str, *, json: Any = None, **kw: Any) -> Any:
        return await self.request("PATCH", path, json=json, **kw)

    async def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/health")
        return result

    async def paginate(
        self, path: str, *, items: str, params: Mapping[str, Any], page_size: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every object of a list endpoint, following ``next_page_token``."""
        token: str | None = None
        while True:
            query = {**params, "page_size": page_size}
            if token:
                query["page_token"] = token
            page = await self.get(path, params=query)
            for obj in page.get(items) or ():
                yield obj
            token = page.get("next_page_token")
            if not token:
                return

    async def list_all(
        self, path: str, *, items: str, params: Mapping[str, Any], page_size: int = 100
    ) -> list[dict[str, Any]]:
        return [
            o async for o in self.paginate(path, items=items, params=params, page_size=page_size)
        ]

    # ---- the one request loop --------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one call, retrying what is safe to retry; return the decoded JSON body."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retry_safe = method in IDEMPOTENT_METHODS or idempotency_key is not None
        operation = f"{method} {path.split('?')[0]}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(method, path, params, json, files, headers, operation)
            except UnavailableError as exc:
                if not retry_safe or attempt > self.max_retries:
                    raise
                await asyncio.sleep(self._delay(attempt, None))
                log.debug("retrying %s after %s", operation, exc)
                continue
            if (
                response.status_code in RETRY_STATUSES
                and retry_safe
                and attempt <= self.max_retries
            ):
                await asyncio.sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return _decode(response, method, path)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        headers: dict[str, str],
        operation: str,
    ) -> httpx.Response:
        started = time.perf_counter()
        status = "error"
        try:
            response = await self._http.request(
                method, path, params=params, json=json, files=files, headers=headers
            )
            status = str(response.status_code)
            return response
        except httpx.TimeoutException as exc:
            raise UnavailableError(
                f"connector timed out on {method} {path}", hint="check MCP_SERVER_URL and retry"
            ) from exc
        except httpx.TransportError as exc:
            raise UnavailableError(
                f"cannot reach the connector at {self.base_url} ({type(exc).__name__})",
                hint="is the MCP server running? For local work start `reconciler emulator`",
            ) from exc
        finally:
            elapsed = time.perf_counter() - started
            REQUESTS.labels(operation, status).inc()
            DURATION.labels(operation).observe(elapsed)
            log.info(
                "mcp request",
                extra={"operation": operation, "status": status, "duration_ms": elapsed * 1000},
            )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        return float(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))


_ERRORS: dict[int, type[ConnectorError]] = {
    401: UnauthenticatedError,
    403: UnauthenticatedError,
    404: NotFoundError,
    409: ConflictError,
    412: ConflictError,
    429: UnavailableError,
    502: UnavailableError,
    503: UnavailableError,
    504: UnavailableError,
}


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    """The JSON body of a successful response, or the matching ConnectorError."""
    if response.is_success:
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
    raise error_from_response(response, method, path)


def error_from_response(response: httpx.Response, method: str, path: str) -> ConnectorError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("message") or response.text)[:BODY_LIMIT]
    code = body.get("code") or body.get("error_code")
    request_id = body.get("request_id") or response.headers.get("X-Request-Id")
    cls = _ERRORS.get(status) or (ServerError if status >= 500 else ClientError)
    hint = "check MCP_API_KEY" if cls is UnauthenticatedError else None
    message = f"connector answered {status} {code or ''} to {method} {path}: {detail}".replace(
        "  ", " "
    )
    if request_id:
        message += f" [request {request_id}]"
    return cls(message, status=status, code=code, request_id=request_id, hint=hint)
