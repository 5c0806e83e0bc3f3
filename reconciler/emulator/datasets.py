"""Datasets: Unity Catalog Delta tables that keep their rows.

A dataset lives in its tenant's catalog (which must exist) and is addressed by
``dataset_name`` = ``table`` (schema ``default``) or ``schema.table``; the
schema is created on demand. Rows are stored as arrays in column order.

- ``PATCH`` applies ``columns`` like ``ALTER TABLE`` (see
  :func:`reconciler.emulator.tables.alter`): rows are kept and new columns are
  NULL in existing rows.
- ``upload`` replaces the rows with a file's (csv, json, xlsx, parquet), and
  records the file's SHA-256 and format. CSV, XLSX and Parquet files must
  carry exactly the table's columns (any order); JSON objects may leave
  nullable columns out.
- ``query`` runs one read-only SQL statement over the rows.

Every change bumps ``version``, as each Delta commit does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from pydantic import Field

from reconciler.emulator import ingest, tables
from reconciler.emulator.common import (
    Body,
    IfMatch,
    Properties,
    StoreDep,
    catalog_of,
    check_identifier,
    check_if_match,
    check_tenant,
    deleted,
    with_etag,
)
from reconciler.emulator.errors import already_exists, invalid, not_found
from reconciler.emulator.paging import PageDep, page_response, paginate_owned
from reconciler.emulator.store import Record, Store, now, public, to_ms, view

router = APIRouter(tags=["datasets"])


class DatasetCreate(Body):
    tenant_id: str
    name: str
    schema_name: str = "default"
    description: str | None = None
    columns: list[tables.ColumnIn] = Field(alias="schema")
    data: list[Any] | None = None
    properties: Properties = None
    managed_by: str | None = None


class DatasetPatch(Body):
    description: str | None = None
    properties: Properties = None
    columns: list[tables.ColumnIn] | None = None


class DatasetQuery(Body):
    tenant_id: str
    dataset_name: str
    sql: str = Field(min_length=1, max_length=100_000)


def _key(tenant_id: str, schema: str, table: str) -> str:
    return f"{tenant_id}/{schema}.{table}"


def split_name(dataset_name: str, catalog_name: str | None = None) -> tuple[str, str]:
    """``(schema, table)`` of ``table``, ``schema.table`` or ``catalog.schema.table``."""
    parts = dataset_name.split(".")
    if len(parts) == 3 and catalog_name is not None and parts[0] == catalog_name:
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["default", parts[0]]
    if len(parts) != 2 or not all(parts):
        raise invalid(f"dataset name {dataset_name!r} is not 'table' or 'schema.table'")
    return parts[0], parts[1]


def find_dataset(store: Store, tenant_id: str, dataset_name: str) -> Record:
    """The tenant's dataset record, or a 404 (a malformed tenant id is a 400)."""
    check_tenant(tenant_id)
    catalog = store.table("catalogs").get(tenant_id)
    schema, table = split_name(dataset_name, catalog["catalog_name"] if catalog else None)
    record = store.table("datasets").get(_key(tenant_id, schema, table))
    if record is None:
        raise not_found(f"dataset {dataset_name!r} not found")
    return record


def _set_rows(record: Record, rows: list[list[Any]]) -> None:
    record["_rows"] = rows
    record["row_count"] = len(rows)
    record["size_bytes"] = len(json.dumps(rows, separators=(",", ":")).encode())


def _touch(record: Record) -> None:
    record["version"] += 1
    record["last_modified"] = to_ms(now())


def _new_record(body: DatasetCreate, catalog: Record) -> Record:
    columns = tables.build_columns(body.columns)
    stamp = to_ms(now())
    record: Record = {
        "tenant_id": body.tenant_id,
        "table_path": f"{catalog['catalog_name']}.{body.schema_name}.{body.name}",
        "catalog_name": catalog["catalog_name"],
        "schema_name": body.schema_name,
        "table_name": body.name,
        "description": body.description,
        "columns": columns,
        "properties": dict(body.properties or {}),
        "row_count": 0,
        "size_bytes": 0,
        "source_sha256": None,
        "source_format": None,
        "created_at": stamp,
        "last_modified": stamp,
        "version": 0,
        "managed_by": body.managed_by,
    }
    _set_rows(record, tables.coerce_rows(body.data or [], columns))
    return record


