"""What the status page shows, read from the same library the JSON API and the CLI use.

Everything here is plain data for the templates (which escape every value):
the tenants' stored statuses, the state's records, the apply and drift
history, and the connector's answers through :mod:`reconciler.actions`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from reconciler.actions import Target, find_target
from reconciler.errors import ConnectorError
from reconciler.kinds import KINDS
from reconciler.kinds.base import ResourceKey
from reconciler.service.runtime import Runtime
from reconciler.state.records import ApplyRecord
from reconciler.status import TenantStatus
from reconciler.windows import Window, blocked_by, parse_duration

PAGES = {
    "Job": "jobs",
    "ServingEndpoint": "endpoints",
    "Dataset": "datasets",
    "VectorIndex": "indexes",
}
"""Kinds with a page of their own, and the path segment of that page."""

KIND_OF_PAGE = {segment: kind for kind, segment in PAGES.items()}


@dataclass(frozen=True)
class TenantRow:
    status: TenantStatus
    labels: Mapping[str, str]
    window: str | None  # why changes are held back by a sync window now
    problem: str | None  # why the newest commit is not in force


@dataclass(frozen=True)
class SourceView:
    description: str
    commit: str | None
    fetched_at: datetime | None
    error: str | None
    problems: Mapping[str, str]


@dataclass(frozen=True)
class ResourceView:
    kind: str
    name: str
    sync: str
    health: str
    message: str
    identity: str | None
    labels: Mapping[str, str]
    link: str | None  # the object in the Databricks workspace
    page: str | None  # its page here (jobs, endpoints, datasets, indexes)
    changed_at: datetime | None
    changed_by: str | None  # the action of the last successful step
    error: str | None  # the last step's error, when the last step failed


@dataclass(frozen=True)
class Databricks:
    """The backend's view of a tenant: the connector answers, the catalog exists."""

    connector_ok: bool
    connector_error: str | None
    catalog_name: str
    catalog_exists: bool
    catalog_link: str | None


@dataclass(frozen=True)
class TenantView:
    status: TenantStatus
    labels: Mapping[str, str]
    window: str | None
    policy: Mapping[str, Any]
    resources: tuple[ResourceView, ...]
    databricks: Databricks


@dataclass(frozen=True)
class DriftView:
    current: tuple[Mapping[str, Any], ...]
    reports: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    policy: str = "revert"


def known(runtime: Runtime, tenant: str) -> bool:
    return tenant in runtime.controller.entries


def source(runtime: Runtime) -> SourceView:
    controller = runtime.controller
    fetched = controller.fetched_at
    return SourceView(
        description=runtime.source.description,
        commit=controller.commit,
        fetched_at=datetime.fromtimestamp(fetched, UTC) if fetched else None,
        error=controller.fetch_error,
        problems=dict(controller.problems),
    )


def _window(runtime: Runtime, tenant: str) -> str | None:
    policy = runtime.controller.policy(tenant)
    try:
        windows = [
            Window(w.kind, w.schedule, parse_duration(w.duration), w.timezone)
            for w in policy.windows
        ]
    except ValueError as exc:  # validated when loaded; say so rather than fail the page
        return str(exc)
    return blocked_by(windows, datetime.now(UTC))


def _tenant_labels(runtime: Runtime, tenant: str) -> Mapping[str, str]:
    desired = runtime.controller.entry(tenant).desired
    own = desired.resources.get(ResourceKey(tenant, "Tenant", tenant))
    return dict(own.labels) if own else {}


async def _stored(runtime: Runtime, tenant: str) -> TenantStatus:
    stored = await asyncio.to_thread(runtime.store.tenant_status, tenant)
    entry = runtime.controller.entry(tenant)
    if stored is None:
        return TenantStatus(tenant, commit=entry.commit, message=entry.problem or "")
    return stored


async def tenants(runtime: Runtime) -> list[TenantRow]:
    """Every tenant of the source, with its stored status."""
    stored = {s.tenant: s for s in await asyncio.to_thread(runtime.store.tenant_statuses)}
    rows = []
    for name in sorted(runtime.controller.entries):
        entry = runtime.controller.entries[name]
        status = stored.get(name) or TenantStatus(name, commit=entry.commit)
        rows.append(
            TenantRow(status, _tenant_labels(runtime, name), _window(runtime, name), entry.problem)
        )
    return rows


