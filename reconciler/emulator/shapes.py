"""The connector's response objects, as pydantic models, for the OpenAPI document.

These models describe what the routes answer; the routes themselves build
plain dicts (see each router's ``render_*``). They are closed
(``additionalProperties: false``) wherever the connector controls the shape,
so the contract test (schemathesis, response conformance) catches a field
the emulator adds without documenting it. Job settings stay open: Jobs 2.2
has more optional settings than the contract names, and they pass through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """A closed response object."""

    model_config = ConfigDict(extra="forbid")


class Problem(Shape):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str = Field(description="Always `about:blank`.")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    code: Literal[
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "CONFLICT",
        "PRECONDITION_FAILED",
        "INVALID_ARGUMENT",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "PAYLOAD_TOO_LARGE",
        "RATE_LIMITED",
        "UNAVAILABLE",
        "INTERNAL",
    ] = Field(description="Stable machine code; clients branch on it, never on `detail`.")
    detail: str = Field(description="Human message: what went wrong and what to do.")
    request_id: str = Field(description="Also in the `X-Request-Id` header; quote it to support.")


class Health(Shape):
    status: str
    databricks_connected: bool
    version: str


class Empty(Shape):
    """An empty object: the call was accepted."""


class Deleted(Shape):
    """The answer of every delete: what was deleted (a JSON body, so callers may ``.json()``)."""

    deleted: Literal[
        "catalog", "dataset", "notebook", "job", "serving_endpoint", "vector_index"
    ] = Field(description="The kind of object deleted.")
    id: str = Field(
        description="Its address: tenant id (catalog), table path, workspace path, job id, "
        "endpoint name or index full name."
    )
    tenant_id: str


ETAG = Field(description="Entity tag of this version; send it as `If-Match` to update safely.")
MANAGED_BY = Field(description="Who manages the object (`agentprovision-reconciler`), or null.")


class Catalog(Shape):
    exists: Literal[True]
    tenant_id: str
    catalog_name: str
    comment: str | None
    properties: dict[str, str]
    schemas: list[str]
    catalog_url: str
    owner: str
    metastore_id: str
    full_name: str
    catalog_type: Literal["MANAGED_CATALOG"]
    storage_location: str
    created_at: int
    created_by: str
    updated_at: int
    updated_by: str
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class NoCatalog(Shape):
    """The answer for a tenant without a catalog."""

    exists: Literal[False]
    catalog_name: None
    schemas: list[str]


class Column(Shape):
    name: str
    type_text: str = Field(
        description="Canonical Delta type: `array<float>`, `struct<a:int not null comment 'x'>`."
    )
    type_name: str = Field(description="Upper-case family: `INT`, `ARRAY`, `STRUCT`, `MAP`, ...")
    type_json: str = Field(
        description="The column as Spark schema JSON (`{name, type, nullable, metadata}`)."
    )
    nullable: bool
    comment: str | None
    position: int


class Dataset(Shape):
    tenant_id: str
    table_path: str
    catalog_name: str
    schema_name: str
    table_name: str
    description: str | None
    columns: list[Column]
    properties: dict[str, str]
    row_count: int
    size_bytes: int
    source_sha256: str | None
    source_format: str | None
    created_at: int
    last_modified: int
    version: int
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class DatasetList(Shape):
    datasets: list[Dataset]
    next_page_token: str | None


class UploadResult(Shape):
    table_path: str
    row_count: int
    source_sha256: str
    source_format: str
    size_bytes: int
    version: int


class QueryResult(Shape):
    rows: list[dict[str, Any]]
    columns: list[str]
    row_count: int
    execution_time_ms: int


class Notebook(Shape):
    tenant_id: str
    path: str
    object_id: int
    object_type: Literal["NOTEBOOK"]
    language: Literal["PYTHON", "SQL", "SCALA", "R"]
    content_sha256: str = Field(description="Hex SHA-256 of the UTF-8 content.")
    size: int
    created_at: int
    modified_at: int
    url: str
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class NotebookWithContent(Notebook):
    content: str


class NotebookList(Shape):
    notebooks: list[Notebook]
    next_page_token: str | None


class RunState(Shape):
    life_cycle_state: Literal[
        "QUEUED", "PENDING", "RUNNING", "TERMINATING", "TERMINATED", "SKIPPED", "INTERNAL_ERROR"
    ] = Field(description="Terminal: TERMINATED, SKIPPED, INTERNAL_ERROR.")
    result_state: Literal["SUCCESS", "FAILED", "TIMEDOUT", "CANCELED"] | None = Field(
        description="Set once the run is terminal."
    )
    state_message: str


class Run(Shape):
    run_id: int
    job_id: int | None
    tenant_id: str
    number_in_job: int
    run_name: str
    run_type: Literal["JOB_RUN", "SUBMIT_RUN"]
    job_parameters: dict[str, Any]
    run_page_url: str
    start_time: int
    end_time: int
    execution_duration: int
    state: RunState
    life_cycle_state: str
    result_state: str | None
    state_message: str


class RunList(Shape):
    runs: list[Run]


class RunStarted(Shape):
    run_id: int
    run_page_url: str


class JobRunStarted(RunStarted):
    number_in_job: int


class JobCreated(Shape):
    job_id: int
    job_url: str
    created_time: int


class JobSettings(BaseModel):
    """Jobs 2.2 settings with the server's defaults filled (open: more settings pass through)."""

    model_config = ConfigDict(extra="allow")
    name: str
    tasks: list[dict[str, Any]]
    max_concurrent_runs: int
    timeout_seconds: int
    tags: dict[str, str]
    email_notifications: dict[str, Any]
    format: Literal["MULTI_TASK"]
    schedule: dict[str, Any] | None = None