@router.post("/databricks/datasets", status_code=201)
def create_dataset(store: StoreDep, body: DatasetCreate) -> dict[str, Any]:
    check_tenant(body.tenant_id)
    check_identifier(body.name, "name")
    check_identifier(body.schema_name, "schema_name")
    with store.mutate():
        catalog = catalog_of(store, body.tenant_id)
        key = _key(body.tenant_id, body.schema_name, body.name)
        if key in store.table("datasets"):
            raise already_exists(f"dataset {body.schema_name}.{body.name} already exists")
        record = store.insert("datasets", key, _new_record(body, catalog))
        if body.schema_name not in catalog["schemas"]:
            catalog["schemas"].append(body.schema_name)
        return view(record)


@router.get("/databricks/datasets")
def list_datasets(store: StoreDep, tenant_id: str, page: PageDep) -> Response:
    return page_response("datasets", *paginate_owned(store, "datasets", tenant_id, page, view))


@router.get("/databricks/datasets/{tenant_id}/{dataset_name}")
def get_dataset(
    store: StoreDep, tenant_id: str, dataset_name: str, response: Response
) -> dict[str, Any]:
    with store.lock:
        return with_etag(response, view(find_dataset(store, tenant_id, dataset_name)))


@router.patch("/databricks/datasets/{tenant_id}/{dataset_name}")
def patch_dataset(
    store: StoreDep,
    tenant_id: str,
    dataset_name: str,
    body: DatasetPatch,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    with store.mutate():
        record = find_dataset(store, tenant_id, dataset_name)
        check_if_match(if_match, record, f"dataset {dataset_name!r}")
        before = public(record)
        if body.columns is not None:
            columns = tables.alter(record["columns"], body.columns)
            added = len(columns) - len(record["columns"])
            record["columns"] = columns
            padded = [row + [None] * added for row in record["_rows"]]
            _set_rows(record, tables.coerce_rows(padded, columns))
        if body.description is not None:
            record["description"] = body.description
        if body.properties is not None:
            record["properties"] = dict(body.properties)
        if public(record) != before:
            _touch(record)
        return view(record)


@router.delete("/databricks/datasets/{tenant_id}/{dataset_name}")
def delete_dataset(store: StoreDep, tenant_id: str, dataset_name: str) -> dict[str, Any]:
    with store.mutate():
        record = find_dataset(store, tenant_id, dataset_name)
        key = _key(tenant_id, record["schema_name"], record["table_name"])
        del store.table("datasets")[key]
    return deleted("dataset", record["table_path"], record)


def _rows_from_file(record: Record, content: bytes, file_format: str) -> list[list[Any]]:
    names, rows = ingest.parse_upload(content, file_format)
    wanted = [c["name"] for c in record["columns"]]
    if file_format == "json":
        unknown = sorted(set(names) - set(wanted))
        if unknown:
            raise invalid(f"the file has columns the table lacks: {', '.join(unknown)}")
    elif sorted(names) != sorted(wanted):
        raise invalid(f"the file's columns {names} do not match the table's columns {wanted}")
    return tables.coerce_rows(rows, record["columns"], from_text=file_format in ("csv", "xlsx"))


@router.post("/databricks/datasets/upload")
def upload_dataset(
    store: StoreDep,
    file: Annotated[UploadFile, File()],
    tenant_id: Annotated[str, Query()],
    dataset_name: Annotated[str, Query()],
    file_format: Annotated[str, Query(alias="format")],
) -> dict[str, Any]:
    file_format = file_format.lower()
    if file_format not in ingest.FORMATS:
        raise invalid(f"format must be one of {', '.join(ingest.FORMATS)}")
    content = file.file.read()
    with store.mutate():
        record = find_dataset(store, tenant_id, dataset_name)
        rows = _rows_from_file(record, content, file_format)
        _set_rows(record, rows)
        record["source_sha256"] = hashlib.sha256(content).hexdigest()
        record["source_format"] = file_format
        _touch(record)
        return {
            "table_path": record["table_path"],
            "row_count": record["row_count"],
            "source_sha256": record["source_sha256"],
            "source_format": file_format,
            "size_bytes": record["size_bytes"],
            "version": record["version"],
        }


@router.post("/databricks/datasets/query")
def query_dataset(store: StoreDep, body: DatasetQuery, request: Request) -> dict[str, Any]:
    with store.lock:
        record = find_dataset(store, body.tenant_id, body.dataset_name)
        columns, rows = record["columns"], list(record["_rows"])
        table = record["table_name"]
        qualifiers = [
            record["table_path"],
            f"{record['schema_name']}.{record['table_name']}",
        ]
    seconds = float(getattr(request.app.state, "query_seconds", ingest.QUERY_SECONDS))
    return ingest.run_query(body.sql, table, qualifiers, columns, rows, seconds=seconds)
