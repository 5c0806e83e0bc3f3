"""A tenant's status for ``get_status``: the rules of :mod:`reconciler.status`, live.

Sync and health come from a fresh plan (so they are current even without
``serve`` running), by the same rules ``serve`` records; whether the tenant is
suspended and the service's last error come from the status ``serve`` stored,
when it stored one; each resource's last error from the last apply.
"""

from __future__ import annotations

from reconciler.agent_mcp import models as m
from reconciler.plan import TenantPlan
from reconciler.state import ApplyRecord
from reconciler.status import (
    LatestRuns,
    TenantStatus,
    resource_statuses,
    tenant_health,
    tenant_sync,
)


def tenant_status(
    plan: TenantPlan,
    last: ApplyRecord | None,
    stored: TenantStatus | None,
    runs: LatestRuns | None = None,
) -> m.TenantStatus:
    from reconciler.agent_mcp.backend import apply_info

    suspended = stored.suspended if stored is not None else False
    errors = {
        f"{s.kind}/{s.name}": s.error or "failed"
        for s in (last.steps if last else ())
        if s.outcome != "ok"
    }
    statuses = resource_statuses(plan, suspended=suspended, latest_runs=runs)
    resources = [
        m.ResourceStatus(
            kind=r.kind,
            name=r.name,
            sync=r.sync.value,  # type: ignore[arg-type]
            health=r.health.value,  # type: ignore[arg-type]
            message=r.message,
            last_error=errors.get(r.address),
        )
        for r in statuses
    ]
    service_error = stored.last_error if stored is not None else None
    return m.TenantStatus(
        tenant=plan.tenant,
        sync=tenant_sync(statuses).value,  # type: ignore[arg-type]
        health=tenant_health(statuses, suspended=suspended).value,  # type: ignore[arg-type]
        suspended=suspended,
        last_apply=apply_info(last) if last else None,
        last_error=service_error or next(iter(errors.values()), None),
        resources=resources,
    )
