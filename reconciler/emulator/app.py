"""The emulator's FastAPI application: ``create_app`` wires everything together.

Errors of every origin end as ``application/problem+json`` documents carrying
the request id: the emulator's own :class:`~reconciler.emulator.errors.ApiError`,
FastAPI's request validation errors (422 there, 400 INVALID_ARGUMENT here, as
the contract says) and Starlette's HTTP errors (unknown route, wrong method).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from reconciler.emulator import (
    API_PREFIX,
    catalogs,
    datasets,
    jobs,
    notebooks,
    openapi,
    runs,
    serving,
    vector,
)
from reconciler.emulator.errors import PROBLEM_JSON, ApiError, invalid, problem
from reconciler.emulator.faults import FaultInjector, FaultMiddleware, Faults
from reconciler.emulator.idempotency import IdempotencyCache, IdempotencyMiddleware
from reconciler.emulator.ingest import QUERY_SECONDS
from reconciler.emulator.middleware import Counters, EmulatorMiddleware, route_templates
from reconciler.emulator.store import Store

VERSION = "emulator-1.0"
ROUTERS = (catalogs, datasets, notebooks, jobs, runs, serving, vector)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def _problem_response(
    request: Request, status: int, detail: str, code: str | None = None
) -> JSONResponse:
    document = problem(status, detail, _request_id(request), code)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(document, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _problem_response(request, exc.status, exc.detail, exc.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _problem_response(request, 400, _describe_validation(exc), "INVALID_ARGUMENT")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.method} {request.url.path}"
        return _problem_response(request, exc.status_code, detail)


def _install_admin_routes(app: FastAPI, counters: Counters) -> None:
    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, Any]:
        return {"status": "healthy", "databricks_connected": True, "version": VERSION}

    @app.get("/_emulator/counters", include_in_schema=False)
    def get_counters(request: Request) -> dict[str, Any]:
        injected = dict(sorted(request.app.state.faults.injected.items()))
        return {**counters.snapshot(), "faults_injected": injected}

    @app.post("/_emulator/reset", include_in_schema=False, status_code=204)
    def reset(request: Request) -> Response:
        request.app.state.store.reset()
        request.app.state.idempotency.clear()
        request.app.state.faults.injected.clear()
        counters.clear()
        return Response(status_code=204)

    @app.get("/_emulator/faults", include_in_schema=False)
    def get_faults(request: Request) -> dict[str, Any]:
        return request.app.state.faults.faults.to_dict()

    @app.post("/_emulator/faults", include_in_schema=False)
    def set_faults(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        try:
            faults = Faults.from_mapping(body)
        except (TypeError, ValueError) as exc:
            raise invalid(str(exc)) from None
        apply_faults(request.app, faults)
        return faults.to_dict()


def apply_faults(app: FastAPI, faults: Faults) -> None:
    """Make ``faults`` the emulator's faults from the next request on."""
    app.state.faults.replace(faults)
    store: Store = app.state.store
    store.ready_delay = app.state.base_ready_delay * faults.slow_ops_factor


def create_app(
    *,
    api_key: str,
    ready_delay: float = 1.0,
    state_file: Path | None = None,
    faults: Faults | None = None,
    require_tenant: bool = False,
    query_seconds: float | None = None,
) -> FastAPI:
    """A fresh emulator application.

    ``api_key`` is the Bearer key every call must carry; ``ready_delay`` is how
    many seconds long-running operations take to settle; ``state_file``, when
    given, is loaded at start and rewritten after every change; ``faults``
    (default: none) says how the emulator misbehaves. ``require_tenant`` refuses
    even the backend's calls that name no tenant; ``query_seconds`` bounds one
    dataset query (default :data:`~reconciler.emulator.ingest.QUERY_SECONDS`).
    """
    app = FastAPI(
        title="AgentProvision MCP Databricks connector (emulator)",
        version=VERSION,
        description="Local emulator of the connector contract in specs/.",
        generate_unique_id_function=lambda route: route.name,
    )
    openapi.install(app)
    app.state.store = Store(state_file=state_file, ready_delay=ready_delay)
    app.state.api_key = api_key
    app.state.base_ready_delay = ready_delay
    app.state.require_tenant = require_tenant
    app.state.query_seconds = query_seconds if query_seconds is not None else QUERY_SECONDS
    app.state.faults = FaultInjector()
    app.state.idempotency = IdempotencyCache()
    apply_faults(app, faults or Faults())
    counters = Counters()
    app.state.counters = counters
    _install_error_handlers(app)
    _install_admin_routes(app, counters)
    templates: list[tuple[str, Iterable[str]]] = [
        (f"{API_PREFIX}/health", {"GET"}),
        ("/_emulator/counters", {"GET"}),
        ("/_emulator/reset", {"POST"}),
    ]
    app.include_router(runs.admin_router)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
        templates.extend(
            (API_PREFIX + route.path, route.methods or set())
            for route in module.router.routes
            if isinstance(route, APIRoute)
        )
    app.add_middleware(IdempotencyMiddleware, cache=app.state.idempotency)
    app.add_middleware(FaultMiddleware, injector=app.state.faults)
    app.add_middleware(
        EmulatorMiddleware,
        api_key=api_key,
        counters=counters,
        routes=route_templates(templates),
    )
    return app
