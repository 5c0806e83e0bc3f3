"""Sync and health of a tenant's resources, from a fresh plan and what was observed.

Synced: the plan has nothing to do for the resource (no change, no drift, not
waiting). Health: Missing when the documents ask for an object that does not
exist, Progressing while it is not ready, Degraded when the last apply's step
for it failed, else Healthy. The tenant's are its worst resource's.
"""

from __future__ import annotations

from reconciler.agent_mcp import models as m
from reconciler.plan import Action, ResourceChange, TenantPlan
from reconciler.state import ApplyRecord

HEALTH_ORDER: tuple[m.Health, ...] = ("Healthy", "Progressing", "Missing", "Degraded")


def tenant_status(plan: TenantPlan, last: ApplyRecord | None) -> m.TenantStatus:
    from reconciler.agent_mcp.backend import apply_info

    errors = {
        f"{s.kind}/{s.name}": s.error or "failed"
        for s in (last.steps if last else ())
        if s.outcome != "ok"
    }
    resources = [resource_status(c, errors.get(c.address)) for c in plan.changes]
    sync: m.Sync = "Synced" if all(r.sync == "Synced" for r in resources) else "OutOfSync"
    health: m.Health = max((r.health for r in resources), key=HEALTH_ORDER.index, default="Healthy")
    return m.TenantStatus(
        tenant=plan.tenant,
        sync=sync,
        health=health,
        last_apply=apply_info(last) if last else None,
        last_error=next(iter(errors.values()), None),
        resources=resources,
    )


def resource_status(change: ResourceChange, error: str | None) -> m.ResourceStatus:
    synced = change.action is Action.NOOP and not change.drift and not change.wait
    health: m.Health
    if change.desired is not None and change.observed is None:
        health = "Missing"
    elif error is not None:
        health = "Degraded"
    elif change.wait or (change.observed is not None and not change.observed.ready):
        health = "Progressing"
    else:
        health = "Healthy"
    return m.ResourceStatus(
        kind=change.key.kind,
        name=change.key.name,
        sync="Synced" if synced else "OutOfSync",
        health=health,
        message="" if synced else change.reason,
        last_error=error,
    )
