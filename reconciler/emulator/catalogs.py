"""Catalogs: one Unity Catalog catalog per tenant.

The catalog is what makes a tenant known to the data side: datasets and vector
indexes need it. Its name is unique in the metastore (another tenant cannot
take it), it starts with the ``default`` schema, and schemas appear as
datasets ask for them. Deleting a catalog that still holds tables needs
``force=true``, which drops its tables and the indexes built on them.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from reconciler.emulator.common import (
    CREATOR,
    METASTORE_ID,
    WORKSPACE_HOST,
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
from reconciler.emulator.errors import already_exists, conflict, not_found
from reconciler.emulator.store import Record, now, to_ms, view

router = APIRouter(tags=["catalogs"])


class CatalogCreate(Body):
    tenant_id: str
    catalog_name: str
    comment: str | None = Field(default=None, max_length=65_536)
    properties: Properties = None
    managed_by: str | None = None


class CatalogPatch(Body):
    comment: str | None = Field(default=None, max_length=65_536)
    properties: Properties = None


def render_catalog(record: Record) -> dict[str, Any]:
    return {"exists": True, **view(record)}


def _new_record(body: CatalogCreate) -> Record:
    stamp = to_ms(now())
    catalog_id = uuid.uuid4()
    return {
        "tenant_id": body.tenant_id,
        "catalog_name": body.catalog_name,
        "comment": body.comment,
        "properties": dict(body.properties or {}),
        "schemas": ["default"],
        "catalog_url": f"{WORKSPACE_HOST}/explore/data/{body.catalog_name}",
        "owner": CREATOR,
        "metastore_id": METASTORE_ID,
        "full_name": body.catalog_name,
        "catalog_type": "MANAGED_CATALOG",
        "storage_location": (
            f"s3://agentprovision-emulator-metastore/{METASTORE_ID}/__unitystorage/catalogs/"
            f"{catalog_id}"
        ),
        "created_at": stamp,
        "created_by": CREATOR,
        "updated_at": stamp,
        "updated_by": CREATOR,
        "managed_by": body.managed_by,
    }


@router.post("/databricks/catalogs", status_code=201)
def create_catalog(store: StoreDep, body: CatalogCreate) -> dict[str, Any]:
    check_tenant(body.tenant_id)
    check_identifier(body.catalog_name, "catalog_name")
    with store.mutate():
        catalogs = store.table("catalogs")
        if body.tenant_id in catalogs:
            raise already_exists(f"tenant {body.tenant_id!r} already has a catalog")
        taken = {r["catalog_name"].lower() for r in catalogs.values()}
        if body.catalog_name.lower() in taken:
            raise already_exists(f"catalog {body.catalog_name!r} already exists")
        record = store.insert("catalogs", body.tenant_id, _new_record(body))
        return render_catalog(record)


@router.get("/databricks/catalogs/{tenant_id}")
def get_catalog(store: StoreDep, tenant_id: str, response: Response) -> dict[str, Any]:
    check_tenant(tenant_id)
    with store.lock:
        record = store.table("catalogs").get(tenant_id)
        if record is None:
            return {"exists": False, "catalog_name": None, "schemas": []}
        return with_etag(response, render_catalog(record))


@router.patch("/databricks/catalogs/{tenant_id}")
def patch_catalog(
    store: StoreDep, tenant_id: str, body: CatalogPatch, if_match: IfMatch = None
) -> dict[str, Any]:
    check_tenant(tenant_id)
    with store.mutate():
        record = store.table("catalogs").get(tenant_id)
        if record is None:
            raise not_found(f"tenant {tenant_id!r} has no catalog")
        check_if_match(if_match, record, f"catalog of tenant {tenant_id!r}")
        if body.comment is not None:
            record["comment"] = body.comment
        if body.properties is not None:
            record["properties"] = dict(body.properties)
        record["updated_at"] = to_ms(now())
        record["updated_by"] = CREATOR
        return render_catalog(record)


@router.delete("/databricks/catalogs/{tenant_id}")
def delete_catalog(store: StoreDep, tenant_id: str, force: bool = Query(False)) -> dict[str, Any]:
    check_tenant(tenant_id)
    with store.mutate():
        record = catalog_of(store, tenant_id)
        datasets = store.table("datasets")
        owned = [key for key, r in datasets.items() if r["tenant_id"] == tenant_id]
        if owned and not force:
            raise conflict(
                f"catalog {record['catalog_name']!r} still holds {len(owned)} table(s); "
                "delete them first or pass force=true"
            )
        for key in owned:
            del datasets[key]
        indexes = store.table("indexes")
        for key in [k for k, r in indexes.items() if r["tenant_id"] == tenant_id]:
            del indexes[key]
        del store.table("catalogs")[tenant_id]
    return deleted("catalog", record["catalog_name"], record)
