"""Async client for the MCP Databricks connector (contract: ``specs/mcp-connector.openapi.yaml``).

It wraps httpx behind the project's own errors (:mod:`reconciler.errors`):

- problem documents become typed errors carrying status, code and request id
  (404 → :class:`NotFoundError`, 409 and 412 → :class:`ConflictError`, ...);
- 429/500/502/503/504 and connection failures are retried with exponential
  backoff and jitter, waiting at least what ``Retry-After`` asks;
- a POST is retried only when it carries an ``Idempotency-Key`` (the
  connector then answers a repeat with the first result), every other
  method is idempotent by contract;
- updates may carry ``If-Match`` with the ETag of the object as read; a 412
  means someone changed it since (``ConflictError``, code PRECONDITION_FAILED);
- timeouts (connect and overall) and a bounded connection pool;
- lists are async iterators over pages (:meth:`ConnectorClient.paginate`);
- an optional :class:`Breaker` (``serve`` gives one per connector) is asked
  before every attempt and told how it went, so an outage costs a handful
  of requests rather than every retry of every call.

Every request is counted in ``mcp_requests_total{operation,status}`` and
timed in ``mcp_request_duration_seconds{operation}``, with the operation
named by its path template (:mod:`reconciler.mcp.operations`), and logged
as one structured line. The API key is sent as a Bearer token and never
appears in reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from http.cookiejar import CookieJar
from typing import Any, Protocol

import httpx
import orjson
from prometheus_client import Counter, Histogram

from reconciler.errors import (
    CircuitOpenError,
    ClientError,
    ConflictError,
    ConnectorError,
    NotFoundError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
)
from reconciler.mcp.operations import Call, describe

API_PREFIX = "/agentprovision/v1"
REFUSED_RETRIES = 2
"""A refused connection means the server is down or restarting: retry briefly, then say so."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"})
BODY_LIMIT = 300  # characters of a response body quoted in an error
SHARD_CONNECTIONS = 4
"""Connections per httpx client of the pool (see :class:`ConnectorClient`)."""

log = logging.getLogger("reconciler.mcp")

