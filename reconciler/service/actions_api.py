"""The action routes: run a job and follow its runs, cancel a run, invoke, query, search.

Each route is a thin call of the :mod:`reconciler.actions` functions the CLI
uses (``run job``, ``runs``, ``runs cancel``, ``invoke``, ``query``,
``search``). Resources are named as the tenant's documents name them; the
remote ids come from the state database and the tenant's connector identity
from the documents the service holds it to.

- ``POST /api/v1/tenants/{tenant}/jobs/{name}/runs`` (admin): start a run; the
  body's ``idempotency_key`` makes a retried request answer the same run.
- ``GET /api/v1/tenants/{tenant}/jobs/{name}/runs?limit=`` (read): run history.
- ``POST /api/v1/runs/{run_id}/cancel`` (admin): cancel a run of a job of one
  of the service's tenants (``{"tenant": ...}`` in the body narrows the search);
  any other run is 404.
- ``POST .../endpoints/{name}/invoke`` (admin), ``.../datasets/{name}/query``
  and ``.../indexes/{name}/search`` (read).

Answers are problem documents on error: 404 for an unknown tenant or a
resource not applied yet (saying what to do), 400 for a request the action
refuses, 409 for an idempotency key reused with another body, 502 for the
connector's failure, in one line. A read token is 403 on the admin routes.
The tenant's secret values are cut out of every answer and error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from reconciler import actions, scrub
from reconciler.actions import Target
from reconciler.actions.targets import NOUNS
from reconciler.document import NAME_PATTERN
from reconciler.errors import ActionError, ConflictError, ConnectorError, NotAppliedError
from reconciler.kinds.base import ResourceKey, TenantContext
from reconciler.service.app import PROBLEM
from reconciler.service.auth import require_admin_forbid_read, require_read
from reconciler.service.controller import TenantEntry
from reconciler.service.runtime import Runtime, runtime_of

TenantName = Annotated[
    str, Path(pattern=NAME_PATTERN, max_length=63, description="The tenant's metadata.name")
]
ResourceName = Annotated[
    str, Path(pattern=NAME_PATTERN, max_length=63, description="The resource's metadata.name")
]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The run id the connector gave")]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_PARAMS = 100
MAX_TEXT = 100_000
MAX_K = 1000
MAX_ROWS = 10_000


def _problem(why: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": why, "content": {PROBLEM: {"schema": schema}}}


ANSWERS: dict[int | str, dict[str, Any]] = {
    400: _problem("the action refuses the request as asked (the detail says why)"),
    404: _problem("no such tenant, or the resource or run is not applied / not the tenant's"),
    502: _problem("the connector failed (one line)"),
}
ADMIN_ANSWERS: dict[int | str, dict[str, Any]] = {
    **ANSWERS,
    403: _problem("a read token: this action needs the admin token"),
}

READ_TOKEN: dict[str, Any] = {"x-token": "read"}
ADMIN_TOKEN: dict[str, Any] = {"x-token": "admin"}
"""The token an operation needs, in the OpenAPI document (a POST that only reads says read)."""

router = APIRouter(prefix="/api/v1", tags=["actions"])


# ---- request and answer bodies ------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ParamName = Annotated[str, Field(min_length=1, max_length=128)]
ParamValue = Annotated[str, Field(max_length=10_000)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class RunRequest(Strict):
    params: dict[ParamName, ParamValue] = Field(
        default_factory=dict, max_length=MAX_PARAMS, description="job parameters, name to value"
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:~-]+$",
        description="the same key again answers the same run instead of starting another "
        "(letters, digits and ._:~-); a fresh one is used when absent",
    )


class CancelRequest(Strict):
    tenant: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        max_length=63,
        description="the tenant whose job the run is of (default: looked up among the "
        "service's tenants)",
    )


class InvokeRequest(Strict):
    input: Any = Field(description="the endpoint's input, any JSON value")
    timeout: float = Field(
        default=60.0, gt=0, le=600, description="seconds to wait for the endpoint to be READY"
    )


class QueryRequest(Strict):
    sql: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXT,
        description="one read-only statement (SELECT or WITH ... SELECT); default: the first rows",
    )
    limit: int = Field(default=20, ge=1, le=MAX_ROWS, description="rows answered at most")


class SearchRequest(Strict):
    text: str | None = Field(
        default=None, min_length=1, max_length=MAX_TEXT, description="text to search for"
    )
    vector: list[Number] | None = Field(
        default=None, min_length=1, max_length=100_000, description="a query vector"
    )
    k: int = Field(default=5, ge=1, le=MAX_K, description="how many results")
    columns: list[Annotated[str, Field(min_length=1, max_length=255)]] | None = Field(
        default=None, max_length=1000, description="columns to answer (default: the index's)"
    )


class TaskModel(BaseModel):
    task_key: str
    state: str
    result: str | None
    message: str
    attempt: int
    started_at: str | None
    ended_at: str | None


class RunModel(BaseModel):
    tenant: str
    run_id: int
    job_id: int | None
    name: str
    state: str = Field(description="QUEUED, PENDING, RUNNING, TERMINATING, TERMINATED, ...")
    result: str | None = Field(description="SUCCESS, FAILED, TIMEDOUT, CANCELED once terminal")
    message: str
    url: str
    trigger: str
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    tasks: list[TaskModel]


class RunList(BaseModel):
    tenant: str
    job: str
    runs: list[RunModel]


class InvocationModel(BaseModel):
    tenant: str
    endpoint: str
    waited_s: float = Field(description="seconds spent waiting for READY")
    predictions: list[Any]
    answer: dict[str, Any] = Field(description="the endpoint's whole answer")


class TableAnswer(BaseModel):
    tenant: str
    columns: list[str]
    rows: list[dict[str, Any]]
    row_count: int


class QueryAnswer(TableAnswer):
    dataset: str
    sql: str
    truncated: bool
    execution_time_ms: int | None


class SearchAnswer(TableAnswer):
    index: str
    query: str


# ---- plumbing -----------------------------------------------------------------------------


def _entry(runtime: Runtime, tenant: str) -> TenantEntry:
    entry = runtime.controller.entries.get(tenant)
    if entry is None:
        raise HTTPException(404, f"no tenant {tenant!r} in the source")
    return entry


@asynccontextmanager
async def _answering() -> AsyncIterator[None]:
    """The library's and the connector's errors as problem answers, secrets cut out (every
    answer body is scrubbed again by :class:`reconciler.service.scrubbing.ScrubResponses`)."""
    try:
        yield
    except HTTPException as exc:
        raise HTTPException(exc.status_code, scrub.scrub(str(exc.detail)), exc.headers) from None
    except NotAppliedError as exc:
        raise HTTPException(404, scrub.scrub(str(exc))) from None
    except ActionError as exc:
        raise HTTPException(400, scrub.scrub(str(exc))) from None
    except ConflictError as exc:
        raise HTTPException(409, scrub.scrub(_one_line(exc))) from None
    except ConnectorError as exc:
        raise HTTPException(502, scrub.scrub(f"the connector failed: {_one_line(exc)}")) from None


def _one_line(exc: ConnectorError) -> str:
    return " ".join(str(exc).split())


async def _target(runtime: Runtime, tenant: str, kind: str, name: str) -> Target:
    """The applied resource, with the tenant's connector identity from its documents."""
    entry = _entry(runtime, tenant)
    noun = NOUNS.get(kind, kind)
    try:
        return await asyncio.to_thread(
            actions.find_target,
            runtime.store,
            kind,
            name,
            tenant=tenant,
            context=entry.desired.context,
        )
    except NotAppliedError as exc:
        if ResourceKey(tenant, kind, name) not in entry.desired.resources:
            raise NotAppliedError(
                f"tenant {tenant} has no {noun} {name}",
                hint=f"its documents do not declare one; {exc.hint or ''}".rstrip("; "),
            ) from None
        raise NotAppliedError(
            f"{noun} {name} of tenant {tenant} has not been applied yet",
            hint=f"reconcile the tenant (POST /api/v1/tenants/{tenant}/reconcile) "
            "or wait for the service's next reconcile",
        ) from None


