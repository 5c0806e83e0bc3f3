"""The status page's forms: log in and out, reconcile, run and cancel, test, query, search.

Every post carries the CSRF token of its session (:func:`guard.poster`);
reconcile, run, cancel and the endpoint test need the admin role, as the JSON
API does. Each calls the library function the API and CLI call.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from reconciler.actions import cancel_run, invoke, parse_params, query, search, start_job
from reconciler.errors import ActionError, ReconcilerError
from reconciler.service.runtime import Runtime, runtime_of
from reconciler.service.web import guard, render, views
from reconciler.service.web import session as sessions
from reconciler.service.web.guard import Refused
from reconciler.service.web.pages import TEMPLATES, resource_context

RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
MAX_FIELD = 20_000  # characters of one text field (SQL, an endpoint's input)
INVOKE_TIMEOUT = 30.0  # seconds the Test box waits for the endpoint to be READY

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception:  # a body that is no form at all: treated as an empty form
        return {}
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/login")
def login_form(request: Request) -> Response:
    found = sessions.current(request)
    session = found if found is not None else sessions.new_session("anon")
    target = render.local_path(request.query_params.get("next"))
    if session.signed_in and not request.query_params.get("again"):
        return render.redirect(target)
    return render.page(
        request, "login.html", session=session, title="Log in · AgentProvision reconciler",
        next=target,
    )  # fmt: skip


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    target = render.local_path(form.get("next"))
    found = sessions.current(request)
    config = request.app.state.config
    if found is None or not sessions.csrf_ok(config, found, form.get("csrf")):
        return guard.error_page(
            request, 403, "this form was refused: its CSRF token is missing or does not match "
            "your session", "reload the login page and try again",
        )  # fmt: skip
    role = sessions.role_for_token(request, form.get("token", "")[:1000])
    if role is None:
        return render.page(
            request, "login.html", status_code=401, session=found,
            title="Log in · AgentProvision reconciler", next=target,
            error="that token is not valid here: use the read or the admin token of this service",
        )  # fmt: skip
    response = render.redirect(target)
    sessions.set_cookie(request, response, sessions.new_session(role))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        guard.poster(request, await _form(request), admin=False)
    except Refused as refused:
        return refused.response
    response = render.redirect("/login")
    sessions.clear_cookie(request, response)
    return response


@router.post("/tenants/{tenant}/reconcile")
async def reconcile(request: Request, tenant: str, runtime: RuntimeDep) -> Response:
    """The controller's reconcile-now (as ``POST /api/v1/tenants/{t}/reconcile``)."""
    form = await _form(request)
    try:
        guard.poster(request, form, admin=True)
        guard.name(request, tenant, "tenant")
        if not views.known(runtime, tenant):
            return guard.error_page(request, 404, f"no tenant {tenant!r} in the source", "see /")
    except Refused as refused:
        return refused.response
    runtime.scheduler.run_now(tenant, forced=True, requested=True)
    return render.redirect(render.local_path(form.get("next"), f"/tenants/{tenant}"))


