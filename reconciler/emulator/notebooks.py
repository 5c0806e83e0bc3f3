"""Notebooks: workspace objects holding source text.

A notebook is addressed by its absolute workspace path (default
``/Workspace/AgentProvision/{tenant_id}/{name}``); paths are unique across the
workspace, so a path another tenant holds is taken (409) yet invisible (404 on
reads). The server assigns ``object_id`` and keeps ``content_sha256`` (hex
SHA-256 of the UTF-8 content) and ``size`` so callers can compare content
without downloading it; lists never carry the content.

``execute`` starts a one-time run of a notebook; its status is served by
:mod:`reconciler.emulator.runs`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from reconciler.emulator import runs
from reconciler.emulator.common import (
    WORKSPACE_HOST,
    Body,
    IfMatch,
    StoreDep,
    check_if_match,
    check_tenant,
    deleted,
    named_tenant,
    with_etag,
)
from reconciler.emulator.errors import already_exists, invalid, not_found
from reconciler.emulator.paging import PageDep, page_response, paginate_owned
from reconciler.emulator.store import Record, Store, now, to_ms, view

router = APIRouter(tags=["notebooks"])

LANGUAGES = ("PYTHON", "SQL", "SCALA", "R")


class NotebookCreate(Body):
    tenant_id: str
    name: str = Field(min_length=1, max_length=255)
    language: str
    content: str
    path: str | None = None
    overwrite: bool = False
    managed_by: str | None = None


class NotebookUpdate(Body):
    path: str | None = None
    content: str
    language: str | None = None


class NotebookExecute(Body):
    tenant_id: str
    notebook_path: str
    parameters: dict[str, str] | None = None


def check_language(language: str) -> str:
    upper = language.upper()
    if upper not in LANGUAGES:
        raise invalid(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return upper


MAX_PATH = 4096
"""Longest workspace path accepted (characters)."""


def check_path(path: str) -> str:
    """An absolute, normalised workspace path, or a 400."""
    if len(path) > MAX_PATH:
        raise invalid(f"notebook path is {len(path)} characters long; at most {MAX_PATH}")
    if "\x00" in path or any(ord(c) < 32 for c in path):
        raise invalid("notebook path holds a NUL or control character")
    parts = path.split("/")
    if (
        not path.startswith("/")
        or path.endswith("/")
        or any(p in ("", ".", "..") for p in parts[1:])
    ):
        raise invalid(f"notebook path {path!r} must be absolute, without '.', '..' or '//'")
    return path


def tenant_folder(tenant_id: str) -> str:
    """The workspace folder a tenant's notebooks live in (its namespace)."""
    return f"/Workspace/AgentProvision/{tenant_id}/"


def check_namespace(path: str, tenant_id: str) -> str:
    """``path`` if it lies in the tenant's workspace folder, else a 400."""
    folder = tenant_folder(tenant_id)
    if not check_path(path).startswith(folder):
        raise invalid(f"notebook path {path!r} is outside the tenant's folder {folder}")
    return path


def render_notebook(record: Record, *, with_content: bool = False) -> dict[str, Any]:
    shown = view(record)
    if with_content:
        shown["content"] = record["_content"]
    return shown


def find_notebook(store: Store, tenant_id: str | None, path: str) -> Record:
    """The tenant's notebook at ``path``, or a 404 (also for another tenant's)."""
    if tenant_id is not None:
        check_tenant(tenant_id)
    record = store.table("notebooks").get(check_path(path))
    if record is None or (tenant_id is not None and record["tenant_id"] != tenant_id):
        raise not_found(f"notebook {path!r} not found")
    return record


def _set_content(record: Record, content: str) -> None:
    encoded = content.encode("utf-8")
    record["_content"] = content
    record["content_sha256"] = hashlib.sha256(encoded).hexdigest()
    record["size"] = len(encoded)
    record["modified_at"] = to_ms(now())


