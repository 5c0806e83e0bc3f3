"""Which remote object an action means: spec names in, remote ids from the state out.

An action names a resource the way the documents do (tenant ``acme``, Job
``nightly-sales``); the state database says what was applied for it (its
remote id and identity) and which connector tenant it belongs to (the
tenantId and catalog every apply claims for the tenant), so no spec folder is
needed. A resource the state does not hold was never applied: the
error says so and what to run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ActionError, NotAppliedError
from reconciler.kinds.base import RecordedResource, ResourceKey, TenantContext
from reconciler.kinds.tenant import default_catalog
from reconciler.state import StateReader, TenantSnapshot

NOTEBOOK_ROOT = re.compile(r"^/Workspace/AgentProvision/([^/]+)/")
"""Every notebook of a tenant lives under its folder (the tenancy rule), named by its id."""

NOUNS = {
    "Job": "job",
    "Notebook": "notebook",
    "ServingEndpoint": "serving endpoint",
    "Dataset": "dataset",
    "VectorIndex": "vector index",
}


@dataclass(frozen=True)
class Target:
    """One applied resource, as an action addresses it."""

    tenant: TenantContext
    kind: str
    name: str
    identity: str  # job name, notebook path, table or index full name, endpoint name
    remote_id: str  # job id, notebook object id, ...
    spec: Mapping[str, Any]

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.tenant.name, self.kind, self.name)

    def describe(self) -> str:
        return f"{NOUNS.get(self.kind, self.kind)} {self.name} of tenant {self.tenant.name}"


def choose_tenant(reader: StateReader, tenant: str | None) -> str:
    """``tenant`` if the state knows it, or the only tenant when none is named."""
    known = reader.tenants()
    if tenant is not None:
        if tenant not in known:
            raise NotAppliedError(
                f"tenant {tenant} has never been applied to this state database",
                hint=f"known tenants: {', '.join(known) or 'none'}; "
                "run `reconciler apply <its folder>` first",
            )
        return tenant
    if len(known) == 1:
        return known[0]
    if not known:
        raise NotAppliedError(
            "the state database holds no tenant yet",
            hint="run `reconciler apply <folder>` first (or check DATABASE_URL)",
        )
    raise ActionError(
        f"the state database holds {len(known)} tenants ({', '.join(known)})",
        hint="name one with --tenant",
    )


def tenant_context(
    snapshot: TenantSnapshot, claimed: Mapping[str, str] | None = None
) -> TenantContext:
    """The connector's view of a tenant, from what the state database recorded for it.

    ``claimed`` is the tenant's claims (``StateStore.claims_of``: the tenantId
    and catalog every apply records). A state database written before claims
    existed holds only the catalog's claim; its tenant id is then the one the
    tenant's notebooks live under, else the tenant's name (the default of
    ``tenantId``).
    """
    name = snapshot.tenant
    claimed = claimed or {}
    records = snapshot.resources.values()
    tenant_id = claimed.get("tenant_id")
    if tenant_id is None:
        recorded_ids = {str(r.spec["tenant_id"]) for r in records if r.spec.get("tenant_id")}
        from_paths = {m.group(1) for r in records if (m := NOTEBOOK_ROOT.match(r.identity))}
        tenant_id = next(iter(sorted(recorded_ids or from_paths)), name)
    catalog = claimed.get("catalog") or next(
        (r.identity for r in records if r.key.kind == "Tenant"), default_catalog(tenant_id)
    )
    return TenantContext(name=name, tenant_id=tenant_id, catalog=catalog)


def recorded_context(reader: StateReader, snapshot: TenantSnapshot) -> TenantContext:
    """:func:`tenant_context` with the claims ``reader`` holds for the tenant."""
    return tenant_context(snapshot, reader.claims_of(snapshot.tenant))


def find_target(
    reader: StateReader,
    kind: str,
    name: str,
    *,
    tenant: str | None = None,
    context: TenantContext | None = None,
) -> Target:
    """The applied resource ``kind``/``name`` of ``tenant``.

    ``context``, when the caller knows the tenant from its documents (the
    service and the MCP server do), is used instead of the one worked out
    from the state, and an unknown tenant's error names no other tenant.
    """
    if context is not None:
        chosen = context.name
        snapshot = reader.read_tenant(chosen)
        if snapshot.serial == 0 and not snapshot.resources:
            raise NotAppliedError(  # other tenants' names are not the caller's to see
                f"tenant {chosen} has not been applied yet",
                hint="apply its documents first (`reconciler apply`, or a reconcile of the service)",
            )
    else:
        chosen = choose_tenant(reader, tenant)
        snapshot = reader.read_tenant(chosen)
    record = snapshot.resources.get(ResourceKey(chosen, kind, name))
    if record is None:
        raise NotAppliedError(
            f"{NOUNS.get(kind, kind)} {name} of tenant {chosen} has not been applied yet",
            hint=f"add it to the tenant's documents and run `reconciler apply`; "
            f"applied so far: {_recorded_names(snapshot, kind)}",
        )
    return _target(context or recorded_context(reader, snapshot), record)


def _target(context: TenantContext, record: RecordedResource) -> Target:
    return Target(
        tenant=context,
        kind=record.key.kind,
        name=record.key.name,
        identity=record.identity,
        remote_id=record.remote_id,
        spec=record.spec,
    )


def _recorded_names(snapshot: TenantSnapshot, kind: str) -> str:
    names = sorted(k.name for k in snapshot.resources if k.kind == kind)
    return ", ".join(names) if names else f"no {NOUNS.get(kind, kind)}s"


def targets_of(reader: StateReader, tenant: str, kind: str) -> list[Target]:
    """Every applied resource of ``kind`` in ``tenant``, by name."""
    snapshot = reader.read_tenant(tenant)
    context = recorded_context(reader, snapshot)
    return [
        _target(context, record)
        for key, record in sorted(snapshot.resources.items())
        if key.kind == kind
    ]
