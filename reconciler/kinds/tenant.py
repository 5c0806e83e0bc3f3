"""Tenant: the tenant's own Unity Catalog catalog, and the policy its documents follow.

Every tenant folder holds exactly one ``Tenant`` document. It names the
AgentProvision tenant id used in every connector call, the catalog that holds
the tenant's datasets and indexes, and how the reconciler treats the tenant:
whether documents removed from the folder delete their objects (``prune``) and
whether changes made outside the reconciler are undone or only reported
(``drift``).

Remotely a tenant is its catalog (``/databricks/catalogs/{tenant_id}``); the
policy never leaves the reconciler.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.kinds.base import (
    MANAGED_BY,
    WORKSPACE_ROOT,
    DesiredResource,
    FieldRule,
    Kind,
    Namespace,
    ObservedResource,
    ReadFile,
    Rule,
    SpecBase,
    TenantContext,
    etag,
)
from reconciler.variables import Target, Variable

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
CATALOG_PATTERN = r"^[a-z0-9_]{1,255}$"


class SyncWindow(BaseModel):
    """A time span in which `reconciler serve` may (allow) or may not (deny) change anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["allow", "deny"] = Field(description="'allow' or 'deny'.")
    schedule: str = Field(
        description="When the window opens: a Quartz cron expression, seconds first "
        "(e.g. '0 0 22 ? * MON-FRI' opens at 22:00 on weekdays)."
    )
    duration: str = Field(description="How long it stays open: 30m, 1h30m, 8h, 1d.")
    timezone: str = Field(default="UTC", description="Time zone id the schedule is read in.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from reconciler.windows import quartz_trigger

        quartz_trigger(value)
        return " ".join(value.split())

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        from reconciler.windows import parse_duration

        parse_duration(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from reconciler.windows import check_zone

        return check_zone(value)


class TenantPolicy(BaseModel):
    """How the reconciler treats this tenant's resources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prune: bool | None = Field(
        default=None,
        description="Delete remote objects whose documents were removed from the tenant "
        "folder. When false they are only forgotten and listed as unmanaged. Unset: "
        "`plan`/`apply` prune, `serve` does not (as in Argo CD).",
    )
    drift: Literal["revert", "report"] = Field(
        default="revert",
        description="What to do when an object was changed outside the reconciler: "
        "'revert' puts the documented values back, 'report' only lists the drift.",
    )
    sync: Literal["auto", "manual"] = Field(
        default="auto",
        description="For `reconciler serve`: 'auto' applies changes, 'manual' only plans "
        "and reports them (apply them with `reconciler apply` or POST .../reconcile).",
    )
    suspend: bool = Field(
        default=False,
        description="For `reconciler serve`: neither plan nor change this tenant.",
    )
    windows: tuple[SyncWindow, ...] = Field(
        default=(),
        description="For `reconciler serve`: when changes may (allow) or may not (deny) be made.",
    )


ENDPOINT_PREFIX_PATTERN = r"^[A-Za-z0-9_-]{1,62}$"


class TenantNamespace(BaseModel):
    """What the tenant's documents may name besides its workspace folder and its catalog.

    The workspace folder is always ``/Workspace/AgentProvision/<tenantId>/`` and the
    catalog the tenant's own; vector indexes are named inside that catalog.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint_prefix: str | None = Field(
        default=None,
        pattern=ENDPOINT_PREFIX_PATTERN,
        description="Every serving endpoint of the tenant is named with this prefix "
        "(endpoint names are unique across the workspace). Defaults to the tenant's "
        "metadata.name and `-` (acme-).",
    )
    endpoints: tuple[str, ...] = Field(
        default=(),
        description="Serving endpoint names outside the prefix that the tenant may create "
        "or embed with (an explicit allow list).",
    )
    shared_catalogs: tuple[str, ...] = Field(
        default=("system",),
        description="Catalogs besides the tenant's own that its serving endpoints may serve "
        "models from; never another tenant's catalog. Default: system (Databricks' models).",
    )


class TenantSpec(SpecBase):
    """An AgentProvision tenant: its catalog and reconcile policy."""

    tenant_id: str | None = Field(
        default=None,
        alias="tenantId",
        pattern=TENANT_ID_PATTERN,
        description="AgentProvision tenant id used in every connector call. "
        "Defaults to the document's metadata.name.",
    )
    catalog: str | None = Field(
        default=None,
        pattern=CATALOG_PATTERN,
        description="Unity Catalog catalog of the tenant (lower-case letters, digits, _). "
        "Defaults to agentprovision_<tenantId> with other characters replaced by _. "
        "Cannot change once created.",
    )
    comment: str = Field(default="", description="Comment shown on the catalog.")
    properties: dict[str, str] = Field(
        default_factory=dict, description="Key/value properties set on the catalog."
    )
    policy: TenantPolicy = Field(
        default_factory=TenantPolicy,
        description="How removed documents and outside changes are handled.",
    )
    namespace: TenantNamespace = Field(
        default_factory=TenantNamespace,
        description="Endpoint names and shared catalogs the tenant's documents may use; "
        "anything outside the namespace is refused by validate.",
    )
    variables: dict[str, Variable] = Field(
        default_factory=dict,
        description="Variables the tenant's documents use as ${var.NAME} (default, "
        "description, type); set per target, with --var NAME=VALUE or RECONCILER_VAR_NAME.",
    )
    targets: dict[str, Target] = Field(
        default_factory=dict,
        description="Deployment targets chosen with --target-env NAME: variable values and "
        "presets (job name prefix, paused triggers, extra tags).",
    )


def default_catalog(tenant_id: str) -> str:
    """``agentprovision_<tenant_id>``, lower-cased, anything outside [a-z0-9_] made ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", f"agentprovision_{tenant_id}".lower())


def tenant_context(name: str, spec: TenantSpec) -> TenantContext:
    """The connector-facing identity of the tenant a ``Tenant`` document describes."""
    tenant_id = spec.tenant_id or name
    return TenantContext(
        name=name, tenant_id=tenant_id, catalog=spec.catalog or default_catalog(tenant_id)
    )


def tenant_namespace(
    context: TenantContext, spec: TenantSpec, taken: tuple[tuple[str, str], ...] = ()
) -> Namespace:
    """The namespace of the tenant a ``Tenant`` document describes (``taken``: see Namespace)."""
    ns = spec.namespace
    return Namespace(
        tenant=context.name,
        folder=f"{WORKSPACE_ROOT}{context.tenant_id}/",
        catalog=context.catalog,
        endpoint_prefix=ns.endpoint_prefix or f"{context.name}-",
        endpoints=frozenset(ns.endpoints),
        shared_catalogs=frozenset(ns.shared_catalogs),
        taken=taken,
    )


class Tenant(Kind):
    """The tenant's catalog. Deleting it destroys every table in it."""

    kind = "Tenant"
    noun = "catalog"
    collection = "tenants"
    spec_model = TenantSpec
    data_bearing = True
    rules = (
        FieldRule(
            "catalog_name",
            Rule.CREATE_ONLY,
            "the connector cannot rename a catalog; a new name is a new catalog",
        ),
        FieldRule("comment", Rule.SERVER_DEFAULT, "an absent comment reads as empty", ""),
        FieldRule("properties", Rule.SERVER_DEFAULT, "absent properties read as empty", {}),
    )

    # ---- pure side -------------------------------------------------------------------

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        return tenant.catalog

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"name": name, "tenant_id": tenant.tenant_id, "catalog": tenant.catalog}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{catalog_name, comment, properties}``; the policy is not a remote setting."""
        assert isinstance(spec, TenantSpec)
        return {
            "catalog_name": tenant.catalog,
            "comment": spec.comment,
            "properties": dict(spec.properties),
        }, {}

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        spec = {k: v for k, v in observed.spec.items() if k in ("comment", "properties") and v}
        return {"catalog": observed.identity, **spec}

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        catalog = str(raw["catalog_name"])
        return ObservedResource(
            kind=self.kind,
            identity=catalog,
            remote_id=catalog,
            spec={
                "catalog_name": catalog,
                "comment": raw.get("comment") or "",
                "properties": {str(k): str(v) for k, v in (raw.get("properties") or {}).items()},
            },
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
        )

    # ---- connector side --------------------------------------------------------------

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return f"/databricks/catalogs/{tenant.tenant_id}", {}

    async def list(self, client: ConnectorClient, tenant: TenantContext) -> list[ObservedResource]:
        """The tenant's catalog, if it has one (a tenant has at most one)."""
        raw = await client.get(f"/databricks/catalogs/{tenant.tenant_id}")
        if not raw or not raw.get("exists", True) or not raw.get("catalog_name"):
            return []
        return [self.project(raw)]

    async def create(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        spec = desired.values()
        await client.post(
            "/databricks/catalogs",
            idempotency_key=idempotency_key,
            json={
                "tenant_id": tenant.tenant_id,
                "catalog_name": spec["catalog_name"],
                "comment": spec["comment"],
                "properties": dict(spec["properties"]),
                "managed_by": MANAGED_BY,
            },
        )
        return str(spec["catalog_name"])

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """PATCH the comment and/or the properties (replaced whole)."""
        body = {f: desired.values()[f] for f in ("comment", "properties") if f in changed}
        if body:
            await client.patch(
                f"/databricks/catalogs/{tenant.tenant_id}", json=body, if_match=etag(observed)
            )
