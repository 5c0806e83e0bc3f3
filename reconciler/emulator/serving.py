"""Model serving endpoints: long-running deploys and config updates.

Creating an endpoint or updating its config does not take effect at once. The
new config waits in ``pending_config`` (``state.config_update`` is
``IN_PROGRESS``) until the store's ready delay has passed; reads compute this
from timestamps, so nothing runs in the background. A new endpoint is
``NOT_READY`` until its first config settles, with its served entities in
``DEPLOYMENT_CREATING``; an update keeps the endpoint ``READY`` on the old
config meanwhile. A config update while another is in progress is a 409, and
so is invoking an endpoint that is not ready.

Endpoint names are unique across the workspace, whichever tenant holds them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.routing import APIRouter
from pydantic import Field

from reconciler.emulator.common import (
    CREATOR,
    Body,
    IfMatch,
    StoreDep,
    check_if_match,
    check_tenant,
    deleted,
    enforce_tenant,
    named_tenant,
    with_etag,
)
from reconciler.emulator.errors import already_exists, conflict, invalid, not_found
from reconciler.emulator.paging import PageDep, page_response, paginate_owned
from reconciler.emulator.store import Record, Store, now, public, to_ms, view

router = APIRouter(tags=["serving-endpoints"])

ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
WorkloadSize = Literal["Small", "Medium", "Large"]


class Tag(Body):
    key: str = Field(min_length=1)
    value: str | None = None


class EndpointCreate(Body):
    tenant_id: str
    name: str
    model_name: str = Field(min_length=1)
    model_version: str | int
    workload_size: WorkloadSize = "Small"
    scale_to_zero_enabled: bool = True
    tags: dict[str, str] | list[Tag] | None = None
    managed_by: str | None = None


class ServedEntityIn(Body):
    name: str | None = None
    entity_name: str = Field(min_length=1)
    entity_version: str | int
    workload_size: WorkloadSize = "Small"
    scale_to_zero_enabled: bool = True


class RouteIn(Body):
    served_model_name: str
    traffic_percentage: int = Field(ge=0, le=100)


class TrafficIn(Body):
    routes: list[RouteIn]


class ConfigUpdate(Body):
    tenant_id: str | None = None
    served_entities: list[ServedEntityIn] = Field(min_length=1)
    traffic_config: TrafficIn | None = None


class TagsPatch(Body):
    tenant_id: str | None = None
    add_tags: list[Tag] | None = None
    delete_tags: list[str] | None = None


class Invocation(Body):
    tenant_id: str | None = None
    input: Any


def _entity(spec: ServedEntityIn) -> dict[str, Any]:
    version = str(spec.entity_version)
    return {
        "name": spec.name or f"{spec.entity_name.split('.')[-1]}-{version}",
        "entity_name": spec.entity_name,
        "entity_version": version,
        "workload_size": spec.workload_size,
        "scale_to_zero_enabled": spec.scale_to_zero_enabled,
    }


def _traffic(entities: list[dict[str, Any]], traffic: TrafficIn | None) -> dict[str, Any]:
    names = [e["name"] for e in entities]
    if len(set(names)) != len(names):
        raise invalid("served entity names must be unique")
    if traffic is None:
        share, rest = divmod(100, len(names))
        percentages = [share + (rest if i == 0 else 0) for i in range(len(names))]
        routes = [
            {"served_model_name": n, "traffic_percentage": p}
            for n, p in zip(names, percentages, strict=True)
        ]
        return {"routes": routes}
    for route in traffic.routes:
        if route.served_model_name not in names:
            raise invalid(f"traffic route names unknown served entity {route.served_model_name!r}")
    if sum(r.traffic_percentage for r in traffic.routes) != 100:
        raise invalid("traffic percentages must add up to 100")
    return {"routes": [r.model_dump() for r in traffic.routes]}


def build_config(
    entities: list[ServedEntityIn], traffic: TrafficIn | None, version: int
) -> dict[str, Any]:
    served = [_entity(e) for e in entities]
    return {
        "served_entities": served,
        "traffic_config": _traffic(served, traffic),
        "config_version": version,
    }


def _render_config(config: dict[str, Any], deployment: str, message: str) -> dict[str, Any]:
    rendered = json.loads(json.dumps(config))
    for entity in rendered["served_entities"]:
        entity["state"] = {"deployment": deployment, "deployment_state_message": message}
    return rendered


def settle(record: Record, at: float) -> None:
    """Promote a pending config whose delay has passed to the current config."""
    pending = record.get("_pending")
    if pending is not None and at >= record["_settle_at"]:
        record["_config"] = pending
        record["_pending"] = None
        record["last_updated_timestamp"] = to_ms(record["_settle_at"])


def render_endpoint(record: Record) -> dict[str, Any]:
    shown = view(record)
    snapshot = {**record, "_pending": record.get("_pending"), "_config": record.get("_config")}
    settle(snapshot, now())
    shown["last_updated_timestamp"] = snapshot["last_updated_timestamp"]
    config, pending = snapshot["_config"], snapshot["_pending"]
    ready = config is not None
    shown["state"] = {
        "ready": "READY" if ready else "NOT_READY",
        "config_update": "IN_PROGRESS" if pending is not None else "NOT_UPDATING",
    }
    if ready:
        shown["config"] = _render_config(config, "DEPLOYMENT_READY", "")
    else:
        shown["config"] = _render_config(
            pending, "DEPLOYMENT_CREATING", "Creating the served entity"
        )
    if pending is not None:
        shown["pending_config"] = {
            **_render_config(pending, "DEPLOYMENT_CREATING", "Creating the served entity"),
            "start_time": to_ms(record["_pending_since"]),
        }
    return shown


def check_model(store: Store, tenant_id: str, model: str) -> None:
    """A Unity Catalog model (``catalog.schema.model``) must not be in another tenant's
    catalog; the tenant's own catalog and shared ones no tenant holds (``system.ai``) are fine."""
    parts = model.split(".")
    if len(parts) != 3:
        return
    wanted = parts[0].lower()
    for owner, catalog in store.table("catalogs").items():
        if catalog["catalog_name"].lower() == wanted and owner != tenant_id:
            raise invalid(
                f"model {model!r} is in another tenant's catalog; serve a model of its own"
            )


