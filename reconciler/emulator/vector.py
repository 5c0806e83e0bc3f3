"""Vector search indexes (Delta Sync) over a tenant's datasets.

An index is named ``catalog.schema.index`` inside its tenant's catalog (a bare
name goes into ``<catalog>.default``, ``schema.index`` into ``<catalog>.schema``).
Its source table must be a dataset of the same tenant, its primary key and
synced columns must be columns of that table, and it embeds exactly one kind
of column: text columns embedded by a model endpoint
(``embedding_source_columns``) or precomputed vectors
(``embedding_vector_columns``). The short form ``{source_table,
embedding_dimension, embedding_column}`` makes a TRIGGERED index over a
vector column keyed by ``id`` (or the first column).

The spec is immutable: there is no update. An index is not ready until the
ready delay has passed; ``indexed_row_count`` then counts the source rows as of
the last sync (TRIGGERED) or live (CONTINUOUS). ``search`` answers with source
rows and a deterministic pseudo-score.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from reconciler.emulator import similarity
from reconciler.emulator.common import (
    CREATOR,
    WORKSPACE_HOST,
    Body,
    StoreDep,
    catalog_of,
    check_identifier,
    check_tenant,
    deleted,
    enforce_tenant,
    named_tenant,
    with_etag,
)
from reconciler.emulator.datasets import find_dataset
from reconciler.emulator.errors import ApiError, already_exists, conflict, invalid, not_found
from reconciler.emulator.paging import PageDep, page_response, paginate_owned
from reconciler.emulator.store import Record, Store, now, view

router = APIRouter(tags=["vector-indexes"])

DEFAULT_ENDPOINT = "agentprovision-vector-search"


class SourceColumn(Body):
    name: str
    embedding_model_endpoint_name: str


class VectorColumn(Body):
    name: str
    embedding_dimension: int = Field(gt=0, le=4096)


class DeltaSyncSpec(Body):
    source_table: str
    pipeline_type: Literal["TRIGGERED", "CONTINUOUS"] = "TRIGGERED"
    embedding_source_columns: list[SourceColumn] | None = None
    embedding_vector_columns: list[VectorColumn] | None = None
    columns_to_sync: list[str] | None = None


class IndexCreate(Body):
    tenant_id: str
    name: str = Field(min_length=1)
    endpoint_name: str | None = None
    primary_key: str | None = None
    index_type: str = "DELTA_SYNC"
    delta_sync_index_spec: DeltaSyncSpec | None = None
    source_table: str | None = None
    embedding_dimension: int | None = Field(default=None, gt=0, le=4096)
    embedding_column: str | None = None
    managed_by: str | None = None


class TenantBody(Body):
    tenant_id: str | None = None


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Search(Body):
    tenant_id: str | None = None
    query_vector: list[FiniteFloat] | None = Field(default=None, max_length=4096)
    query_text: str | None = Field(default=None, max_length=10_000)
    num_results: int = Field(default=10, ge=1, le=10_000)
    columns: list[str] | None = None
    filters: dict[str, Any] | None = None
    filters_json: str | None = Field(default=None, max_length=100_000)


def qualify(store: Store, tenant_id: str, name: str) -> str:
    """``catalog.schema.index`` for a name given in the tenant's terms, or a 400."""
    catalog = catalog_of(store, tenant_id)["catalog_name"]
    parts = name.split(".")
    if len(parts) == 1:
        parts = [catalog, "default", *parts]
    elif len(parts) == 2:
        parts = [catalog, *parts]
    if len(parts) != 3:
        raise invalid(
            f"index name {name!r} is not 'index', 'schema.index' or 'catalog.schema.index'"
        )
    if parts[0] != catalog:
        raise invalid(f"index {name!r} must live in the tenant's catalog {catalog!r}")
    for part in parts[1:]:
        check_identifier(part, "index name part")
    return ".".join(parts)


def _spec(body: IndexCreate) -> tuple[DeltaSyncSpec, str | None]:
    """The Delta Sync spec and primary key of a full or short-form request."""
    short = (body.source_table, body.embedding_dimension, body.embedding_column)
    if body.delta_sync_index_spec is not None:
        if any(v is not None for v in short):
            raise invalid("give either delta_sync_index_spec or the short form, not both")
        if not body.primary_key:
            raise invalid("primary_key is required")
        return body.delta_sync_index_spec, body.primary_key
    if any(v is None for v in short):
        raise invalid(
            "give delta_sync_index_spec, or source_table, embedding_dimension and embedding_column"
        )
    vector = VectorColumn(
        name=str(body.embedding_column), embedding_dimension=int(body.embedding_dimension or 0)
    )
    return DeltaSyncSpec(
        source_table=str(body.source_table), embedding_vector_columns=[vector]
    ), body.primary_key


