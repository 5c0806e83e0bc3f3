"""Drift: where the remote objects moved away from what the reconciler last applied.

Drift compares the record (R) with what is observed (O) — no documents are
needed, nothing is changed. Per resource it lists the recorded fields whose
remote value moved, or that the object is gone; per tenant it lists the
objects nobody manages. ``drift_report`` is pure; ``observe_drift`` observes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.diff import FieldChange, drift_changes
from reconciler.kinds import KINDS, upgraded
from reconciler.kinds.base import ObservedResource, RecordedResource, ResourceKey, TenantContext
from reconciler.load import TenantDesired
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Matcher, Unmanaged
from reconciler.reconcile import observe_tenant
from reconciler.render.jsonout import field_document
from reconciler.secrets import mask_paths, masked_paths
from reconciler.state import StateStore


@dataclass(frozen=True)
class ResourceDrift:
    key: ResourceKey
    identity: str
    status: str  # "changed" | "deleted"
    fields: tuple[FieldChange, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.key.kind}/{self.key.name}"


@dataclass(frozen=True)
class DriftReport:
    tenant: str
    serial: int
    drifted: tuple[ResourceDrift, ...]
    unmanaged: tuple[Unmanaged, ...]

    @property
    def has_drift(self) -> bool:
        return bool(self.drifted)

    def document(self) -> dict[str, Any]:
        """The JSON form (also what the state database keeps as drift history)."""
        return {
            "tenant": self.tenant,
            "serial": self.serial,
            "drifted": [
                {
                    "address": d.address,
                    "identity": d.identity,
                    "status": d.status,
                    "fields": [field_document(f) for f in d.fields],
                }
                for d in self.drifted
            ],
            "unmanaged": [{"kind": u.kind, "identity": u.identity} for u in self.unmanaged],
        }


def drift_report(
    tenant: str,
    serial: int,
    recorded: Mapping[ResourceKey, RecordedResource],
    observed: Sequence[ObservedResource],
) -> DriftReport:
    """Compare every record with the object it matches (pure)."""
    recorded = upgraded(recorded)
    matcher = Matcher(observed)
    drifted: list[ResourceDrift] = []
    for key in sorted(recorded, key=lambda k: (list(KINDS).index(k.kind), k.name)):
        rec = recorded[key]
        obs = matcher.take(key.kind, rec, rec.identity)
        if obs is None:
            drifted.append(ResourceDrift(key, rec.identity, "deleted"))
            continue
        spec = mask_paths(obs.spec, masked_paths(rec.spec))
        ignore = tuple(rec.lifecycle.get("ignore_changes", ()))
        fields = drift_changes(KINDS[key.kind], rec.spec, spec, ignore=ignore)
        if fields:
            drifted.append(ResourceDrift(key, rec.identity, "changed", fields))
    unmanaged = tuple(Unmanaged(o.kind, o.identity) for o in matcher.leftover())
    return DriftReport(tenant, serial, tuple(drifted), unmanaged)


async def observe_drift(
    tenant: TenantDesired | TenantContext, *, store: StateStore, client: ConnectorClient
) -> DriftReport:
    context = tenant.context if isinstance(tenant, TenantDesired) else tenant
    snapshot = store.read_tenant(context.name)
    observed = await observe_tenant(client, context)
    return drift_report(context.name, snapshot.serial, snapshot.resources, observed)


async def observe_drifts(
    tenants: Sequence[TenantDesired], *, store: StateStore, client: ConnectorClient
) -> list[DriftReport]:
    """Drift of every tenant (observed concurrently), each run kept in the drift history."""
    reports = await asyncio.gather(*(observe_drift(t, store=store, client=client) for t in tenants))
    for report in reports:
        store.record_drift(report.tenant, report.document())
    return list(reports)
