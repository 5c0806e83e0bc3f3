"""Helpers every router shares: the store, tenant checks, names and request models.

Request bodies are pydantic models deriving from :class:`Body`, which forbids
unknown fields and is strict about types (``"1"`` is not an int), so a wrong
body is refused with a 400 problem document instead of being half understood.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from reconciler.emulator.errors import ApiError, invalid, not_found
from reconciler.emulator.store import Record, Store, etag_of

CREATOR = "mcp-connector@agentprovision.io"
"""The identity the connector acts as in the workspace (creator / owner fields)."""

WORKSPACE_HOST = "https://agentprovision-emulator.cloud.databricks.com"
"""The fictional workspace the emulator pretends to be (used in URLs)."""

METASTORE_ID = "6d1c6c3e-3a55-4a1e-9d0e-2d8c0c7b1a01"

TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")


class Body(BaseModel):
    """Base of every request body: unknown fields and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


async def get_store(request: Request) -> Store:
    """The store of the application serving ``request`` (a FastAPI dependency).

    ``async``, like :func:`~reconciler.emulator.paging.page_params`: FastAPI runs a
    plain ``def`` dependency in its thread pool, a thread hop per request for nothing.
    """
    store: Store = request.app.state.store
    return store


def check_tenant(tenant_id: str) -> str:
    """``tenant_id`` if it is well formed, else a 400 (the value is quoted only when short)."""
    if not TENANT_ID.fullmatch(tenant_id):
        shown = repr(tenant_id) if len(tenant_id) <= 128 else f"of {len(tenant_id)} characters"
        raise invalid(
            f"tenant_id {shown} is malformed: 1-128 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return tenant_id


def check_identifier(value: str, what: str) -> str:
    """A Unity Catalog identifier (catalog, schema, table, column), or a 400."""
    if not IDENTIFIER.match(value):
        raise invalid(f"{what} {value!r} is not a valid identifier (letters, digits, '_', '-')")
    return value


def named_tenant(request: Request, *given: str | None, unnamed_ok: bool = False) -> str | None:
    """The tenant a call names, checked: ``given`` are the places it may be named (query
    string, body); when several name it they must agree.

    A call that names none is refused (400), except the AgentProvision backend's
    calls that carry no tenant (``unnamed_ok``): they address an object by an id or
    name unique in the workspace, whose owner is then the tenant, unless the emulator
    runs with ``require_tenant`` (then they are refused too).
    """
    named = {t for t in given if t is not None}
    if len(named) > 1:
        raise invalid("tenant_id is given twice with different values (query string and body)")
    if named:
        return check_tenant(named.pop())
    if unnamed_ok and not getattr(request.app.state, "require_tenant", False):
        return None
    raise invalid("tenant_id is required: name the tenant in the query string or the body")


def enforce_tenant(record: Record, tenant_id: str | None, what: str) -> Record:
    """404 when a tenant is named and the record belongs to another one."""
    if tenant_id is not None and record.get("tenant_id") != tenant_id:
        raise not_found(f"{what} not found")
    return record


def catalog_of(store: Store, tenant_id: str) -> Record:
    """The tenant's catalog record, or a 404 naming what to do."""
    record = store.table("catalogs").get(tenant_id)
    if record is None:
        raise not_found(f"tenant {tenant_id!r} has no catalog; create it first")
    return record


MAX_PROPERTIES = 1_000
"""Properties a catalog (or a dataset) may carry; keys up to 255, values up to 4096 characters."""

Properties = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(max_length=4096)]
    ]
    | None,
    Field(default=None, max_length=MAX_PROPERTIES),
]


StoreDep = Annotated[Store, Depends(get_store)]
"""Route parameter type: the application's store."""


def deleted(kind: str, identifier: object, record: Record) -> dict[str, Any]:
    """The 200 answer of a delete: ``{deleted: kind, id, tenant_id}``."""
    return {"deleted": kind, "id": str(identifier), "tenant_id": record["tenant_id"]}


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is None."""
    return {k: v for k, v in values.items() if v is not None}


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The object's ETag as last read; the update is refused with 412 "
        "PRECONDITION_FAILED when the object changed since. `*` matches any version.",
    ),
]
"""Route parameter type: the optional ``If-Match`` header of an update."""


def check_if_match(if_match: str | None, record: Record, what: str) -> None:
    """412 PRECONDITION_FAILED unless ``If-Match`` is absent, ``*`` or the current ETag."""
    if if_match is None:
        return
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    current = etag_of(record)
    if "*" in wanted or current in wanted:
        return
    raise ApiError(
        412,
        "PRECONDITION_FAILED",
        f"{what} changed since it was read (its ETag is now {current}); read it again",
    )


def with_etag(response: Response, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` after setting the ``ETag`` header of ``response`` from its ``etag``."""
    response.headers["ETag"] = f'"{body["etag"]}"'
    return body
