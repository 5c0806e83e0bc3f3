"""The tenants API: status, drift, history, reconcile, suspend/resume, the backend's shapes.

Read paths need the read or admin token, mutating paths the admin token (see
:mod:`.auth`). Unknown tenants are 404 problem documents; a tenant name that
cannot be one (not a document name) is 422. Every answer is built from the
state database and the service's own view of the source, so every replica
answers the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel

from reconciler.document import NAME_PATTERN
from reconciler.errors import ConnectorError, ReconcilerError
from reconciler.kinds import KINDS
from reconciler.service.auth import require_admin, require_read
from reconciler.service.runtime import Runtime, runtime_of
from reconciler.status import TenantStatus

TenantName = Annotated[
    str, Path(pattern=NAME_PATTERN, max_length=63, description="The tenant's metadata.name")
]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
Limit = Annotated[int, Query(ge=1, le=500, description="how many entries, newest first")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such tenant"},
    401: {"description": "no valid token"},
}

read = APIRouter(prefix="/api/v1/tenants", tags=["tenants"], dependencies=[Depends(require_read)])
admin = APIRouter(prefix="/api/v1/tenants", tags=["tenants"], dependencies=[Depends(require_admin)])


class ResourceModel(BaseModel):
    kind: str
    name: str
    sync: str
    health: str
    message: str


class TenantSummary(BaseModel):
    tenant: str
    sync: str
    health: str
    commit: str | None
    message: str
    last_error: str | None
    last_reconcile_at: datetime | None
    last_apply_at: datetime | None
    suspended: bool
    drift: int
    reconciled_by: str | None


class TenantDetail(TenantSummary):
    resources: list[ResourceModel]
    policy: dict[str, Any]


class SourceModel(BaseModel):
    description: str
    commit: str | None
    fetched_at: float | None
    error: str | None
    problems: dict[str, str]


class TenantList(BaseModel):
    tenants: list[TenantSummary]
    source: SourceModel


class DriftAnswer(BaseModel):
    tenant: str
    current: list[dict[str, Any]]
    history: list[dict[str, Any]]


class HistoryAnswer(BaseModel):
    tenant: str
    applies: list[dict[str, Any]]


class ReconcileAnswer(BaseModel):
    accepted: bool
    status: TenantDetail | None = None


class DatabricksStatus(BaseModel):
    enabled: bool
    mcp_healthy: bool
    catalog_exists: bool
    catalog_name: str | None


def _known(runtime: Runtime, tenant: str) -> None:
    if tenant not in runtime.controller.entries:
        raise HTTPException(404, f"no tenant {tenant!r} in the source")


async def _status(runtime: Runtime, tenant: str) -> TenantStatus:
    stored = await asyncio.to_thread(runtime.store.tenant_status, tenant)
    entry = runtime.controller.entries.get(tenant)
    if stored is None:
        stored = TenantStatus(tenant, commit=entry.commit if entry else None)
    if entry is not None and entry.problem and entry.problem not in stored.message:
        stored = replace(stored, message=entry.problem)
    return stored


def _detail(runtime: Runtime, status: TenantStatus) -> TenantDetail:
    policy = runtime.controller.policy(status.tenant).model_dump(mode="json")
    return TenantDetail(**status.document(), policy=policy)


@read.get("", response_model=TenantList, responses=NOT_FOUND)
async def list_tenants(runtime: RuntimeDep) -> TenantList:
    stored = {s.tenant: s for s in await asyncio.to_thread(runtime.store.tenant_statuses)}
    controller = runtime.controller
    names = sorted(controller.entries)
    tenants = [
        TenantSummary(**stored.get(n, TenantStatus(n)).document(resources=False)) for n in names
    ]
    source = SourceModel(
        description=runtime.source.description,
        commit=controller.commit,
        fetched_at=controller.fetched_at,
        error=controller.fetch_error,
        problems=dict(controller.problems),
    )
    return TenantList(tenants=tenants, source=source)


@read.get("/{tenant}", response_model=TenantDetail, responses=NOT_FOUND)
async def get_tenant(tenant: TenantName, runtime: RuntimeDep) -> TenantDetail:
    _known(runtime, tenant)
    return _detail(runtime, await _status(runtime, tenant))


@read.get("/{tenant}/drift", response_model=DriftAnswer, responses=NOT_FOUND)
async def get_drift(
    tenant: TenantName,
    runtime: RuntimeDep,
    limit: Limit = 20,
) -> DriftAnswer:
    _known(runtime, tenant)
    records = await asyncio.to_thread(runtime.store.drift_history, tenant, limit)
    history = [{"id": r.id, "at": r.at.isoformat(), **dict(r.report)} for r in records]
    status = await _status(runtime, tenant)
    current = history[0]["drifted"] if history and status.drift else []
    return DriftAnswer(tenant=tenant, current=current, history=history)


@read.get("/{tenant}/history", response_model=HistoryAnswer, responses=NOT_FOUND)
async def get_history(
    tenant: TenantName,
    runtime: RuntimeDep,
    limit: Limit = 20,
) -> HistoryAnswer:
    _known(runtime, tenant)
    records = await asyncio.to_thread(runtime.store.history, tenant, limit)
    return HistoryAnswer(tenant=tenant, applies=[r.document() for r in records])


@read.get("/{tenant}/databricks/status", response_model=DatabricksStatus, responses=NOT_FOUND)
async def databricks_status(tenant: TenantName, runtime: RuntimeDep) -> DatabricksStatus:
    """The AgentProvision backend's shape: is the connector up, does the catalog exist."""
    _known(runtime, tenant)
    context = runtime.controller.entry(tenant).desired.context
    enabled = runtime.settings.mcp_enabled
    healthy, catalog = False, None
    try:
        await runtime.client.health()
        healthy = True
        found = await KINDS["Tenant"].list(runtime.client, context)
        catalog = found[0].identity if found else None
    except ConnectorError:
        pass
    return DatabricksStatus(
        enabled=enabled, mcp_healthy=healthy, catalog_exists=catalog is not None,
        catalog_name=catalog or context.catalog,
    )  # fmt: skip


