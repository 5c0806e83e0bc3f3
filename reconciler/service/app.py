"""The FastAPI application of ``reconciler serve``.

:func:`create_app` builds it; its lifespan starts the :class:`Runtime
<reconciler.service.runtime.Runtime>` (state store, connector client, source,
controller, scheduler) and stops it gracefully on shutdown (SIGTERM: no new
work, in-flight steps get the grace period, leases released).

Open paths: ``/healthz`` (the process answers), ``/readyz`` (the state
database and the connector answer), ``/metrics`` (Prometheus). Everything
under ``/api/v1`` needs a token (:mod:`.auth`), except the git webhook, which
checks its own signature.

**Mounting more routes.** Other faces of the service (the status page, the
action routes) are ``fastapi.APIRouter`` objects in their own modules. List
them in :data:`ROUTERS` as ``"module:attribute"`` (imported when the app is
built), or pass them to ``create_app(..., extra_routers=[...])``. A route
handler reaches the running service with ``Depends(runtime_of)`` (from
:mod:`reconciler.service.runtime`: ``.store``, ``.client``, ``.controller``,
``.config``, ``.settings``) and protects itself with ``Depends(require_read)``
or ``Depends(require_admin)`` (from :mod:`reconciler.service.auth`).
Errors raised as ``HTTPException`` or :class:`~reconciler.errors.ReconcilerError`
become problem documents (``application/problem+json``), never tracebacks.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from reconciler import __version__
from reconciler.config import Settings
from reconciler.errors import ReconcilerError, StateError
from reconciler.service import metrics
from reconciler.service.api import admin, read
from reconciler.service.config import ServiceConfig
from reconciler.service.controller import UnknownTenant
from reconciler.service.runtime import Runtime, start_runtime
from reconciler.service.scrubbing import ScrubResponses
from reconciler.service.webhook import router as webhook_router

log = logging.getLogger("reconciler.service")

ROUTERS: tuple[str, ...] = (
    "reconciler.service.web:router",
    "reconciler.service.actions_api:router",
    "reconciler.service.plans_api:router",
)
"""Routers other modules add to the app, as ``"package.module:attribute"``."""

PROBLEM = "application/problem+json"

RuntimeFactory = Callable[[ServiceConfig, Settings], Awaitable[Runtime]]


def create_app(
    config: ServiceConfig,
    settings: Settings,
    *,
    extra_routers: Sequence[APIRouter] = (),
    start: RuntimeFactory = start_runtime,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start(config, settings)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="AgentProvision reconciler service",
        version=__version__,
        description="Continuous reconciliation of tenants' Databricks resources: status, "
        "drift, history, reconcile, suspend/resume, and the git webhook.",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.settings = settings
    _install_health(app)
    _install_errors(app)
    for router in (read, admin, webhook_router, *_listed_routers(), *extra_routers):
        app.include_router(router)
    app.add_middleware(ScrubResponses)  # no answer carries a secret's clear text
    return app


def _listed_routers() -> list[APIRouter]:
    routers = []
    for spec in ROUTERS:
        module, _, attribute = spec.partition(":")
        routers.append(getattr(importlib.import_module(module), attribute))
    return routers


def _install_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up and answering."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    async def readyz(request: Request) -> JSONResponse:
        """The state database and the connector both answer.

        ``warnings`` lists what works but should not be so (a second replica on SQLite).
        """
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            await asyncio.to_thread(runtime.store.tenant_statuses)
            checks["database"] = "ok"
        except ReconcilerError as exc:
            checks["database"] = str(exc)
        try:
            await runtime.client.health()
            checks["connector"] = "ok"
        except ReconcilerError as exc:
            checks["connector"] = str(exc)
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        warnings = await _replica_warnings(runtime)
        if warnings:
            body["warnings"] = warnings
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus(request: Request) -> Response:
        """Prometheus text format."""
        runtime: Runtime = request.app.state.runtime
        try:
            counts = await asyncio.to_thread(runtime.store.resource_status_counts)
        except StateError:
            counts = {}
        controller = runtime.controller
        metrics.refresh_gauges(
            counts, fetched_at=controller.fetched_at, circuit_open=runtime.breaker.is_open
        )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _replica_warnings(runtime: Runtime) -> list[str]:
    """A second replica on an SQLite state database (it still works; it is a warning)."""
    if runtime.replicas is None:
        return []
    try:
        others = await asyncio.to_thread(runtime.replicas.others)
    except ReconcilerError:
        return []
    return [runtime.replicas.warning(others)] if others else []


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status}
    body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(UnknownTenant)
    async def unknown(_request: Request, exc: UnknownTenant) -> JSONResponse:
        return _problem(404, str(exc))

    @app.exception_handler(ReconcilerError)
    async def failed(_request: Request, exc: ReconcilerError) -> JSONResponse:
        return _problem(503, str(exc))

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error answering a request: %s: %s", type(exc).__name__, exc)
        return _problem(500, "internal error; the service log has the details")