class Job(Shape):
    tenant_id: str
    job_id: int
    creator_user_name: str
    run_as_user_name: str
    created_time: int
    settings: JobSettings
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class JobList(Shape):
    jobs: list[Job]
    next_page_token: str | None


class TagOut(Shape):
    key: str
    value: str | None


class Tags(Shape):
    tags: list[TagOut]


class DeploymentState(Shape):
    deployment: Literal["DEPLOYMENT_CREATING", "DEPLOYMENT_READY", "DEPLOYMENT_FAILED"]
    deployment_state_message: str


class ServedEntity(Shape):
    name: str
    entity_name: str
    entity_version: str
    workload_size: Literal["Small", "Medium", "Large"]
    scale_to_zero_enabled: bool
    state: DeploymentState


class Route(Shape):
    served_model_name: str
    traffic_percentage: int


class TrafficConfig(Shape):
    routes: list[Route]


class EndpointConfig(Shape):
    served_entities: list[ServedEntity]
    traffic_config: TrafficConfig
    config_version: int


class PendingConfig(EndpointConfig):
    start_time: int


class EndpointState(Shape):
    ready: Literal["READY", "NOT_READY"]
    config_update: Literal["NOT_UPDATING", "IN_PROGRESS", "UPDATE_FAILED", "UPDATE_CANCELED"] = (
        Field(description="IN_PROGRESS while a deploy or config update settles.")
    )


class Endpoint(Shape):
    tenant_id: str
    name: str
    id: str
    creator: str
    creation_timestamp: int
    last_updated_timestamp: int
    state: EndpointState
    config: EndpointConfig
    pending_config: PendingConfig | None = None
    tags: list[TagOut]
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class EndpointList(Shape):
    endpoints: list[Endpoint]
    next_page_token: str | None


class Predictions(Shape):
    predictions: list[float]
    served_entity_name: str


class SourceColumnOut(Shape):
    name: str
    embedding_model_endpoint_name: str


class VectorColumnOut(Shape):
    name: str
    embedding_dimension: int


class DeltaSyncSpecOut(Shape):
    source_table: str
    pipeline_type: Literal["TRIGGERED", "CONTINUOUS"]
    embedding_source_columns: list[SourceColumnOut] | None = None
    embedding_vector_columns: list[VectorColumnOut] | None = None
    columns_to_sync: list[str] | None = None
    pipeline_id: str


class IndexStatus(Shape):
    ready: bool = Field(description="False while the index is provisioned or synced.")
    indexed_row_count: int
    message: str
    index_url: str


class VectorIndex(Shape):
    tenant_id: str
    name: str
    endpoint_name: str
    primary_key: str
    index_type: Literal["DELTA_SYNC"]
    creator: str
    delta_sync_index_spec: DeltaSyncSpecOut
    status: IndexStatus
    managed_by: str | None = MANAGED_BY
    etag: str = ETAG


class VectorIndexList(Shape):
    vector_indexes: list[VectorIndex]
    next_page_token: str | None


class ResultColumn(Shape):
    name: str


class Manifest(Shape):
    column_count: int
    columns: list[ResultColumn]


class ResultData(Shape):
    row_count: int
    data_array: list[list[Any]]


class SearchResult(Shape):
    manifest: Manifest
    result: ResultData