@admin.post("/{tenant}/databricks/initialize", response_model=DatabricksStatus, responses=NOT_FOUND)
async def databricks_initialize(tenant: TenantName, runtime: RuntimeDep) -> DatabricksStatus:
    """Create the tenant's catalog now: a reconcile of its Tenant document alone."""
    _known(runtime, tenant)
    targets = frozenset({("Tenant", tenant)})
    try:
        done = await runtime.controller.reconcile(
            tenant, forced=True, targets=targets, apply_anyway=True
        )
    except ReconcilerError as exc:
        raise HTTPException(502, f"initializing tenant {tenant} failed: {exc}") from exc
    if done is None:
        raise HTTPException(409, f"tenant {tenant} is being reconciled elsewhere; try again")
    return await databricks_status(tenant, runtime)


@admin.post("/{tenant}/reconcile", status_code=202, response_model=ReconcileAnswer,
            responses=NOT_FOUND)  # fmt: skip
async def reconcile_now(
    tenant: TenantName,
    runtime: RuntimeDep,
    wait: Annotated[bool, Query(description="answer when it is done, with the status")] = False,
) -> ReconcileAnswer:
    """Reconcile the tenant now; a `sync: manual` tenant's planned changes are applied too."""
    _known(runtime, tenant)
    task = runtime.scheduler.run_now(tenant, forced=True, requested=True)
    if not wait:
        return ReconcileAnswer(accepted=True)
    await asyncio.wait({task})
    return ReconcileAnswer(accepted=True, status=_detail(runtime, await _status(runtime, tenant)))


@admin.post("/{tenant}/suspend", response_model=TenantDetail, responses=NOT_FOUND)
async def suspend(tenant: TenantName, runtime: RuntimeDep) -> TenantDetail:
    return await _suspend(runtime, tenant, True)


@admin.post("/{tenant}/resume", response_model=TenantDetail, responses=NOT_FOUND)
async def resume(tenant: TenantName, runtime: RuntimeDep) -> TenantDetail:
    detail = await _suspend(runtime, tenant, False)
    runtime.scheduler.run_now(tenant, forced=True)
    return detail


async def _suspend(runtime: Runtime, tenant: str, suspended: bool) -> TenantDetail:
    _known(runtime, tenant)
    await asyncio.to_thread(runtime.store.set_suspended, tenant, suspended)
    return _detail(runtime, await _status(runtime, tenant))