REQUESTS = Counter(
    "mcp_requests_total", "Connector requests by operation and status", ["operation", "status"]
)
DURATION = Histogram(
    "mcp_request_duration_seconds", "Connector request duration by operation", ["operation"]
)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every shard and client (building one reads the CA file)."""
    return ssl.create_default_context()


def _unused_tls_context() -> ssl.SSLContext:
    """A context for a plain-http origin: it would refuse every certificate (none loaded)."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Breaker(Protocol):
    """A circuit breaker: may a request go out now, and how did the last one go?"""

    def allow(self) -> bool: ...

    def record(self, ok: bool) -> None: ...

    def describe(self) -> str: ...


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing and sends nothing.

    The connector authenticates with the bearer key alone; a ``Set-Cookie`` it
    (or anything between) answers must not ride along on later calls, which in
    ``serve`` are other tenants' calls. It also spares httpx's cookie parsing on
    every response (about 5 % of the client's CPU per request).
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


class ConnectorClient:
    """One connection pool to the connector; use as ``async with ConnectorClient(...)``.

    ``timeout`` bounds a whole call (each attempt), ``connect_timeout`` the TCP
    connect; ``max_connections`` bounds the pool; ``max_retries`` retries
    follow a failed attempt, waiting ``backoff · 2^(n-1)`` seconds with ±50 %
    jitter (at least ``Retry-After``, at most ``max_backoff``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_connections: int = 32,
        max_retries: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._secret = api_key
        # The pool is split into shards of a few connections, and one request per
        # connection is handed to httpx at a time (a free slot names its shard):
        # httpcore rescans all its connections, and checks every idle one's socket
        # with system calls, once per connection for every request that starts or
        # ends, so one pool of 32 costs quadratic CPU where shards of 4 cost little.
        # Shards are made when a slot of theirs is first taken, and the most recently
        # freed slot is taken first (LIFO): a command making a few calls builds one
        # httpx client and keeps its warm connections; a busy plan fills all shards.
        size = max(1, max_connections) if transport is not None else SHARD_CONNECTIONS
        total = max(1, max_connections)
        self._sizes = [min(size, total - start) for start in range(0, total, size)]
        # one context for every shard: httpx builds a new one per client otherwise (2 ms
        # each, even with verify=False); over plain http it is never used (no redirects)
        tls = _tls_context() if self.base_url.startswith("https:") else _unused_tls_context()
        self._new_shard = functools.partial(
            httpx.AsyncClient,
            base_url=self.base_url + API_PREFIX,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            verify=tls,
            cookies=_NoCookies(),
        )
        self._shards: dict[int, httpx.AsyncClient] = {}
        self._free: asyncio.LifoQueue[int] = asyncio.LifoQueue()
        for shard in reversed(range(len(self._sizes))):  # shard 0 on top
            for _ in range(self._sizes[shard]):
                self._free.put_nowait(shard)

    @property
    def max_connections(self) -> int:
        """Connections the pool may open at once (every shard's limit added up)."""
        return sum(self._sizes)

    def _shard(self, index: int) -> httpx.AsyncClient:
        client = self._shards.get(index)
        if client is None:
            size = self._sizes[index]
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            client = self._shards[index] = self._new_shard(limits=limits)
        return client

    def __repr__(self) -> str:
        return f"ConnectorClient({self.base_url!r})"

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for shard in self._shards.values():
            await shard.aclose()

    # ---- verbs -----------------------------------------------------------------------

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(
        self, path: str, *, json: Any = None, if_match: str | None = None, **kw: Any
    ) -> Any:
        return await self.request("POST", path, json=json, if_match=if_match, **kw)

    async def put(
        self, path: str, *, json: Any = None, if_match: str | None = None, **kw: Any
    ) -> Any:
        return await self.request("PUT", path, json=json, if_match=if_match, **kw)

    async def patch(
        self, path: str, *, json: Any = None, if_match: str | None = None, **kw: Any
    ) -> Any:
        return await self.request("PATCH", path, json=json, if_match=if_match, **kw)

    async def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/health")
        return result

    async def paginate(
        self, path: str, *, items: str, params: Mapping[str, Any], page_size: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every object of a list endpoint, one page request at a time."""
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
        if_match: str | None = None,
    ) -> Any:
        """Send one call, retrying what is safe to retry; return the decoded JSON body."""
        headers = _headers(idempotency_key, if_match)
        retry_safe = method in IDEMPOTENT_METHODS or idempotency_key is not None
        call = describe(method, path, params, json)
        attempt = 0
        while True:
            attempt += 1
            may_retry = retry_safe and attempt <= self.max_retries
            try:
                response = await self._send(method, path, params, json, files, headers, call)
            except CircuitOpenError:
                raise
            except UnavailableError as exc:
                refused = isinstance(exc.__cause__, httpx.ConnectError)
                if not may_retry or (refused and attempt > REFUSED_RETRIES):
                    raise
                await asyncio.sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and may_retry:
                await asyncio.sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return self._decode(response, method, path)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        headers: dict[str, str],
        call: Call,
    ) -> httpx.Response:
        slot = await self._free.get()
        http = self._shard(slot)
        try:
            if self.breaker is not None and not self.breaker.allow():
                raise CircuitOpenError(
                    f"not calling the connector at {self.base_url}: {self.breaker.describe()}",
                    hint="the service tries again by itself once the connector answers",
                )
            try:
                response = await self._attempt(
                    http, method, path, params, json, files, headers, call
                )
            except UnavailableError:
                if self.breaker is not None:
                    self.breaker.record(False)
                raise
            if self.breaker is not None:
                self.breaker.record(response.status_code not in RETRY_STATUSES)
            return response
        finally:
            self._free.put_nowait(slot)

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        headers: dict[str, str],
        call: Call,
    ) -> httpx.Response:
        started = time.perf_counter()
        status = "error"
        try:
            response = await http.request(
                method, path, params=params, json=json, files=files, headers=headers
            )
            status = str(response.status_code)
            return response
        except httpx.TimeoutException as exc:
            status = "timeout"
            raise UnavailableError(
                f"connector timed out on {method} {path}", hint="check MCP_SERVER_URL and retry"
            ) from exc
        except httpx.TransportError as exc:
            raise UnavailableError(
                f"cannot reach the connector at {self.base_url} ({type(exc).__name__})",
                hint="is the MCP server running? For local work start `reconciler emulator`",
            ) from exc
        finally:
            _record(call, status, time.perf_counter() - started)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter; never less than ``Retry-After`` asks."""
        backoff = self.backoff * 2 ** (attempt - 1) * (0.5 + random.random())
        asked = 0.0
        if retry_after:
            try:
                asked = max(0.0, float(retry_after))
            except ValueError:
                asked = 0.0
        return float(min(self.max_backoff, max(backoff, asked)))

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        """The JSON body of a successful response, or the matching ConnectorError."""
        if response.is_success:
            if response.status_code == 204 or not response.content:
                return None
            return decode_json(response)
        error = error_from_response(response, method, path)
        if self._secret and self._secret in error.message:
            error.message = error.message.replace(self._secret, "***")
            error.args = (error.message,)
        raise error


def decode_json(response: httpx.Response) -> Any:
    """A response's JSON body, decoded by orjson (several times faster than ``json`` on list
    pages); a body orjson refuses (not UTF-8, NaN, integers beyond 64 bits) gets httpx's
    decoder, so what decodes and what fails stays as before."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _headers(idempotency_key: str | None, if_match: str | None) -> dict[str, str]:
    headers = {}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if if_match:
        quoted = (
            if_match if if_match.startswith(('"', "W/")) or if_match == "*" else f'"{if_match}"'
        )
        headers["If-Match"] = quoted
    return headers


def _record(call: Call, status: str, elapsed: float) -> None:
    """Metrics and the one structured log line of a request."""
    REQUESTS.labels(call.operation, status).inc()
    DURATION.labels(call.operation).observe(elapsed)
    log.info(
        "mcp %s -> %s in %.1f ms",
        call.operation,
        status,
        elapsed * 1000,
        extra={
            "operation": call.operation,
            "tenant": call.tenant,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "resource": call.resource,
        },
    )


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
_DEFAULT_CODES = {412: "PRECONDITION_FAILED", 429: "RATE_LIMITED", 503: "UNAVAILABLE"}
_HINTS = {
    401: "check MCP_API_KEY",
    403: "check MCP_API_KEY",
    412: "the object changed since it was read; plan again",
}


def error_from_response(response: httpx.Response, method: str, path: str) -> ConnectorError:
    """The typed error for a non-2xx answer, quoting at most :data:`BODY_LIMIT` characters."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("message") or response.text)[:BODY_LIMIT]
    code = body.get("code") or body.get("error_code") or _DEFAULT_CODES.get(status)
    request_id = body.get("request_id") or response.headers.get("X-Request-Id")
    cls = _ERRORS.get(status) or (ServerError if status >= 500 else ClientError)
    message = f"connector answered {status} {code or ''} to {method} {path}: {detail}".replace(
        "  ", " "
    )
    if request_id:
        message += f" [request {request_id}]"
    return cls(message, status=status, code=code, request_id=request_id, hint=_HINTS.get(status))