def _run(tenant: str, run: actions.RunStatus) -> RunModel:
    return RunModel(tenant=tenant, **run.to_dict())


def _table(answer: dict[str, Any], tenant: str) -> dict[str, Any]:
    return {"tenant": tenant, **answer}


# ---- routes -------------------------------------------------------------------------------


@router.post(
    "/tenants/{tenant}/jobs/{name}/runs",
    status_code=201,
    response_model=RunModel,
    responses={**ADMIN_ANSWERS, 409: _problem("the idempotency key was used with another body")},
    dependencies=[Depends(require_admin_forbid_read)],
    openapi_extra=ADMIN_TOKEN,
)
async def start_run(
    tenant: TenantName,
    name: ResourceName,
    runtime: RuntimeDep,
    body: Annotated[RunRequest | None, Body()] = None,
) -> RunModel:
    """Start a run of the job now; the answer is the run as just started."""
    request = body or RunRequest()
    async with _answering():
        found = await _target(runtime, tenant, "Job", name)
        run = await actions.start_job(
            runtime.client,
            found,
            request.params,
            idempotency_key=request.idempotency_key or actions.new_idempotency_key(),
        )
    return _run(tenant, run)


@router.get(
    "/tenants/{tenant}/jobs/{name}/runs",
    response_model=RunList,
    responses=ANSWERS,
    dependencies=[Depends(require_read)],
    openapi_extra=READ_TOKEN,
)
async def job_runs(
    tenant: TenantName,
    name: ResourceName,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="newest N runs")] = 20,
) -> RunList:
    """The job's runs, newest first, each with its tasks."""
    async with _answering():
        found = await _target(runtime, tenant, "Job", name)
        runs = await actions.list_runs(runtime.client, found, limit=limit)
    return RunList(tenant=tenant, job=name, runs=[_run(tenant, r) for r in runs])


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunModel,
    responses=ADMIN_ANSWERS,
    dependencies=[Depends(require_admin_forbid_read)],
    openapi_extra=ADMIN_TOKEN,
)
async def cancel_run(
    run_id: RunId,
    runtime: RuntimeDep,
    body: Annotated[CancelRequest | None, Body()] = None,
) -> RunModel:
    """Cancel a run of a job of one of the service's tenants (any other run is not found)."""
    named = body.tenant if body else None
    tenants = [named] if named else sorted(runtime.controller.entries)
    for tenant in tenants:
        async with _answering():
            context = _entry(runtime, tenant).desired.context
            if await _owns(runtime, tenant, context, run_id):
                run = await actions.cancel_run(runtime.client, context, run_id)
                return _run(tenant, run)
    where = f"tenant {named}" if named else "the service's tenants"
    raise HTTPException(
        404, f"no run {run_id} of a job of {where}; see a job's runs with GET .../jobs/NAME/runs"
    )


