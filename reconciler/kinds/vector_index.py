"""VectorIndex: a Delta Sync vector-search index over one of the tenant's datasets.

The index is ``<catalog>.default.<name>`` (``-`` in the document name becomes
``_``). Embeddings come either from a text column and an embedding model
endpoint (``source_column`` + ``model_endpoint``) or from a column that already
holds vectors (``vector_column`` + ``dimension``). Vector search has no update
API: every field is create-only, so any change replaces the index (the index
holds no data of its own; it is rebuilt from the source table).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

VECTOR_TYPES = ("array<float>", "array<double>")
"""Column types a vector column may have (the connector checks the same)."""

HOSTED_PREFIX = "databricks-"
"""Names of the embedding endpoints Databricks hosts for every workspace."""

NO_UPDATE = "vector search has no update API; the index is rebuilt from its source table"


class Embedding(BaseModel):
    """Where vectors come from: give source_column + model_endpoint, or vector_column + dimension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_column: str | None = Field(
        default=None, min_length=1, description="Text column embedded by model_endpoint."
    )
    model_endpoint: str | None = Field(
        default=None, min_length=1, description="Serving endpoint computing the embeddings."
    )
    vector_column: str | None = Field(
        default=None, min_length=1, description="Column that already holds embedding vectors."
    )
    dimension: int | None = Field(
        default=None, ge=1, le=4096, description="Length of the vectors in vector_column."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Embedding:
        computed = (self.source_column, self.model_endpoint)
        stored = (self.vector_column, self.dimension)
        has_computed = any(v is not None for v in computed)
        has_stored = any(v is not None for v in stored)
        if has_computed == has_stored:
            raise ValueError(
                "give either source_column + model_endpoint, or vector_column + dimension"
            )
        if has_computed and None in computed:
            raise ValueError("source_column and model_endpoint go together")
        if has_stored and None in stored:
            raise ValueError("vector_column and dimension go together")
        return self


class VectorIndexSpec(SpecBase):
    """A Delta Sync vector-search index."""

    endpoint: str = Field(
        default="agentprovision-vs", min_length=1, description="Vector search endpoint name."
    )
    source: str = Field(
        min_length=1,
        description="Full name of the source table, usually ${datasets.<name>.table}.",
    )
    primary_key: str = Field(min_length=1, description="Primary key column of the source table.")
    embedding: Embedding = Field(description="Where the index's vectors come from.")
    pipeline: Literal["triggered", "continuous"] = Field(
        default="triggered",
        description="triggered syncs when asked; continuous follows the table as it changes.",
    )
    columns_to_sync: list[str] | None = Field(
        default=None, description="Source columns copied into the index; absent means all."
    )


def index_name(tenant: TenantContext, name: str) -> str:
    """``<catalog>.default.<name with - made _>``."""
    return f"{tenant.catalog}.default.{name.replace('-', '_')}"


def _normal_embedding(embedding: Embedding) -> dict[str, Any]:
    if embedding.vector_column is not None:
        return {"vector_column": embedding.vector_column, "dimension": embedding.dimension}
    return {"source_column": embedding.source_column, "model_endpoint": embedding.model_endpoint}


def _observed_embedding(spec: Mapping[str, Any]) -> dict[str, Any]:
    vectors = spec.get("embedding_vector_columns") or ()
    if vectors:
        return {"vector_column": vectors[0]["name"], "dimension": vectors[0]["embedding_dimension"]}
    sources = spec.get("embedding_source_columns") or [{}]
    return {
        "source_column": sources[0].get("name"),
        "model_endpoint": sources[0].get("embedding_model_endpoint_name"),
    }


def _sync_columns(columns: list[str] | None) -> list[str] | None:
    return sorted(columns) if columns else None


def _index_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The connector's ``delta_sync_index_spec`` for a normalised index spec."""
    embedding = spec["embedding"]
    body: dict[str, Any] = {
        "source_table": spec["source_table"],
        "pipeline_type": str(spec["pipeline"]).upper(),
    }
    if "vector_column" in embedding:
        body["embedding_vector_columns"] = [
            {"name": embedding["vector_column"], "embedding_dimension": embedding["dimension"]}
        ]
    else:
        body["embedding_source_columns"] = [
            {
                "name": embedding["source_column"],
                "embedding_model_endpoint_name": embedding["model_endpoint"],
            }
        ]
    if spec["columns_to_sync"]:
        body["columns_to_sync"] = list(spec["columns_to_sync"])
    return body


def _is_ready(raw: Mapping[str, Any]) -> bool:
    """Whether an index the connector answers with says it is ready to serve."""
    return (raw.get("status") or {}).get("ready") is True


class VectorIndex(Kind):
    """A Delta Sync index; any change replaces it."""

    kind = "VectorIndex"
    noun = "vector index"
    collection = "vector_indexes"
    list_path = "/databricks/vector-indexes"
    list_items = "vector_indexes"
    spec_model = VectorIndexSpec
    ready_timeout: ClassVar[float] = 600.0
    rules = (
        FieldRule("endpoint", Rule.CREATE_ONLY, NO_UPDATE),
        FieldRule("source_table", Rule.CREATE_ONLY, NO_UPDATE),
        FieldRule("primary_key", Rule.CREATE_ONLY, NO_UPDATE),
        FieldRule("embedding", Rule.CREATE_ONLY, NO_UPDATE),
        FieldRule("pipeline", Rule.CREATE_ONLY, NO_UPDATE),
        FieldRule("columns_to_sync", Rule.CREATE_ONLY, NO_UPDATE),
    )

    # ---- pure side -------------------------------------------------------------------

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        return index_name(tenant, name)

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"name": index_name(tenant, name)}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{endpoint, source_table, primary_key, embedding{...}, pipeline, columns_to_sync}``."""
        assert isinstance(spec, VectorIndexSpec)
        parts = spec.source.split(".")
        if len(parts) != 3 or not all(parts):
            raise FieldProblem(
                f"source {spec.source!r} must be a full table name catalog.schema.table",
                ("source",),
            )
        if parts[0] != tenant.catalog:
            raise FieldProblem(
                f"source {spec.source!r} is outside the tenant's catalog {tenant.catalog!r}",
                ("source",),
            )
        return {
            "endpoint": spec.endpoint,
            "source_table": spec.source,
            "primary_key": spec.primary_key,
            "embedding": _normal_embedding(spec.embedding),
            "pipeline": spec.pipeline,
            "columns_to_sync": _sync_columns(spec.columns_to_sync),
        }, {}

    def check_namespace(
        self, namespace: Namespace, identity: str, spec: BaseModel, normalized: Mapping[str, Any]
    ) -> None:
        """The source table is in the tenant's catalog (checked when normalising), and the
        embedding endpoint is the tenant's own, one it lists, or a Databricks-hosted one."""
        assert isinstance(spec, VectorIndexSpec)
        endpoint = spec.embedding.model_endpoint
        if endpoint is None or endpoint.startswith(HOSTED_PREFIX):
            return
        if not namespace.owns_endpoint(endpoint):
            raise FieldProblem(
                f"embedding {namespace.endpoint_problem(endpoint)} "
                f"(Databricks-hosted `{HOSTED_PREFIX}...` endpoints are fine)",
                ("spec", "embedding", "model_endpoint"),
            )

    def check_related(self, spec: Mapping[str, Any], resolved: Iterable[DesiredResource]) -> None:
        """When the source table is one of the tenant's datasets, the columns the index names
        must be its columns, and a vector column an ``array<float>`` (or double) one."""
        table = next(
            (r for r in resolved if r.key.kind == "Dataset" and r.identity == spec["source_table"]),
            None,
        )
        if table is None:
            return
        columns: Mapping[str, Any] = table.spec["columns"]
        where = f"dataset `{table.key.name}` ({table.location})"
        embedding = spec["embedding"]
        named = [
            (("primary_key",), spec["primary_key"]),
            (("embedding", "vector_column"), embedding.get("vector_column")),
            (("embedding", "source_column"), embedding.get("source_column")),
            *((("columns_to_sync", i), c) for i, c in enumerate(spec["columns_to_sync"] or ())),
        ]
        for path, column in named:
            if column is not None and column not in columns:
                raise FieldProblem(f"{column!r} is not a column of {where}", path)
        vector = embedding.get("vector_column")
        if vector is not None and columns[vector]["type"] not in VECTOR_TYPES:
            raise FieldProblem(
                f"vector_column {vector!r} is {columns[vector]['type']} in {where}; "
                "it must be array<float> (or array<double>)",
                ("embedding", "vector_column"),
            )
        if vector is not None and "source" in table.blobs:
            _check_dimensions(table, vector, int(embedding["dimension"]), where)
        source = embedding.get("source_column")
        if source is not None and columns[source]["type"] != "string":
            raise FieldProblem(
                f"source_column {source!r} is {columns[source]['type']} in {where}; "
                "the text to embed must be a string column",
                ("embedding", "source_column"),
            )

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """The whole index definition, in the document's field names."""
        spec = {
            "endpoint": observed.spec["endpoint"],
            "source": observed.spec["source_table"],
            "primary_key": observed.spec["primary_key"],
            "embedding": dict(observed.spec["embedding"]),
            "pipeline": observed.spec["pipeline"],
        }
        if observed.spec.get("columns_to_sync"):
            spec["columns_to_sync"] = list(observed.spec["columns_to_sync"])
        return spec

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        name = str(raw["name"])
        sync = raw.get("delta_sync_index_spec") or {}
        return ObservedResource(
            kind=self.kind,
            identity=name,
            remote_id=name,
            spec={
                "endpoint": raw.get("endpoint_name"),
                "source_table": sync.get("source_table"),
                "primary_key": raw.get("primary_key"),
                "embedding": _observed_embedding(sync),
                "pipeline": str(sync.get("pipeline_type") or "TRIGGERED").lower(),
                "columns_to_sync": _sync_columns(sync.get("columns_to_sync")),
            },
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
            ready=_is_ready(raw),
        )

    # ---- connector side --------------------------------------------------------------

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return f"/databricks/vector-indexes/{identity}", {"tenant_id": tenant.tenant_id}

    async def create_object(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> Created:
        result = await client.post(
            "/databricks/vector-indexes",
            idempotency_key=idempotency_key,
            json={
                "tenant_id": tenant.tenant_id,
                "name": desired.identity,
                "endpoint_name": desired.values()["endpoint"],
                "primary_key": desired.values()["primary_key"],
                "index_type": "DELTA_SYNC",
                "delta_sync_index_spec": _index_spec(desired.values()),
                "managed_by": MANAGED_BY,
            },
        )
        return Created(desired.identity, ready=_is_ready(result or {}))

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """There is nothing to update in place: every field is create-only."""
        raise NotImplementedError(
            f"vector index {desired.identity!r} cannot be updated in place ({NO_UPDATE}); "
            "the planner replaces it instead"
        )


def _check_dimensions(table: DesiredResource, column: str, dimension: int, where: str) -> None:
    """Every vector in the dataset's source file has the index's dimension (as the connector
    checks when the index is built), so ``validate`` says so before anything is created."""
    from reconciler.emulator.ingest import parse_upload  # the connector's own reading of uploads

    try:
        _, rows = parse_upload(table.blobs["source"], str(table.spec.get("source_format")))
    except Exception:  # an unreadable file is the dataset's own problem to report
        return
    for number, row in enumerate(rows, start=1):
        value = row.get(column)
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, list) and len(value) != dimension:
            raise FieldProblem(
                f"row {number} of the source file of {where} has a {len(value)}-dimensional "
                f"{column!r}; the index says dimension {dimension}: fix the file or the dimension",
                ("embedding", "dimension"),
            )
