"""The machine-readable plan (``--format json``): a versioned, documented document.

Format version 1::

    {"format_version": "1", "has_changes": bool,
     "tenants": [{"tenant", "tenant_id", "catalog", "serial",
                  "resource_changes": [{"address", "kind", "name", "action", "reason",
                                        "identity", "remote_id", "depends_on",
                                        "fields": [{"path", "before", "after", "remote"}],
                                        "drift": [...same shape...]}],
                  "unmanaged": [{"kind", "identity"}]}]}
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.apply import ApplyResult
from reconciler.diff import FieldChange
from reconciler.plan import Plan, ResourceChange, TenantPlan
from reconciler.render.values import plain

FORMAT_VERSION = "1"


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "has_changes": plan.has_changes,
        "tenants": [_tenant(t) for t in plan.tenants],
    }


def render_plan_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, sort_keys=True, default=str)


def render_apply_json(results: list[ApplyResult]) -> str:
    steps = [
        {
            "address": f"{s.key.tenant}/{s.key.kind}/{s.key.name}",
            "action": s.action.value,
            "outcome": s.outcome,
            "error": s.error,
        }
        for r in results
        for s in r.steps
    ]
    return json.dumps({"format_version": FORMAT_VERSION, "steps": steps}, indent=2)


def _tenant(t: TenantPlan) -> dict[str, Any]:
    return {
        "tenant": t.tenant,
        "tenant_id": t.context.tenant_id,
        "catalog": t.context.catalog,
        "serial": t.serial,
        "resource_changes": [_change(c) for c in t.changes],
        "unmanaged": [{"kind": u.kind, "identity": u.identity} for u in t.unmanaged],
    }


def _change(c: ResourceChange) -> dict[str, Any]:
    return {
        "address": f"{c.key.kind}/{c.key.name}",
        "kind": c.key.kind,
        "name": c.key.name,
        "action": c.action.value,
        "reason": c.reason,
        "identity": c.identity,
        "remote_id": c.remote_id,
        "depends_on": [f"{k.kind}/{k.name}" for k in c.depends_on],
        "after": dict(c.desired.spec) if c.desired is not None else None,
        "fields": [_field(f) for f in c.fields],
        "drift": [_field(f) for f in c.drift],
    }


def _field(f: FieldChange) -> dict[str, Any]:
    return {
        "path": f.path,
        "before": plain(f.before),
        "after": plain(f.after),
        "remote": plain(f.remote),
    }
