"""The status page's views: tenants, tenant, drift, history, job, endpoint, dataset, index."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from reconciler.actions import (
    dataset_info,
    endpoint_status,
    index_info,
    list_runs,
    new_idempotency_key,
)
from reconciler.errors import NotAppliedError, ReconcilerError
from reconciler.service.runtime import Runtime, runtime_of
from reconciler.service.web import guard, render, views
from reconciler.service.web.guard import Refused

RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
STATIC = {"style.css": "text/css", "app.js": "text/javascript"}

router = APIRouter(include_in_schema=False)


@router.get("/static/{file}")
def static(file: str) -> Response:
    if file not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    from importlib.resources import files

    path = files("reconciler.service.web") / "static" / file
    return FileResponse(
        str(path), media_type=STATIC[file], headers={"Cache-Control": "max-age=300"}
    )


@router.get("/")
async def tenants_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        session = guard.viewer(request)
        rows = await views.tenants(runtime)
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        return guard.failure(request, exc, 503)
    return render.page(
        request, "tenants.html", live="_tenants.html", session=session,
        title="Tenants · AgentProvision reconciler", rows=rows, source=views.source(runtime),
    )  # fmt: skip


def _tenant(request: Request, runtime: Runtime, tenant: str) -> str:
    guard.name(request, tenant, "tenant")
    if not views.known(runtime, tenant):
        raise Refused(
            guard.error_page(request, 404, f"no tenant {tenant!r} in the source", "see /")
        )
    return tenant


async def _tenant_page(
    request: Request,
    runtime: Runtime,
    tenant: str,
    what: str,
    load: Callable[[Runtime, str], Awaitable[Any]],
    key: str = "view",
) -> Response:
    """One of a tenant's own pages: ``what.html`` with ``_what.html`` as its live part."""
    try:
        session = guard.viewer(request)
        _tenant(request, runtime, tenant)
        loaded = await load(runtime, tenant)
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        return guard.failure(request, exc, 503)
    return render.page(
        request, f"{what}.html", live=f"_{what}.html", session=session,
        title=f"{tenant} · {what}", tenant=tenant, **{key: loaded},
    )  # fmt: skip


@router.get("/tenants/{tenant}")
async def tenant_page(request: Request, tenant: str, runtime: RuntimeDep) -> Response:
    return await _tenant_page(request, runtime, tenant, "tenant", views.tenant)


@router.get("/tenants/{tenant}/drift")
async def drift_page(request: Request, tenant: str, runtime: RuntimeDep) -> Response:
    return await _tenant_page(request, runtime, tenant, "drift", views.drift)


@router.get("/tenants/{tenant}/history")
async def history_page(request: Request, tenant: str, runtime: RuntimeDep) -> Response:
    return await _tenant_page(request, runtime, tenant, "history", views.history, "applies")


async def resource_context(
    request: Request, runtime: Runtime, tenant: str, segment: str, name: str
) -> dict[str, Any]:
    """What every resource page shows: the target and the connector's view of it now."""
    kind = views.KIND_OF_PAGE[segment]
    _tenant(request, runtime, tenant)
    guard.name(request, name, "resource")
    try:
        target = await views.target(runtime, tenant, kind, name)
    except NotAppliedError as exc:
        raise Refused(guard.failure(request, exc, 404)) from exc
    context: dict[str, Any] = {"tenant": tenant, "name": name, "kind": kind, "target": target}
    context["title"] = f"{name} · {tenant}"
    context["problem"] = None
    try:
        if kind == "Job":
            context["runs"] = await list_runs(runtime.client, target, limit=20)
            context["run_key"] = new_idempotency_key()
        elif kind == "ServingEndpoint":
            context["endpoint"] = await endpoint_status(runtime.client, target)
        elif kind == "Dataset":
            context["dataset"] = await dataset_info(runtime.client, target)
        else:
            context["index"] = await index_info(runtime.client, target)
    except ReconcilerError as exc:
        context["problem"] = str(exc)
        context.setdefault("runs", [])
        context.setdefault("run_key", new_idempotency_key())
        context.setdefault("endpoint", None)
        context.setdefault("dataset", {})
        context.setdefault("index", {})
    return context


TEMPLATES = {
    "jobs": ("job.html", "_runs.html"),
    "endpoints": ("endpoint.html", "_endpoint.html"),
    "datasets": ("dataset.html", "_dataset.html"),
    "indexes": ("index.html", "_index.html"),
}


@router.get("/tenants/{tenant}/{segment}/{name}")
async def resource_page(
    request: Request, tenant: str, segment: str, name: str, runtime: RuntimeDep
) -> Response:
    try:
        session = guard.viewer(request)
        if segment not in TEMPLATES:
            return guard.error_page(request, 404, "no such page", "see /")
        context = await resource_context(request, runtime, tenant, segment, name)
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        return guard.failure(request, exc, 503)
    template, live = TEMPLATES[segment]
    return render.page(
        request, template, live=live, session=session, notice=_notice(request), **context
    )


def _notice(request: Request) -> str | None:
    """What the last form did, after its redirect here."""
    for field, done in (("started", "started"), ("cancelled", "asked to cancel")):
        value = request.query_params.get(field, "")
        if value.isdigit() and len(value) <= 18:
            return f"Run {value} {done}."
    return None