def _source(store: Store, tenant_id: str, table: str) -> Record:
    try:
        return find_dataset(store, tenant_id, table)
    except ApiError:
        raise invalid(f"source_table {table!r} is not a dataset of this tenant") from None


def _check_columns(spec: DeltaSyncSpec, primary_key: str, table: Record) -> None:
    types = {c["name"]: c["type_text"] for c in table["columns"]}
    if primary_key not in types:
        raise invalid(f"primary_key {primary_key!r} is not a column of {table['table_path']}")
    sources, vectors = spec.embedding_source_columns or [], spec.embedding_vector_columns or []
    if bool(sources) == bool(vectors) or len(sources) + len(vectors) != 1:
        raise invalid(
            "give exactly one embedding column: embedding_source_columns or embedding_vector_columns"
        )
    for column in sources:
        if types.get(column.name) != "string":
            raise invalid(
                f"embedding source column {column.name!r} must be a string column of the table"
            )
    for vector in vectors:
        _check_vector_column(vector, types, table)
    for name in spec.columns_to_sync or []:
        if name not in types:
            raise invalid(f"columns_to_sync names {name!r}, which is not a column of the table")


VECTOR_TYPES = ("array<float>", "array<double>")


def _check_vector_column(vector: VectorColumn, types: dict[str, str], table: Record) -> None:
    """The vector column exists, holds ``array<float>`` (or double), and every row's vector
    has the index's dimension."""
    name, dimension = vector.name, vector.embedding_dimension
    if name not in types:
        raise invalid(f"embedding vector column {name!r} is not a column of {table['table_path']}")
    if types[name] not in VECTOR_TYPES:
        raise invalid(
            f"embedding vector column {name!r} is {types[name]}; it must be array<float> "
            "(or array<double>)"
        )
    position = [c["name"] for c in table["columns"]].index(name)
    for number, row in enumerate(table["_rows"], start=1):
        value = row[position]
        if value is not None and len(value) != dimension:
            raise invalid(
                f"row {number} of {table['table_path']} has a {len(value)}-dimensional "
                f"{name!r}; the index says embedding_dimension {dimension}"
            )


def _build(store: Store, body: IndexCreate, name: str) -> Record:
    if body.index_type != "DELTA_SYNC":
        raise invalid("index_type must be DELTA_SYNC (DIRECT_ACCESS is not offered)")
    spec, primary_key = _spec(body)
    table = _source(store, body.tenant_id, spec.source_table)
    if primary_key is None:
        names = [c["name"] for c in table["columns"]]
        primary_key = "id" if "id" in names else names[0]
    _check_columns(spec, primary_key, table)
    delta = {k: v for k, v in spec.model_dump().items() if v is not None}
    delta.update(source_table=table["table_path"], pipeline_id=str(uuid.uuid4()))
    return {
        "tenant_id": body.tenant_id,
        "name": name,
        "endpoint_name": body.endpoint_name or DEFAULT_ENDPOINT,
        "primary_key": primary_key,
        "index_type": "DELTA_SYNC",
        "creator": CREATOR,
        "managed_by": body.managed_by,
        "delta_sync_index_spec": delta,
        "_ready_at": now() + store.ready_delay,
        "_indexed_rows": table["row_count"],
    }


def _source_record(store: Store, record: Record) -> Record | None:
    path = record["delta_sync_index_spec"]["source_table"]
    try:
        return find_dataset(store, record["tenant_id"], path)
    except ApiError:
        return None


def render_index(store: Store, record: Record) -> dict[str, Any]:
    shown = view(record)
    ready = now() >= record["_ready_at"]
    count = 0
    if ready:
        count = record["_indexed_rows"]
        if record["delta_sync_index_spec"]["pipeline_type"] == "CONTINUOUS":
            source = _source_record(store, record)
            count = source["row_count"] if source else 0
    shown["status"] = {
        "ready": ready,
        "indexed_row_count": count,
        "message": "Index is ready" if ready else "Index is being provisioned",
        "index_url": f"{WORKSPACE_HOST}/api/2.0/vector-search/indexes/{record['name']}",
    }
    return shown


