"""Jobs (Jobs 2.2 settings) and starting their runs.

The server assigns ``job_id`` and ``created_time`` and fills defaults (see
:mod:`reconciler.emulator.jobspec`). ``reset`` replaces all settings, as the
Jobs API's ``jobs/reset`` does; there is no partial update. Deleting a job
deletes its runs. Runs are served by :mod:`reconciler.emulator.runs`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Body as JsonBody

from reconciler.emulator import jobspec, runs
from reconciler.emulator.common import (
    CREATOR,
    WORKSPACE_HOST,
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
from reconciler.emulator.errors import invalid, not_found
from reconciler.emulator.paging import PageDep, page_response, paginate_owned
from reconciler.emulator.store import Record, Store, now, to_ms, view

router = APIRouter(tags=["jobs"])
ACL = "access_control_list"
"""Who may see, run and manage a job; set on create and reset, returned by get."""


class JobRun(Body):
    tenant_id: str | None = None
    job_parameters: dict[str, str] | None = None


def notebook_checker(store: Store, tenant_id: str) -> jobspec.NotebookExists:
    """Whether a workspace path names a notebook of ``tenant_id`` (``/Workspace`` optional)."""
    notebooks = store.table("notebooks")

    def exists(path: str) -> bool:
        alternative = (
            path.removeprefix("/Workspace")
            if path.startswith("/Workspace/")
            else ("/Workspace" + path)
        )
        found = notebooks.get(path) or notebooks.get(alternative)
        return found is not None and found["tenant_id"] == tenant_id

    return exists


def find_job(store: Store, job_id: int, tenant_id: str | None) -> Record:
    record = store.table("jobs").get(str(job_id))
    if record is None:
        raise not_found(f"job {job_id} not found")
    return enforce_tenant(record, tenant_id, f"job {job_id}")


def _tenant_of(body: dict[str, Any]) -> str:
    tenant_id = body.get("tenant_id")
    if not isinstance(tenant_id, str):
        raise invalid("tenant_id is required and must be a string")
    return check_tenant(tenant_id)


@router.post("/databricks/jobs", status_code=201)
def create_job(store: StoreDep, body: Annotated[dict[str, Any], JsonBody()]) -> dict[str, Any]:
    tenant_id = _tenant_of(body)
    managed_by = body.get("managed_by")
    if managed_by is not None and not isinstance(managed_by, str):
        raise invalid("managed_by must be a string")
    raw = {k: v for k, v in body.items() if k not in ("tenant_id", "managed_by", ACL)}
    acl = jobspec.access_control_list(body.get(ACL))
    with store.mutate():
        settings = jobspec.normalize_settings(raw, notebook_checker(store, tenant_id))
        job_id = store.next("job_id") + 100_000
        created = to_ms(now())
        record: Record = {
            "tenant_id": tenant_id,
            "job_id": job_id,
            "creator_user_name": CREATOR,
            "run_as_user_name": CREATOR,
            "created_time": created,
            "managed_by": managed_by,
            "settings": settings,
        }
        if acl is not None:
            record[ACL] = acl
        store.insert("jobs", str(job_id), record)
    return {"job_id": job_id, "job_url": f"{WORKSPACE_HOST}/jobs/{job_id}", "created_time": created}


@router.get("/databricks/jobs")
def list_jobs(store: StoreDep, tenant_id: str, page: PageDep) -> Response:
    return page_response("jobs", *paginate_owned(store, "jobs", tenant_id, page, view))


@router.get("/databricks/jobs/{job_id}")
def get_job(
    store: StoreDep,
    request: Request,
    job_id: int,
    response: Response,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.lock:
        return with_etag(response, view(find_job(store, job_id, tenant_id)))


@router.delete("/databricks/jobs/{job_id}")
def delete_job(
    store: StoreDep, request: Request, job_id: int, tenant_id: str | None = None
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.mutate():
        record = find_job(store, job_id, tenant_id)
        del store.table("jobs")[str(job_id)]
        table = store.table("runs")
        for key in [k for k, r in table.items() if r["job_id"] == job_id]:
            del table[key]
    return deleted("job", job_id, record)


@router.post("/databricks/jobs/{job_id}/reset")
def reset_job(
    store: StoreDep,
    job_id: int,
    body: Annotated[dict[str, Any], JsonBody()],
    request: Request,
    if_match: IfMatch = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    named = body.get("tenant_id")
    if named is not None and not isinstance(named, str):
        raise invalid("tenant_id must be a string")
    tenant_id = named_tenant(request, tenant_id, named)
    unknown = set(body) - {"tenant_id", "new_settings", "job_id", ACL}
    if unknown or "new_settings" not in body:
        raise invalid("reset takes {tenant_id, new_settings, access_control_list}")
    acl = jobspec.access_control_list(body.get(ACL))
    with store.mutate():
        record = find_job(store, job_id, tenant_id)
        check_if_match(if_match, record, f"job {job_id}")
        checker = notebook_checker(store, record["tenant_id"])
        record["settings"] = jobspec.normalize_settings(body["new_settings"], checker)
        if acl is not None:
            record[ACL] = acl
    return {}


@router.post("/databricks/jobs/{job_id}/run")
def run_job(
    store: StoreDep,
    request: Request,
    job_id: int,
    body: JobRun | None = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    body = body or JobRun()
    tenant_id = named_tenant(request, tenant_id, body.tenant_id)
    with store.mutate():
        job = find_job(store, job_id, tenant_id)
        run = runs.start_job_run(store, job, dict(body.job_parameters or {}))
    return {
        "run_id": run["run_id"],
        "number_in_job": run["number_in_job"],
        "run_page_url": run["run_page_url"],
    }


@router.get("/databricks/jobs/{job_id}/runs")
def list_job_runs(
    store: StoreDep,
    job_id: int,
    request: Request,
    limit: int = Query(25, ge=1, le=1000),
    tenant_id: str | None = None,
) -> dict[str, Any]:
    tenant_id = named_tenant(request, tenant_id, unnamed_ok=True)
    with store.lock:
        find_job(store, job_id, tenant_id)
        return {"runs": runs.job_runs(store, job_id, limit)}
