"""The ASGI middleware in front of every route.

For each HTTP request it:

1. assigns a request id (``scope["state"]["request_id"]``) and echoes it in the
   ``X-Request-Id`` response header;
2. counts the request under ``"METHOD /route/{template}"`` (not the concrete
   path, so ``GET /jobs/1`` and ``GET /jobs/2`` add up), except the
   emulator's own ``/_emulator`` calls;
3. checks the Bearer key on every connector path but ``/health`` and on the
   ``/_emulator`` calls (401 problem document otherwise);
4. refuses bodies over :data:`MAX_BODY_BYTES` with 413, both by
   ``Content-Length`` and while streaming a chunked body;
5. turns any unexpected exception into a 500 problem document, so a client
   always gets JSON it can read.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator import API_PREFIX
from reconciler.emulator.errors import PROBLEM_JSON, problem
from reconciler.emulator.faults import DroppedConnection

MAX_BODY_BYTES = 10 * 1024 * 1024
PUBLIC_PATHS = frozenset({f"{API_PREFIX}/health"})
ADMIN_PREFIX = "/_emulator"

log = logging.getLogger(__name__)


class Counters:
    """Request counts by ``METHOD route``, safe to bump from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def bump(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(sorted(self._counts.items()))
        return {"requests": counts, "total": sum(counts.values())}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass(frozen=True)
class RouteTemplate:
    """One route's path template, its compiled pattern and its methods."""

    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str]


def route_templates(routes: Iterable[tuple[str, Iterable[str]]]) -> list[RouteTemplate]:
    """Compile ``(path template, methods)`` pairs for :func:`route_template`."""
    compiled = []
    for template, methods in routes:
        pattern, _, _ = compile_path(template)
        compiled.append(RouteTemplate(template, pattern, frozenset(methods)))
    return compiled


def route_template(templates: Sequence[RouteTemplate], method: str, path: str) -> str:
    """The template of the route serving ``method path``; the raw path when none matches."""
    fallback: str | None = None
    for route in templates:
        if route.pattern.match(path):
            if method in route.methods:
                return route.template
            fallback = fallback or route.template
    return fallback or path


def needs_auth(path: str) -> bool:
    if path in PUBLIC_PATHS:
        return False
    return path.startswith(API_PREFIX) or path.startswith(ADMIN_PREFIX)


class EmulatorMiddleware:
    """Request ids, Bearer auth, body size limit, counters and a last-resort 500."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str,
        counters: Counters,
        routes: Sequence[RouteTemplate],
    ) -> None:
        self.app = app
        self.api_key = api_key
        self.counters = counters
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        if not path.startswith(ADMIN_PREFIX):
            template = route_template(self.routes, scope["method"], path)
            self.counters.bump(f"{scope['method']} {template}")
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        early = self._refusal(scope, path, request_id)
        if early is not None:
            await _send_problem(send_with_id, *early)
            return
        try:
            await self.app(scope, _limited(receive), send_with_id)
        except DroppedConnection:
            raise
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], path)
            if started:
                raise
            await _send_problem(send_with_id, problem(500, "internal error", request_id), {})

    def _refusal(
        self, scope: Scope, path: str, request_id: str
    ) -> tuple[dict[str, Any], dict[str, str]] | None:
        """A problem to answer before routing (bad key, body too large), if any."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if needs_auth(path) and not self._authorized(headers.get("authorization", "")):
            detail = "missing or wrong API key (Authorization: Bearer <key>)"
            return problem(401, detail, request_id), {"www-authenticate": "Bearer"}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            detail = f"request body over {MAX_BODY_BYTES} bytes"
            return problem(413, detail, request_id), {}
        return None

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return hmac.compare_digest(token.strip().encode(), self.api_key.encode())


def _limited(receive: Receive) -> Receive:
    """``receive`` that raises 413 once a streamed body passes the limit."""
    total = 0

    async def wrapped() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > MAX_BODY_BYTES:
                raise HTTPException(413, f"request body over {MAX_BODY_BYTES} bytes")
        return message

    return wrapped


async def _send_problem(send: Send, document: dict[str, Any], extra: dict[str, str]) -> None:
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": document["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