@router.post("/tenants/{tenant}/jobs/{name}/runs")
async def run_job(request: Request, tenant: str, name: str, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    try:
        guard.poster(request, form, admin=True)
        context = await resource_context(request, runtime, tenant, "jobs", name)
        lines = [line.strip() for line in form.get("params", "").splitlines() if line.strip()]
        params = parse_params(lines)
        key = form.get("run_key") or None
        run = await start_job(runtime.client, context["target"], params, idempotency_key=key)
    except Refused as refused:
        return refused.response
    except ActionError as exc:
        return await _again(request, runtime, tenant, "jobs", name, error=str(exc), status=400)
    except ReconcilerError as exc:
        return await _again(request, runtime, tenant, "jobs", name, error=str(exc), status=502)
    return render.redirect(f"/tenants/{tenant}/jobs/{name}?started={run.run_id}")


@router.post("/tenants/{tenant}/jobs/{name}/runs/{run_id}/cancel")
async def cancel(
    request: Request, tenant: str, name: str, run_id: str, runtime: RuntimeDep
) -> Response:
    form = await _form(request)
    try:
        guard.poster(request, form, admin=True)
        context = await resource_context(request, runtime, tenant, "jobs", name)
        if not run_id.isdigit() or len(run_id) > 18:
            return guard.error_page(request, 404, "no run of that id", "runs are numbers")
        await cancel_run(runtime.client, context["target"].tenant, int(run_id))
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        return await _again(request, runtime, tenant, "jobs", name, error=str(exc), status=502)
    return render.redirect(f"/tenants/{tenant}/jobs/{name}?cancelled={quote(run_id)}")


@router.post("/tenants/{tenant}/endpoints/{name}/invoke")
async def test_endpoint(request: Request, tenant: str, name: str, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    text = form.get("input", "")[:MAX_FIELD]
    try:
        guard.poster(request, form, admin=True)
        context = await resource_context(request, runtime, tenant, "endpoints", name)
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise ActionError(
                f"the input is not JSON: {exc}", hint='write e.g. {"inputs": ["hello"]}'
            ) from None
        answer = await invoke(runtime.client, context["target"], payload, timeout=INVOKE_TIMEOUT)
    except Refused as refused:
        return refused.response
    except ActionError as exc:
        return await _again(
            request, runtime, tenant, "endpoints", name, error=str(exc), status=400, input=text
        )
    except ReconcilerError as exc:
        return await _again(
            request, runtime, tenant, "endpoints", name, error=str(exc), status=502, input=text
        )
    pretty = json.dumps(answer.to_dict(), indent=2, sort_keys=True, default=str)
    return await _again(request, runtime, tenant, "endpoints", name, answer=pretty, input=text)


@router.post("/tenants/{tenant}/datasets/{name}/query")
async def query_dataset(request: Request, tenant: str, name: str, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    sql = form.get("sql", "")[:MAX_FIELD]
    try:
        guard.poster(request, form, admin=False)
        context = await resource_context(request, runtime, tenant, "datasets", name)
        limit = _number(form.get("limit"), 20, "limit")
        result = await query(runtime.client, context["target"], sql.strip() or None, limit=limit)
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        status = 400 if isinstance(exc, ActionError) else 502
        return await _again(
            request, runtime, tenant, "datasets", name, error=str(exc), status=status, sql=sql
        )
    return await _again(request, runtime, tenant, "datasets", name, result=result, sql=sql)


@router.post("/tenants/{tenant}/indexes/{name}/search")
async def search_index(request: Request, tenant: str, name: str, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    text = form.get("text", "")[:MAX_FIELD]
    try:
        guard.poster(request, form, admin=False)
        context = await resource_context(request, runtime, tenant, "indexes", name)
        if not text.strip():
            raise ActionError("type something to search for")
        k = _number(form.get("k"), 5, "k")
        result = await search(runtime.client, context["target"], text=text.strip(), k=k)
    except Refused as refused:
        return refused.response
    except ReconcilerError as exc:
        status = 400 if isinstance(exc, ActionError) else 502
        return await _again(
            request, runtime, tenant, "indexes", name, error=str(exc), status=status, text=text
        )
    return await _again(request, runtime, tenant, "indexes", name, result=result, text=text)


def _number(value: str | None, default: int, what: str) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or len(value.strip()) > 6:
        raise ActionError(f"{what} must be a whole number, not {value[:20]!r}")
    return int(value)


async def _again(
    request: Request,
    runtime: Runtime,
    tenant: str,
    segment: str,
    name: str,
    *,
    status: int = 200,
    error: str | None = None,
    **extra: Any,
) -> Response:
    """The resource's page again, with the form's answer (or its error) on it."""
    try:
        context = await resource_context(request, runtime, tenant, segment, name)
    except Refused as refused:
        return refused.response
    template, _ = TEMPLATES[segment]
    return render.page(request, template, status_code=status, error=error, **context, **extra)
