"""The machine-readable plan (``--format json``), documented in ``specs/plan-json.md``.

Format version 1, like ``terraform show -json``: a document per run with every
tenant's resource changes, their reasons, field-level before/after/observed
values, drift, and sensitive markers. Secrets appear only as "(sensitive)".
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.diff import FieldChange
from reconciler.plan import Plan, ResourceChange, TenantPlan
from reconciler.render.values import plain
from reconciler.scrub import scrub_data
from reconciler.secrets import is_masked, masked_paths

FORMAT_VERSION = "1"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON document; every string in it is scrubbed of secrets."""
    return scrub_data(
        {
            "format_version": FORMAT_VERSION,
            "has_changes": plan.has_changes,
            "destructive": [f"{c.key.tenant}/{c.address}" for c in plan.destructive],
            "tenants": [_tenant(t) for t in plan.tenants],
        }
    )


def render_plan_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, sort_keys=True, default=str)


def _tenant(t: TenantPlan) -> dict[str, Any]:
    return {
        "tenant": t.tenant,
        "tenant_id": t.context.tenant_id,
        "catalog": t.context.catalog,
        "serial": t.serial,
        "resource_changes": [change_document(c) for c in t.changes],
        "unmanaged": [{"kind": u.kind, "identity": u.identity} for u in t.unmanaged],
    }


def change_document(c: ResourceChange) -> dict[str, Any]:
    """One resource change (scrubbed of secrets)."""
    after = dict(c.after) if c.after is not None else None
    return scrub_data(
        {
            "address": c.address,
            "kind": c.key.kind,
            "name": c.key.name,
            "action": c.action.value,
            "refresh": c.refresh,
            "reason": c.reason,
            "destructive": c.destructive,
            "identity": c.identity,
            "remote_id": c.remote_id,
            "depends_on": [f"{k.kind}/{k.name}" for k in c.depends_on],
            "lifecycle": dict(c.lifecycle),
            "after": plain(after),
            "sensitive_paths": [".".join(p) for p in masked_paths(after or {})],
            "fields": [field_document(f) for f in c.fields],
            "drift": [field_document(f) for f in c.drift],
            "fingerprint": c.fingerprint,
        }
    )


def field_document(f: FieldChange) -> dict[str, Any]:
    """One field change (scrubbed of secrets)."""
    return scrub_data(
        {
            "path": f.path,
            "before": plain(f.before),
            "after": plain(f.after),
            "remote": plain(f.remote),
            "sensitive": any(is_masked(v) for v in (f.before, f.after, f.remote)),
        }
    )