async def tenant(runtime: Runtime, name: str) -> TenantView:
    """One tenant: its resources with their records, last changes and links, and the backend."""
    status = await _stored(runtime, name)
    entry = runtime.controller.entry(name)
    snapshot = await asyncio.to_thread(runtime.store.read_tenant, name)
    history = await asyncio.to_thread(runtime.store.history, name, 50)
    databricks = await _databricks(runtime, name)
    host = _workspace(databricks.catalog_link)
    last = _last_steps(history)
    resources = []
    for r in status.resources:
        key = ResourceKey(name, r.kind, r.name)
        record = snapshot.resources.get(key)
        desired = entry.desired.resources.get(key)
        ok, failed = last.get((r.kind, r.name), (None, None))
        resources.append(
            ResourceView(
                kind=r.kind,
                name=r.name,
                sync=r.sync.value,
                health=r.health.value,
                message=r.message,
                identity=record.identity if record else None,
                labels=dict(desired.labels) if desired else {},
                link=_link(host, r.kind, record.identity, record.remote_id)
                if record and host
                else (databricks.catalog_link if r.kind == "Tenant" else None),
                page=PAGES.get(r.kind) if record else None,
                changed_at=ok[0] if ok else None,
                changed_by=ok[1] if ok else None,
                error=failed,
            )
        )
    policy = runtime.controller.policy(name).model_dump(mode="json")
    return TenantView(
        status,
        _tenant_labels(runtime, name),
        _window(runtime, name),
        policy,
        tuple(resources),
        databricks,
    )


def _last_steps(
    history: list[ApplyRecord],
) -> dict[tuple[str, str], tuple[tuple[datetime, str] | None, str | None]]:
    """Per resource: (time, action) of its newest successful step; the newest step's error."""
    found: dict[tuple[str, str], tuple[tuple[datetime, str] | None, str | None]] = {}
    for apply in history:  # newest first
        for step in reversed(apply.steps):
            key = (step.kind, step.name)
            ok, error = found.get(key, (None, None))
            if key not in found:
                error = step.error if step.outcome == "failed" else None
            if ok is None and step.outcome == "ok":
                ok = (step.at, step.action)
            found[key] = (ok, error)
    return found


async def _databricks(runtime: Runtime, name: str) -> Databricks:
    context = runtime.controller.entry(name).desired.context
    try:
        await runtime.client.health()
    except ConnectorError as exc:
        return Databricks(False, str(exc), context.catalog, False, None)
    try:
        found = await KINDS["Tenant"].list(runtime.client, context)
    except ConnectorError as exc:
        return Databricks(True, f"reading the catalog failed: {exc}", context.catalog, False, None)
    if not found:
        return Databricks(True, None, context.catalog, False, None)
    link = _https(str(found[0].raw.get("catalog_url") or ""))
    return Databricks(True, None, found[0].identity, True, link)


def _https(url: str) -> str | None:
    """``url`` when it is an https URL (anything else is never made a link)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme == "https" and parts.netloc else None


def _workspace(catalog_link: str | None) -> str | None:
    if not catalog_link:
        return None
    parts = urlsplit(catalog_link)
    return f"https://{parts.netloc}"


def _link(host: str | None, kind: str, identity: str, remote_id: str) -> str | None:
    """The object's page in the Databricks workspace (the workspace's own URL layout)."""
    if host is None:
        return None

    def path(*segments: str) -> str:
        return "/".join(quote(s, safe="") for s in segments)

    if kind == "Job":
        return f"{host}/jobs/{path(remote_id)}"
    if kind == "Notebook":
        return f"{host}/editor/notebooks/{path(remote_id)}"
    if kind == "ServingEndpoint":
        return f"{host}/ml/endpoints/{path(identity)}"
    if kind in ("Dataset", "VectorIndex") and identity.count(".") == 2:
        return f"{host}/explore/data/{path(*identity.split('.'))}"
    if kind == "Tenant":
        return f"{host}/explore/data/{path(identity)}"
    return None


async def drift(runtime: Runtime, name: str, limit: int = 10) -> DriftView:
    """The current drift (field by field) and the last reports."""
    status = await _stored(runtime, name)
    records = await asyncio.to_thread(runtime.store.drift_history, name, limit)
    reports = tuple({"id": r.id, "at": r.at, **dict(r.report)} for r in records)
    current = tuple(reports[0].get("drifted") or ()) if reports and status.drift else ()
    return DriftView(current, reports, runtime.controller.policy(name).drift)


async def history(runtime: Runtime, name: str, limit: int = 20) -> list[ApplyRecord]:
    return await asyncio.to_thread(runtime.store.history, name, limit)


async def target(runtime: Runtime, tenant: str, kind: str, name: str) -> Target:
    """The applied resource, with the tenant's context from its documents (as the API does)."""
    context = runtime.controller.entry(tenant).desired.context
    return await asyncio.to_thread(
        find_target, runtime.store, kind, name, tenant=tenant, context=context
    )
