"""A small, fully constructed scenario (no I/O) that exercises every plan action."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import (
    DesiredResource,
    ObservedResource,
    RecordedResource,
    ResourceKey,
    SourceLocation,
    TenantContext,
)
from reconciler.plan import PlanOptions, TenantPlan, build_plan
from reconciler.secrets import mask_value

CTX = TenantContext(name="acme", tenant_id="acme", catalog="agentprovision_acme")
TENANT = ResourceKey("acme", "Tenant", "acme")


def key(kind: str, name: str) -> ResourceKey:
    return ResourceKey("acme", kind, name)


def notebook_spec(name: str, sha: str = "aaa") -> dict[str, Any]:
    return {
        "path": f"/Workspace/AgentProvision/acme/{name}",
        "language": "PYTHON",
        "content_sha256": sha,
    }


def column(position: int, type_: str = "string", nullable: bool = True) -> dict[str, Any]:
    return {"position": position, "type": type_, "nullable": nullable, "comment": ""}


def dataset_spec(**columns: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "default", "description": "", "columns": columns}


def job_spec(notebook: str, runs: int = 1, token: str | None = None) -> dict[str, Any]:
    parameters = {"env": "prod"} | ({"token": token} if token else {})
    return {
        "tasks": {
            "load": {
                "notebook_task": {
                    "notebook_path": notebook,
                    "base_parameters": parameters,
                    "source": "WORKSPACE",
                },
                "timeout_seconds": 0,
                "max_retries": 0,
                "run_if": "ALL_SUCCESS",
            }
        },
        "max_concurrent_runs": runs,
        "timeout_seconds": 0,
    }


def desired(
    k: ResourceKey,
    spec: dict[str, Any],
    identity: str,
    *,
    lifecycle: dict[str, Any] | None = None,
    adopt: bool = False,
    line: int = 1,
) -> DesiredResource:
    return DesiredResource(
        key=k,
        identity=identity,
        spec=spec,
        location=SourceLocation(f"{k.kind.lower()}s.yaml", line, 1),
        depends_on=(TENANT,) if k != TENANT else (),
        adopt=adopt,
        lifecycle=lifecycle or {},
    )


def recorded(
    d: DesiredResource | ResourceKey,
    spec: dict[str, Any] | None = None,
    *,
    identity: str | None = None,
    remote_id: str | None = None,
    lifecycle: dict[str, Any] | None = None,
) -> RecordedResource:
    if isinstance(d, DesiredResource):
        return RecordedResource(
            key=d.key,
            identity=d.identity,
            remote_id=remote_id or d.identity,
            spec=spec if spec is not None else d.spec,
            depends_on=d.depends_on,
            lifecycle=lifecycle or {},
        )
    assert spec is not None and identity is not None
    return RecordedResource(
        key=d,
        identity=identity,
        remote_id=remote_id or identity,
        spec=spec,
        depends_on=(TENANT,),
        lifecycle=lifecycle or {},
    )


def observed(
    kind: str, identity: str, spec: dict[str, Any], remote_id: str | None = None
) -> ObservedResource:
    return ObservedResource(
        kind=kind, identity=identity, remote_id=remote_id or identity, spec=spec, raw={**spec}
    )


def plan_of(
    d: list[DesiredResource],
    r: list[RecordedResource],
    o: list[ObservedResource],
    options: PlanOptions = PlanOptions(),
) -> TenantPlan:
    return build_plan(
        context=CTX,
        order=[x.key for x in d],
        desired={x.key: x for x in d},
        recorded={x.key: x for x in r},
        observed=o,
        serial=7,
        options=options,
    )


SECRET = "s3cr3t-token-value"


def every_action() -> TenantPlan:
    """One tenant whose plan holds create, update, replace, delete, forget, adopt,
    conflict, blocked, a refresh and an unmanaged object."""
    tenant_spec = {"catalog_name": "agentprovision_acme", "comment": "", "properties": {}}
    tenant = desired(TENANT, tenant_spec, "agentprovision_acme")
    etl = desired(key("Notebook", "etl"), notebook_spec("etl", "bbb"), notebook_spec("etl")["path"])
    report = desired(
        key("Notebook", "report"), notebook_spec("report"), notebook_spec("report")["path"]
    )
    sales_d = dataset_spec(id=column(0, "int"), amount=column(1, "int"))
    sales = desired(key("Dataset", "sales"), sales_d, "agentprovision_acme.default.sales")
    secret_job = job_spec(etl.identity, token=mask_value(SECRET))
    nightly = desired(key("Job", "nightly"), secret_job, "nightly")
    adopted = desired(
        key("Notebook", "legacy"),
        notebook_spec("legacy"),
        notebook_spec("legacy")["path"],
        adopt=True,
    )
    taken = desired(
        key("Notebook", "taken"), notebook_spec("taken"), notebook_spec("taken")["path"]
    )
    vault = desired(
        key("Dataset", "vault"),
        dataset_spec(id=column(0, "bigint")),
        "agentprovision_acme.default.vault",
    )
    synced = desired(
        key("Notebook", "synced"), notebook_spec("synced", "new"), notebook_spec("synced")["path"]
    )
    d = [tenant, etl, report, sales, nightly, adopted, taken, vault, synced]
    old_sales = dataset_spec(id=column(0, "int"), amount=column(1, "bigint"))
    old_vault = dataset_spec(id=column(0, "string"))
    r = [
        recorded(tenant),
        recorded(etl, notebook_spec("etl")),
        recorded(sales, old_sales),
        recorded(nightly, job_spec(etl.identity, token=mask_value("old-token")), remote_id="41"),
        recorded(vault, old_vault, lifecycle={"prevent_destroy": True}),
        recorded(
            key("ServingEndpoint", "old-bot"),
            {"model": {"name": "m", "version": "1"}},
            identity="old-bot",
        ),
        recorded(
            key("Notebook", "gone"), notebook_spec("gone"), identity=notebook_spec("gone")["path"]
        ),
        recorded(report, notebook_spec("report")),
        recorded(synced, notebook_spec("synced", "old")),
    ]
    o = [
        observed("Tenant", "agentprovision_acme", tenant_spec),
        observed("Notebook", etl.identity, notebook_spec("etl")),
        observed("Notebook", report.identity, notebook_spec("report", "edited")),
        observed("Dataset", sales.identity, old_sales),
        observed(
            "Job", "nightly", job_spec(etl.identity, runs=3, token="old-token"), remote_id="41"
        ),
        observed("Dataset", vault.identity, old_vault),
        observed("ServingEndpoint", "old-bot", {"model": {"name": "m", "version": "1"}}),
        observed("Notebook", adopted.identity, notebook_spec("legacy")),
        observed("Notebook", taken.identity, notebook_spec("taken")),
        observed("Job", "someone-elses-job", job_spec("/Shared/x")),
        observed("Notebook", synced.identity, notebook_spec("synced", "new")),
    ]
    return plan_of(d, r, o)
