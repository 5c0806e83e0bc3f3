"""ServingEndpoint: a model-serving endpoint that deploys one Unity Catalog model version.

The endpoint's name is the document's ``metadata.name`` (names are unique
across the workspace, not only the tenant). Deploying and re-configuring take
a while: the connector answers at once and the endpoint settles later, so
apply waits (``wait_ready``) until the endpoint is READY and no config update
is in progress. While an update is pending, the pending config is what the
endpoint is becoming, so that is what is compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.errors import ConflictError, ConnectorError
from reconciler.kinds.base import (
    MANAGED_BY,
    Created,
    DesiredResource,
    FieldProblem,
    FieldRule,
    Kind,
    Namespace,
    ObservedResource,
    ReadFile,
    Rule,
    SpecBase,
    TenantContext,
)

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MODEL_NAME = r"^[^.\s]+\.[^.\s]+\.[^.\s]+$"


class ModelRef(BaseModel):
    """The registered model version the endpoint serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=MODEL_NAME, description="Unity Catalog model name: catalog.schema.model."
    )
    version: str = Field(min_length=1, description="Model version (a number or a string).")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class ServingEndpointSpec(SpecBase):
    """A serving endpoint with one served model."""

    model: ModelRef = Field(description="The model version to serve.")
    workload_size: Literal["Small", "Medium", "Large"] = Field(
        default="Small", description="Compute per replica: Small, Medium or Large."
    )
    scale_to_zero: bool = Field(
        default=True, description="Let the endpoint scale to zero replicas when idle."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on the endpoint.")


def _served_entity(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "entity_name": spec["model"]["name"],
        "entity_version": spec["model"]["version"],
        "workload_size": spec["workload_size"],
        "scale_to_zero_enabled": spec["scale_to_zero"],
    }


def _observed_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    config = raw.get("pending_config") or raw.get("config") or {}
    entities = config.get("served_entities") or [{}]
    entity = entities[0]
    return {
        "model": {
            "name": entity.get("entity_name"),
            "version": None
            if entity.get("entity_version") is None
            else str(entity["entity_version"]),
        },
        "workload_size": entity.get("workload_size") or "Small",
        "scale_to_zero": bool(entity.get("scale_to_zero_enabled", True)),
    }


def _is_ready(raw: Mapping[str, Any]) -> bool:
    state = raw.get("state") or {}
    return state.get("ready") == "READY" and state.get("config_update") == "NOT_UPDATING"


class ServingEndpoint(Kind):
    """A model-serving endpoint; apply waits until it is ready."""

    kind = "ServingEndpoint"
    noun = "serving endpoint"
    collection = "serving_endpoints"
    list_path = "/databricks/serving-endpoints"
    list_items = "endpoints"
    spec_model = ServingEndpointSpec
    ready_timeout: ClassVar[float] = 600.0
    rules = (
        FieldRule("workload_size", Rule.SERVER_DEFAULT, "the connector deploys Small", "Small"),
        FieldRule("scale_to_zero", Rule.SERVER_DEFAULT, "scale to zero is on by default", True),
        FieldRule("tags", Rule.SERVER_DEFAULT, "absent tags read as {}", {}),
    )

    # ---- pure side -------------------------------------------------------------------

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        return name

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"name": name}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{model{name, version}, workload_size, scale_to_zero, tags}``."""
        assert isinstance(spec, ServingEndpointSpec)
        if not ENDPOINT_NAME.match(name):
            raise FieldProblem(
                f"endpoint name {name!r} (metadata.name) must be 1-63 letters, digits, - or _"
            )
        return {
            "model": {"name": spec.model.name, "version": spec.model.version},
            "workload_size": spec.workload_size,
            "scale_to_zero": spec.scale_to_zero,
            "tags": dict(spec.tags),
        }, {}

    def check_namespace(
        self, namespace: Namespace, identity: str, spec: BaseModel, normalized: Mapping[str, Any]
    ) -> None:
        """The endpoint's name is in the tenant's namespace; its model is in the tenant's
        catalog (or a catalog the Tenant lists as shared)."""
        assert isinstance(spec, ServingEndpointSpec)
        if not namespace.owns_endpoint(identity):
            raise FieldProblem(namespace.endpoint_problem(identity), ("metadata", "name"))
        catalog = spec.model.name.split(".", 1)[0]
        if not namespace.allows_catalog(catalog):
            raise FieldProblem(
                f"model {spec.model.name!r} is in catalog `{catalog}`, outside tenant "
                f"`{namespace.tenant}`'s catalog `{namespace.catalog}`; serve a model of the "
                "tenant's catalog (${tenants.<tenant>.catalog}) or list a shared catalog under "
                "the Tenant's `spec.namespace.shared_catalogs`",
                ("spec", "model", "name"),
            )

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """The served model, size, scaling and tags; None without a served model."""
        spec = dict(observed.spec)
        if not spec["model"].get("name") or spec["model"].get("version") is None:
            return None
        if not spec.get("tags"):
            spec.pop("tags", None)
        return spec

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        name = str(raw["name"])
        tags = {str(t["key"]): str(t.get("value", "")) for t in raw.get("tags") or ()}
        return ObservedResource(
            kind=self.kind,
            identity=name,
            remote_id=str(raw.get("id") or name),
            spec={**_observed_config(raw), "tags": tags},
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
            ready=_is_ready(raw),
        )

    # ---- connector side --------------------------------------------------------------

    def check_settling(self, observed: ObservedResource) -> None:
        """A config update the endpoint could not apply is a failure, not a wait."""
        if (observed.raw.get("state") or {}).get("config_update") == "UPDATE_FAILED":
            raise ConnectorError(
                f"serving endpoint {observed.identity!r} failed to apply its new config",
                hint="check the model name and version, then apply again",
            )

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return f"/databricks/serving-endpoints/{identity}", {"tenant_id": tenant.tenant_id}

    async def create_object(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> Created:
        entity = _served_entity(desired.values())
        result = await client.post(
            "/databricks/serving-endpoints",
            idempotency_key=idempotency_key,
            json={
                "tenant_id": tenant.tenant_id,
                "name": desired.identity,
                "model_name": entity["entity_name"],
                "model_version": entity["entity_version"],
                "workload_size": entity["workload_size"],
                "scale_to_zero_enabled": entity["scale_to_zero_enabled"],
                "tags": dict(desired.values()["tags"]),
                "managed_by": MANAGED_BY,
            },
        )
        answer = result or {}
        return Created(str(answer.get("id") or desired.identity), ready=_is_ready(answer))

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """PUT the served entity when model/size/scaling changed; PATCH tags when they did."""
        if changed & {"model", "workload_size", "scale_to_zero"}:
            await self._put_config(client, tenant, desired)
        if "tags" in changed:
            await self._patch_tags(client, tenant, desired, observed)

    async def _put_config(
        self, client: ConnectorClient, tenant: TenantContext, desired: DesiredResource
    ) -> None:
        """PUT the config; if an earlier update is still running, wait for it once."""
        path = f"/databricks/serving-endpoints/{desired.identity}/config"
        body = {
            "tenant_id": tenant.tenant_id,
            "served_entities": [_served_entity(desired.values())],
        }
        try:
            await client.put(path, json=body)
        except ConflictError:
            await self.wait_ready(client, tenant, desired.identity, "")
            await client.put(path, json=body)

    async def _patch_tags(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
    ) -> None:
        want: Mapping[str, str] = desired.values()["tags"]
        have: Mapping[str, str] = observed.spec.get("tags") or {}
        add = [{"key": k, "value": v} for k, v in want.items() if have.get(k) != v]
        remove = [k for k in have if k not in want]
        if add or remove:
            await client.patch(
                f"/databricks/serving-endpoints/{desired.identity}/tags",
                json={"tenant_id": tenant.tenant_id, "add_tags": add, "delete_tags": remove},
            )
