"""The registry of resource kinds.

Each kind is one module in this package (see :mod:`reconciler.kinds.base` for
what a kind provides). ``KINDS`` lists them in an order where everything a
resource may depend on comes first: the tenant's catalog, then datasets and
notebooks, then the jobs that run notebooks, serving endpoints, and the vector
indexes that read datasets. Adding a kind is adding a module and a line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.kinds.base import Kind, RecordedResource, ResourceKey
from reconciler.kinds.dataset import Dataset
from reconciler.kinds.job import Job
from reconciler.kinds.notebook import Notebook
from reconciler.kinds.serving_endpoint import ServingEndpoint
from reconciler.kinds.tenant import Tenant, TenantSpec, tenant_context
from reconciler.kinds.vector_index import VectorIndex

KINDS: dict[str, Kind] = {
    kind.kind: kind
    for kind in (Tenant(), Dataset(), Notebook(), Job(), ServingEndpoint(), VectorIndex())
}
"""Every kind by its ``kind:`` name, in dependency-friendly order."""

KINDS_BY_COLLECTION: dict[str, Kind] = {kind.collection: kind for kind in KINDS.values()}
"""Every kind by the collection name references use (``${jobs.nightly.name}``)."""


def upgraded(
    recorded: Mapping[ResourceKey, RecordedResource],
) -> dict[ResourceKey, RecordedResource]:
    """Records as today's kinds shape their specs (older versions recorded other shapes)."""
    result = {}
    for key, record in recorded.items():
        spec = KINDS[key.kind].upgrade_recorded(record.spec) if key.kind in KINDS else record.spec
        result[key] = record if spec is record.spec else replace(record, spec=spec)
    return result


def get_kind(name: str) -> Kind:
    """The kind called ``name`` (``Job``) or holding collection ``name`` (``jobs``).

    Raises KeyError with a message listing the known kinds.
    """
    kind = KINDS.get(name) or KINDS_BY_COLLECTION.get(name)
    if kind is None:
        known = ", ".join(KINDS)
        raise KeyError(f"unknown kind {name!r}; known kinds: {known}")
    return kind


__all__ = [
    "KINDS",
    "KINDS_BY_COLLECTION",
    "Kind",
    "TenantSpec",
    "get_kind",
    "tenant_context",
    "upgraded",
]
