"""Claims: a ``tenantId``, a catalog and an endpoint prefix belong to exactly one tenant.

Two checks keep one tenant from taking over another's (issue: a second folder
saying ``tenantId: <theirs>`` with ``adopt: true`` took their catalog):

- **In one source tree** (``validate``): two tenant folders giving the same
  ``metadata.name``, ``tenantId``, catalog or endpoint prefix are an error in
  *both* Tenant documents, each naming the other's file:line; a tenant listing
  another tenant's catalog as shared, or an endpoint name in another tenant's
  prefix, likewise. No adopt flag overrides any of this.
- **In one state database** (``plan`` and ``apply``): the ``claims`` table
  records the tenant holding each tenantId and catalog. ``plan`` refuses a
  tenant that claims a value another tenant holds, naming both, before any
  connector call; ``apply`` writes the tenant's claims (the table's primary key
  makes a race for one value have one winner).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.errors import ClaimError
from reconciler.kinds.base import Namespace, TenantContext
from reconciler.sources import Report, SourceDocument
from reconciler.yamlpos import FieldPath

if TYPE_CHECKING:
    from reconciler.state import StateStore

KIND_WORDS = {"tenant_id": "tenantId", "catalog": "catalog"}
"""How messages name each claim kind."""


def wanted(context: TenantContext) -> dict[str, str]:
    """The values the tenant claims in a state database, by claim kind."""
    return {"tenant_id": context.tenant_id, "catalog": context.catalog}


def _refusal(context: TenantContext, held: dict[str, str]) -> ClaimError:
    values = wanted(context)
    taken = "; ".join(
        f"{KIND_WORDS[kind]} `{values[kind]}` is held by tenant `{owner}`"
        for kind, owner in sorted(held.items())
    )
    return ClaimError(
        f"tenant `{context.name}` claims what another tenant of this state database holds: "
        f"{taken}. A tenantId and a catalog belong to one tenant (no adopt flag overrides "
        "this)",
        hint=f"give tenant `{context.name}` its own spec.tenantId and spec.catalog",
    )


def check(store: StateStore, context: TenantContext) -> None:
    """Raise :class:`ClaimError` when another tenant holds one of the tenant's claims."""
    held = store.claim_holders(wanted(context))
    others = {kind: owner for kind, owner in held.items() if owner != context.name}
    if others:
        raise _refusal(context, others)


def stake(store: StateStore, context: TenantContext) -> None:
    """Record the tenant's claims (those it does not hold yet); :class:`ClaimError` when
    another tenant holds one."""
    others = store.add_claims(context.name, wanted(context))
    if others:
        raise _refusal(context, others)


# ---- one source tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class TreeTenant:
    """One tenant folder of the tree as its Tenant document declares it (``context`` and
    ``namespace`` are None when that document is invalid: only its name is compared)."""

    doc: SourceDocument
    name: str
    context: TenantContext | None = None
    namespace: Namespace | None = None


@dataclass(frozen=True)
class _Claim:
    word: str  # what messages call it
    value: str
    field: FieldPath  # where the Tenant document gives it (or what it defaults from)


def _written(doc: SourceDocument, *path: str) -> bool:
    node: object = doc.data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _claims(tenant: TreeTenant) -> dict[str, _Claim]:
    doc, context = tenant.doc, tenant.context
    name_field: FieldPath = ("metadata", "name")
    claims = [_Claim("tenant name", tenant.name, name_field)]
    if context is not None and tenant.namespace is not None:
        id_field = ("spec", "tenantId") if _written(doc, "spec", "tenantId") else name_field
        catalog_field = ("spec", "catalog") if _written(doc, "spec", "catalog") else id_field
        prefix_path = ("spec", "namespace", "endpoint_prefix")
        prefix_field = prefix_path if _written(doc, *prefix_path) else name_field
        claims += [
            _Claim("tenantId", context.tenant_id, id_field),
            _Claim("catalog", context.catalog, catalog_field),
            _Claim("endpoint prefix", tenant.namespace.endpoint_prefix, prefix_field),
        ]
    return {claim.word: claim for claim in claims}


def check_tree(tenants: Sequence[TreeTenant], report: Report) -> None:
    """Report every claim two tenant folders share, in both Tenant documents (one message
    per pair of folders, the first claim they share), in time linear in the tenants."""
    claims = [_claims(t) for t in tenants]
    holders: dict[tuple[str, str], list[int]] = {}
    for i, mine in enumerate(claims):
        for word, claim in mine.items():
            holders.setdefault((word, claim.value), []).append(i)
    blamed: set[tuple[int, int]] = set()
    for i, mine in enumerate(claims):
        for word, claim in mine.items():
            for j in holders[(word, claim.value)]:
                if j == i or (i, j) in blamed:
                    continue
                blamed.add((i, j))
                other = tenants[j]
                report.add(
                    tenants[i].doc,
                    claim.field,
                    f"{word} `{claim.value}` is also claimed by the Tenant document at "
                    f"{other.doc.where()} (tenant `{other.name}`); a {word} belongs to exactly "
                    "one tenant folder (no adopt flag overrides this): give each its own",
                )
    for i in range(len(tenants)):
        _check_namespace_lists(i, tenants, blamed, report)


def _check_namespace_lists(
    i: int, tenants: Sequence[TreeTenant], blamed: set[tuple[int, int]], report: Report
) -> None:
    """``spec.namespace`` of tenant ``i`` lists no other tenant's catalog or endpoint."""
    tenant = tenants[i]
    ns = _namespace_data(tenant.doc)
    shared, listed = ns.get("shared_catalogs") or [], ns.get("endpoints") or []
    if not shared and not listed:
        return
    for j, other in enumerate(tenants):
        if j == i or (i, j) in blamed or other.context is None or other.namespace is None:
            continue
        there, catalog = other.doc.where(), other.context.catalog
        if catalog in shared:
            blamed.add((i, j))
            report.add(
                tenant.doc,
                ("spec", "namespace", "shared_catalogs", shared.index(catalog)),
                f"catalog `{catalog}` belongs to tenant `{other.name}` ({there}); "
                "a tenant never shares another tenant's catalog: remove it",
            )
            continue
        prefix = other.namespace.endpoint_prefix
        index = next(
            (k for k, n in enumerate(listed) if isinstance(n, str) and n.startswith(prefix)), None
        )
        if index is not None:
            blamed.add((i, j))
            report.add(
                tenant.doc,
                ("spec", "namespace", "endpoints", index),
                f"serving endpoint `{listed[index]}` is in tenant `{other.name}`'s namespace "
                f"(endpoint prefix `{prefix}`, {there}); list only names of this tenant's own",
            )


def _namespace_data(doc: SourceDocument) -> dict[str, list[object]]:
    """``spec.namespace`` as written (lists only; anything else is the schema's to report)."""
    spec = doc.data.get("spec")
    ns = spec.get("namespace") if isinstance(spec, dict) else None
    if not isinstance(ns, dict):
        return {}
    return {k: v for k, v in ns.items() if isinstance(v, list)}


def taken_prefixes(
    tenant: TenantContext, prefix: str, others: Sequence[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The other tenants' (prefix, tenant) pairs that are longer and start with ``prefix``."""
    return tuple(
        (p, name)
        for p, name in others
        if name != tenant.name and p != prefix and p.startswith(prefix)
    )