async def _owns(runtime: Runtime, tenant: str, context: TenantContext, run_id: int) -> bool:
    """Whether ``run_id`` is a run of one of the jobs applied for ``tenant``."""
    jobs = await asyncio.to_thread(actions.targets_of, runtime.store, tenant, "Job")
    if not jobs:
        return False
    try:
        run = await actions.get_run(runtime.client, context, run_id)
    except ActionError:  # the connector does not know it for this tenant
        return False
    return run.job_id is not None and str(run.job_id) in {j.remote_id for j in jobs}


@router.post(
    "/tenants/{tenant}/endpoints/{name}/invoke",
    response_model=InvocationModel,
    responses=ADMIN_ANSWERS,
    dependencies=[Depends(require_admin_forbid_read)],
    openapi_extra=ADMIN_TOKEN,
)
async def invoke(
    tenant: TenantName, name: ResourceName, body: InvokeRequest, runtime: RuntimeDep
) -> InvocationModel:
    """Wait for the serving endpoint to be READY (at most ``timeout`` s), then send the input."""
    async with _answering():
        found = await _target(runtime, tenant, "ServingEndpoint", name)
        answer = await actions.invoke(runtime.client, found, body.input, timeout=body.timeout)
    return InvocationModel(
        tenant=tenant,
        endpoint=answer.endpoint,
        waited_s=round(answer.waited_s, 3),
        predictions=answer.predictions,
        answer=dict(answer.answer),
    )


@router.post(
    "/tenants/{tenant}/datasets/{name}/query",
    response_model=QueryAnswer,
    responses=ANSWERS,
    dependencies=[Depends(require_read)],
    openapi_extra=READ_TOKEN,
)
async def query(
    tenant: TenantName,
    name: ResourceName,
    runtime: RuntimeDep,
    body: Annotated[QueryRequest | None, Body()] = None,
) -> QueryAnswer:
    """One read-only statement over the dataset (default: its first ``limit`` rows)."""
    request = body or QueryRequest()
    async with _answering():
        if request.sql is not None:
            actions.check_read_only(request.sql)  # before anything is looked up
        found = await _target(runtime, tenant, "Dataset", name)
        result = await actions.query(runtime.client, found, request.sql, limit=request.limit)
    return QueryAnswer(**_table(result.to_dict(), tenant))


@router.post(
    "/tenants/{tenant}/indexes/{name}/search",
    response_model=SearchAnswer,
    responses=ANSWERS,
    dependencies=[Depends(require_read)],
    openapi_extra=READ_TOKEN,
)
async def search(
    tenant: TenantName, name: ResourceName, body: SearchRequest, runtime: RuntimeDep
) -> SearchAnswer:
    """The ``k`` nearest rows of the vector index to ``text`` or ``vector`` (exactly one)."""
    async with _answering():
        if (body.text is None) == (body.vector is None):
            raise ActionError("search needs exactly one of text or vector")
        found = await _target(runtime, tenant, "VectorIndex", name)
        result = await actions.search(
            runtime.client,
            found,
            text=body.text,
            vector=body.vector,
            k=body.k,
            columns=body.columns,
        )
    return SearchAnswer(**_table(result.to_dict(), tenant))
