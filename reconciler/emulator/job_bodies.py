"""Request bodies of the job routes, for the OpenAPI document.

The job routes read their bodies as raw JSON and check them against the whole
Jobs 2.2 ``JobSettings`` shape (:mod:`reconciler.emulator.jobspec`, from the
table generated from databricks-sdk). These models document the main fields;
every other ``JobSettings`` field is accepted and checked, unknown ones are a 400.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DependsOn(BaseModel):
    task_key: str
    outcome: str | None = None


class NotebookTaskIn(BaseModel):
    notebook_path: str = Field(description="A notebook of the same tenant.")
    base_parameters: dict[str, str] | None = None
    source: Literal["WORKSPACE", "GIT"] | None = None


class TaskIn(BaseModel):
    """A Jobs 2.2 task; every other ``Task`` field of JobSettings is accepted and checked."""

    model_config = ConfigDict(extra="allow")
    task_key: str
    depends_on: list[DependsOn] | None = None
    notebook_task: NotebookTaskIn | None = None
    timeout_seconds: int | None = None
    max_retries: int | None = None


class ScheduleIn(BaseModel):
    quartz_cron_expression: str
    timezone_id: str = "UTC"
    pause_status: Literal["PAUSED", "UNPAUSED"] = "UNPAUSED"


class JobSettingsIn(BaseModel):
    """Jobs 2.2 settings; every ``JobSettings`` field is accepted and checked, unknown ones are a 400."""

    model_config = ConfigDict(extra="allow")
    name: str
    tasks: list[TaskIn]
    schedule: ScheduleIn | None = None
    max_concurrent_runs: int | None = None
    timeout_seconds: int | None = None
    tags: dict[str, str] | None = None
    email_notifications: dict[str, Any] | None = None


class AccessControl(BaseModel):
    """Who may do what with the job: exactly one principal."""

    permission_level: Literal["CAN_MANAGE", "CAN_MANAGE_RUN", "CAN_VIEW", "IS_OWNER"]
    user_name: str | None = None
    group_name: str | None = None
    service_principal_name: str | None = None


class JobCreate(JobSettingsIn):
    tenant_id: str
    managed_by: str | None = None
    access_control_list: list[AccessControl] | None = None


class JobReset(BaseModel):
    """Full replacement of a job's settings (Jobs ``reset``)."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: str | None = None
    new_settings: JobSettingsIn
    access_control_list: list[AccessControl] | None = Field(
        default=None, description="Replaces the job's access control list when given."
    )