def find_index(store: Store, name: str, tenant_id: str | None) -> Record:
    """The index named ``name`` (in full, or in the tenant's terms), or a 404.

    Without a tenant (the backend's search and delete) the full name
    ``catalog.schema.index`` is the address, and its catalog names the tenant.
    """
    if tenant_id is None and name.count(".") != 2:
        raise invalid(f"name the index in full (catalog.schema.index), or give tenant_id: {name!r}")
    if tenant_id is not None and name.count(".") < 2 and tenant_id in store.table("catalogs"):
        name = qualify(store, tenant_id, name)
    record = store.table("indexes").get(name)
    if record is None:
        raise not_found(f"vector index {name!r} not found")
    return enforce_tenant(record, tenant_id, f"vector index {name!r}")


@router.post("/databricks/vector-indexes", status_code=201)
def create_index(store: StoreDep, body: IndexCreate) -> dict[str, Any]:
    check_tenant(body.tenant_id)
    with store.mutate():
        name = qualify(store, body.tenant_id, body.name)
        if name in store.table("indexes"):
            raise already_exists(f"vector index {name!r} already exists")
        record = store.insert("indexes", name, _build(store, body, name))
        return render_index(store, record)


@router.get("/databricks/vector-indexes")
def list_indexes(store: StoreDep, tenant_id: str, page: PageDep) -> Response:
    return page_response(
        "vector_indexes",
        *paginate_owned(store, "indexes", tenant_id, page, lambda r: render_index(store, r)),
    )


@router.get("/databricks/vector-indexes/{name}")
def get_index(
    store: StoreDep,
    request: Request,
    name: str,
    response: Response,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id)
    with store.lock:
        return with_etag(response, render_index(store, find_index(store, name, tenant_id)))


@router.delete("/databricks/vector-indexes/{name}")
def delete_index(
    store: StoreDep, request: Request, name: str, tenant_id: str | None = None
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.mutate():
        record = find_index(store, name, tenant_id)
        del store.table("indexes")[record["name"]]
    return deleted("vector_index", record["name"], record)


@router.post("/databricks/vector-indexes/{name}/sync")
def sync_index(
    store: StoreDep,
    request: Request,
    name: str,
    body: TenantBody | None = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant = named_tenant(request, tenant_id, body.tenant_id if body else None)
    with store.mutate():
        record = find_index(store, name, tenant)
        if record["delta_sync_index_spec"]["pipeline_type"] != "TRIGGERED":
            raise invalid("only TRIGGERED indexes are synced on demand")
        if now() < record["_ready_at"]:
            raise conflict(f"vector index {name!r} is not ready yet")
        source = _source_record(store, record)
        record["_indexed_rows"] = source["row_count"] if source else 0
    return {}


@router.post("/databricks/vector-indexes/{name}/search")
def search_index(
    store: StoreDep, request: Request, name: str, body: Search, tenant_id: str | None = None
) -> dict[str, Any]:
    tenant = named_tenant(request, tenant_id, body.tenant_id, unnamed_ok=True)
    with store.lock:
        record = find_index(store, name, tenant)
        spec = record["delta_sync_index_spec"]
        prepared = similarity.prepare(spec, body.query_vector, body.query_text)
        if now() < record["_ready_at"]:
            raise conflict(f"vector index {name!r} is not ready yet")
        source = _source_record(store, record)
        columns = [c["name"] for c in source["columns"]] if source else []
        rows = [dict(zip(columns, r, strict=True)) for r in (source or {}).get("_rows", [])]
    wanted = body.columns or spec.get("columns_to_sync") or columns
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        raise invalid(f"columns names {', '.join(map(repr, unknown))}, not columns of the index")
    filters = similarity.parse_filters(body.filters, body.filters_json, columns)
    hits = similarity.search(prepared, rows, filters, body.num_results)
    data = [[row.get(c) for c in wanted] + [score] for row, score in hits]
    names = [*wanted, "score"]
    return {
        "manifest": {"column_count": len(names), "columns": [{"name": n} for n in names]},
        "result": {"row_count": len(data), "data_array": data},
    }