def find_endpoint(store: Store, name: str, tenant_id: str | None) -> Record:
    record = store.table("endpoints").get(name)
    if record is None:
        raise not_found(f"serving endpoint {name!r} not found")
    return enforce_tenant(record, tenant_id, f"serving endpoint {name!r}")


def _tags(raw: dict[str, str] | list[Tag] | None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [{"key": k, "value": v} for k, v in raw.items()]
    return [t.model_dump() for t in raw]


def _start_config(record: Record, config: dict[str, Any], delay: float) -> None:
    at = now()
    record["_pending"] = config
    record["_pending_since"] = at
    record["_settle_at"] = at + delay
    record["last_updated_timestamp"] = to_ms(at)


@router.post("/databricks/serving-endpoints", status_code=201)
def create_endpoint(store: StoreDep, body: EndpointCreate) -> dict[str, Any]:
    check_tenant(body.tenant_id)
    if not ENDPOINT_NAME.match(body.name):
        raise invalid("name must be 1-63 letters, digits, '-' or '_'")
    entity = ServedEntityIn(
        entity_name=body.model_name,
        entity_version=body.model_version,
        workload_size=body.workload_size,
        scale_to_zero_enabled=body.scale_to_zero_enabled,
    )
    config = build_config([entity], None, 1)
    with store.mutate():
        check_model(store, body.tenant_id, body.model_name)
        if body.name in store.table("endpoints"):
            raise already_exists(f"serving endpoint {body.name!r} already exists")
        stamp = to_ms(now())
        record: Record = {
            "tenant_id": body.tenant_id,
            "name": body.name,
            "id": uuid.uuid4().hex,
            "creator": CREATOR,
            "creation_timestamp": stamp,
            "last_updated_timestamp": stamp,
            "tags": _tags(body.tags),
            "managed_by": body.managed_by,
            "_config": None,
        }
        _start_config(record, config, store.ready_delay)
        store.insert("endpoints", body.name, record)
        return render_endpoint(record)


@router.get("/databricks/serving-endpoints")
def list_endpoints(store: StoreDep, tenant_id: str, page: PageDep) -> Response:
    return page_response(
        "endpoints", *paginate_owned(store, "endpoints", tenant_id, page, render_endpoint)
    )


@router.get("/databricks/serving-endpoints/{name}")
def get_endpoint(
    store: StoreDep,
    request: Request,
    name: str,
    response: Response,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.lock:
        return with_etag(response, render_endpoint(find_endpoint(store, name, tenant_id)))


@router.delete("/databricks/serving-endpoints/{name}")
def delete_endpoint(
    store: StoreDep, request: Request, name: str, tenant_id: str | None = None
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.mutate():
        record = find_endpoint(store, name, tenant_id)
        del store.table("endpoints")[name]
    return deleted("serving_endpoint", name, record)


@router.put("/databricks/serving-endpoints/{name}/config")
def update_config(
    store: StoreDep,
    request: Request,
    name: str,
    body: ConfigUpdate,
    if_match: IfMatch = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant = named_tenant(request, tenant_id, body.tenant_id)
    with store.mutate():
        record = find_endpoint(store, name, tenant)
        for entity in body.served_entities:
            check_model(store, record["tenant_id"], entity.entity_name)
        check_if_match(if_match, record, f"serving endpoint {name!r}")
        settle(record, now())
        if record["_pending"] is not None:
            raise conflict(f"serving endpoint {name!r} has a config update in progress")
        version = int(record["_config"]["config_version"]) + 1
        config = build_config(body.served_entities, body.traffic_config, version)
        _start_config(record, config, store.ready_delay)
        return render_endpoint(record)


@router.patch("/databricks/serving-endpoints/{name}/tags")
def patch_tags(
    store: StoreDep,
    request: Request,
    name: str,
    body: TagsPatch,
    if_match: IfMatch = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant = named_tenant(request, tenant_id, body.tenant_id)
    with store.mutate():
        record = find_endpoint(store, name, tenant)
        check_if_match(if_match, record, f"serving endpoint {name!r}")
        removed = set(body.delete_tags or [])
        tags = {t["key"]: t for t in record["tags"] if t["key"] not in removed}
        for tag in body.add_tags or []:
            tags[tag.key] = tag.model_dump()
        record["tags"] = list(tags.values())
        return {"tags": public(record)["tags"]}


def _prediction(item: Any) -> float:
    digest = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).digest()
    return round(int.from_bytes(digest[:4], "big") / 2**32, 6)


@router.post("/databricks/serving-endpoints/{name}/invoke")
def invoke(
    store: StoreDep, request: Request, name: str, body: Invocation, tenant_id: str | None = None
) -> dict[str, Any]:
    tenant = named_tenant(request, tenant_id, body.tenant_id, unnamed_ok=True)
    with store.lock:
        view = render_endpoint(find_endpoint(store, name, tenant))
    if view["state"]["ready"] != "READY":
        raise conflict(f"serving endpoint {name!r} is not ready yet")
    items = body.input if isinstance(body.input, list) else [body.input]
    served = view["config"]["served_entities"][0]["name"]
    return {"predictions": [_prediction(i) for i in items], "served_entity_name": served}