def _new_record(store: Store, body: NotebookCreate, path: str, language: str) -> Record:
    object_id = store.next("object_id") + 1_000_000_000
    record: Record = {
        "tenant_id": body.tenant_id,
        "path": path,
        "object_id": object_id,
        "object_type": "NOTEBOOK",
        "language": language,
        "created_at": to_ms(now()),
        "url": f"{WORKSPACE_HOST}/editor/notebooks/{object_id}",
        "managed_by": body.managed_by,
    }
    _set_content(record, body.content)
    return record


@router.post("/databricks/notebooks", status_code=201)
def create_notebook(store: StoreDep, body: NotebookCreate) -> dict[str, Any]:
    check_tenant(body.tenant_id)
    if "/" in body.name:
        raise invalid("name must not contain '/'; give a full path in 'path' instead")
    language = check_language(body.language)
    path = check_namespace(body.path or tenant_folder(body.tenant_id) + body.name, body.tenant_id)
    with store.mutate():
        existing = store.table("notebooks").get(path)
        if existing is not None:
            if not body.overwrite or existing["tenant_id"] != body.tenant_id:
                raise already_exists(f"notebook {path!r} already exists")
            existing["language"] = language
            if body.managed_by is not None:
                existing["managed_by"] = body.managed_by
            _set_content(existing, body.content)
            return render_notebook(existing)
        record = store.insert("notebooks", path, _new_record(store, body, path, language))
        return render_notebook(record)


@router.get("/databricks/notebooks")
def list_notebooks(store: StoreDep, tenant_id: str, page: PageDep) -> Response:
    return page_response(
        "notebooks", *paginate_owned(store, "notebooks", tenant_id, page, render_notebook)
    )


@router.get("/databricks/notebooks/runs/{run_id}")
def get_notebook_run(
    store: StoreDep, request: Request, run_id: int, tenant_id: str | None = None
) -> dict[str, Any]:
    return runs.read_run(store, run_id, named_tenant(request, tenant_id, unnamed_ok=True))


@router.post("/databricks/notebooks/execute")
def execute_notebook(store: StoreDep, body: NotebookExecute) -> dict[str, Any]:
    with store.mutate():
        notebook = find_notebook(store, body.tenant_id, body.notebook_path)
        run = runs.start_notebook_run(
            store,
            tenant_id=body.tenant_id,
            notebook_path=notebook["path"],
            parameters=dict(body.parameters or {}),
        )
        return {"run_id": run["run_id"], "run_page_url": run["run_page_url"]}


@router.get("/databricks/notebooks/{tenant_id}")
def get_notebook(
    store: StoreDep, tenant_id: str, response: Response, path: str = Query(...)
) -> dict[str, Any]:
    with store.lock:
        record = find_notebook(store, tenant_id, path)
        return with_etag(response, render_notebook(record, with_content=True))


def _update_path(query: str | None, body: str | None) -> str:
    """The notebook an update names: by ``?path=``, by the body's ``path``, or both if equal."""
    if query is not None and body is not None and query != body:
        raise invalid(f"body path {body!r} differs from the path parameter {query!r}")
    path = query if query is not None else body
    if path is None:
        raise invalid("name the notebook: give 'path' in the body or as the path parameter")
    return path


@router.put("/databricks/notebooks/{tenant_id}")
def update_notebook(
    store: StoreDep,
    tenant_id: str,
    body: NotebookUpdate,
    path: str | None = Query(
        None, description="The notebook's path; may be given in the body instead (or both, equal)."
    ),
    if_match: IfMatch = None,
) -> dict[str, Any]:
    path = _update_path(path, body.path)
    language = check_language(body.language) if body.language is not None else None
    with store.mutate():
        record = find_notebook(store, tenant_id, path)
        check_if_match(if_match, record, f"notebook {path!r}")
        if language is not None:
            record["language"] = language
        _set_content(record, body.content)
        return render_notebook(record)


@router.delete("/databricks/notebooks/{tenant_id}")
def delete_notebook(store: StoreDep, tenant_id: str, path: str = Query(...)) -> dict[str, Any]:
    with store.mutate():
        record = find_notebook(store, tenant_id, path)
        del store.table("notebooks")[path]
    return deleted("notebook", path, record)
