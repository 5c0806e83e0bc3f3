"""Dataset: a Unity Catalog Delta table in the tenant's catalog, optionally loaded from a file.

The table is ``<catalog>.<schema>.<table>``, where the table name is the
document's ``metadata.name`` with ``-`` turned into ``_``. Columns are declared
in order; the normalised form keys them by name (with their ``position``) so a
plan reads ``columns.amount.type``. A ``source`` file is uploaded after the
table is created and again whenever its SHA-256 changes; the connector records
that hash, so the comparison needs no download.

Columns change like ``ALTER TABLE``: new nullable columns, new comments, wider
types and relaxed NOT NULL apply in place. Moving a column (its ``position``)
or moving the table to another schema needs a replace, which destroys rows.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.kinds.base import (
    MANAGED_BY,
    DesiredResource,
    FieldProblem,
    FieldRule,
    Kind,
    ObservedResource,
    ReadFile,
    Rule,
    SpecBase,
    TenantContext,
    Verdict,
    etag,
    read_spec_file,
)
from reconciler.kinds.columns import IDENTIFIER, Column, assess_column, normalize_type
from reconciler.sourcecheck import body_problem

if TYPE_CHECKING:
    from reconciler.diff import FieldChange
    from reconciler.mcp.client import ConnectorClient

FORMATS_BY_EXTENSION = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".xlsx": "xlsx",
}
SourceFormat = Literal["csv", "parquet", "json", "xlsx"]


def format_for(path: str) -> str | None:
    """The source format implied by a file name's extension, if any."""
    return FORMATS_BY_EXTENSION.get(posixpath.splitext(path)[1].lower())


class DatasetSource(BaseModel):
    """A file whose rows replace the table's rows whenever the file changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="File path relative to the tenant folder.")
    format: SourceFormat | None = Field(
        default=None,
        description="File format; defaults from the extension (.csv, .parquet, .json, "
        ".jsonl, .xlsx).",
    )

    @model_validator(mode="after")
    def _format_known(self) -> DatasetSource:
        if self.format is None and format_for(self.path) is None:
            raise ValueError(f"cannot tell the format of {self.path!r}; set source.format")
        return self

    @property
    def effective_format(self) -> str:
        return self.format or format_for(self.path) or ""


class DatasetSpec(SpecBase):
    """A Delta table in the tenant's catalog."""

    schema_name: str = Field(
        default="default",
        alias="schema",
        pattern=IDENTIFIER,
        description="Unity Catalog schema holding the table; created on demand. "
        "Changing it replaces the table (its rows are lost).",
    )
    description: str = Field(default="", description="Table comment.")
    columns: list[Column] = Field(
        min_length=1, description="The table's columns, in order. Names must be unique."
    )
    source: DatasetSource | None = Field(
        default=None,
        description="Optional file loaded into the table; re-uploaded when its content changes.",
    )

    @field_validator("columns")
    @classmethod
    def _unique_names(cls, columns: list[Column]) -> list[Column]:
        seen: set[str] = set()
        for column in columns:
            if column.name.lower() in seen:
                raise ValueError(f"column {column.name!r} is declared twice")
            seen.add(column.name.lower())
        if all(column.type == "void" for column in columns):
            raise ValueError("a table cannot have only VOID columns")
        return columns


def table_name(name: str) -> str:
    """The table name of a dataset document: ``metadata.name`` with ``-`` made ``_``."""
    return name.replace("-", "_")


def columns_dict(columns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Ordered column dicts → ``{name: {position, type, nullable, comment}}``."""
    return {
        c["name"]: {
            "position": position,
            "type": c["type"],
            "nullable": c["nullable"],
            "comment": c["comment"],
        }
        for position, c in enumerate(columns)
    }


def columns_list(columns: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The normalised column dict back to the connector's ordered column list."""
    ordered = sorted(columns.items(), key=lambda item: item[1]["position"])
    return [
        {"name": n, "type": c["type"], "nullable": c["nullable"], "comment": c["comment"]}
        for n, c in ordered
    ]


def _observed_columns(raw: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    ordered = sorted(enumerate(raw), key=lambda item: (item[1].get("position", item[0]), item[0]))
    return columns_dict(
        [
            {
                "name": c["name"],
                "type": _observed_type(c),
                "nullable": bool(c.get("nullable", True)),
                "comment": c.get("comment") or "",
            }
            for _, c in ordered
        ]
    )


def _observed_type(column: Mapping[str, Any]) -> str:
    text = str(column.get("type_text") or column.get("type") or "")
    try:
        return normalize_type(text)
    except ValueError:
        return text.lower()


class Dataset(Kind):
    """A Delta table; deleting or replacing it destroys its rows."""

    kind = "Dataset"
    noun = "dataset"
    collection = "datasets"
    list_path = "/databricks/datasets"
    list_items = "datasets"
    spec_model = DatasetSpec
    data_bearing = True
    rules = (
        FieldRule("schema", Rule.CREATE_ONLY, "a table cannot move to another schema in place"),
        FieldRule(
            "columns.*.position",
            Rule.CREATE_ONLY,
            "Delta cannot reorder or drop columns in place; the table is recreated",
        ),
        FieldRule(
            "columns", Rule.CREATE_ONLY, "dropping or narrowing needs a recreate (see assess)"
        ),
        FieldRule("description", Rule.SERVER_DEFAULT, "an absent comment reads as empty", ""),
        FieldRule("columns.*.nullable", Rule.SERVER_DEFAULT, "columns are nullable", True),
        FieldRule("columns.*.comment", Rule.SERVER_DEFAULT, "absent comments read empty", ""),
    )

    # ---- pure side -------------------------------------------------------------------

    def assess(self, change: FieldChange) -> Verdict:
        """Table evolution: what ALTER TABLE keeps in place, and what destroys rows."""
        parts = change.parts
        if parts[0] == "source_sha256":
            return Verdict("source file changed: the table's rows are reloaded from it")
        if parts[0] != "columns" or len(parts) < 2:
            return super().assess(change)
        return assess_column(parts[1], change)

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        assert isinstance(spec, DatasetSpec)
        return f"{tenant.catalog}.{spec.schema_name}.{table_name(name)}"

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        assert isinstance(spec, DatasetSpec)
        return {
            "table": self.identity(tenant, name, spec),
            "name": table_name(name),
            "schema": spec.schema_name,
        }

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{schema, description, columns{name: {...}}[, source_sha256, source_format]}``.

        The two source keys are present only when the document has a source, so
        rows loaded by other means are left alone.
        """
        assert isinstance(spec, DatasetSpec)
        normalized: dict[str, Any] = {
            "schema": spec.schema_name,
            "description": spec.description,
            "columns": columns_dict([c.model_dump() for c in spec.columns]),
        }
        if spec.source is None:
            return normalized, {}
        body = read_spec_file(read_file, spec.source.path, ("source", "path"))
        if not body:
            raise FieldProblem(f"source file {spec.source.path!r} is empty", ("source", "path"))
        problem = body_problem(len(body), "the source file")
        if problem:
            raise FieldProblem(f"`{spec.source.path}`: {problem}", ("source", "path"))
        normalized["source_sha256"] = hashlib.sha256(body).hexdigest()
        normalized["source_format"] = spec.source.effective_format
        return normalized, {"source": body}

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """Schema, comment and columns (defaults left out); never a ``source``, so adopting
        the table keeps its rows as they are."""
        columns = [
            {k: v for k, v in c.items() if (k, v) not in (("nullable", True), ("comment", ""))}
            for c in columns_list(observed.spec["columns"])
        ]
        spec: dict[str, Any] = {"schema": observed.spec["schema"]}
        if observed.spec.get("description"):
            spec["description"] = observed.spec["description"]
        return {**spec, "columns": columns}

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        spec: dict[str, Any] = {
            "schema": raw.get("schema_name") or "default",
            "description": raw.get("description") or "",
            "columns": _observed_columns(list(raw.get("columns") or ())),
        }
        if raw.get("source_sha256"):
            spec["source_sha256"] = raw["source_sha256"]
            spec["source_format"] = raw.get("source_format")
        table_path = str(raw["table_path"])
        return ObservedResource(
            kind=self.kind,
            identity=table_path,
            remote_id=table_path,
            spec=spec,
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
        )

    # ---- connector side --------------------------------------------------------------

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return _dataset_path(tenant, identity), {}

    async def create(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Create the table, then load the source file if the document names one."""
        spec = desired.values()
        result = await client.post(
            "/databricks/datasets",
            idempotency_key=idempotency_key,
            json={
                "tenant_id": tenant.tenant_id,
                "name": desired.identity.rsplit(".", 1)[1],
                "schema_name": spec["schema"],
                "description": spec["description"],
                "schema": columns_list(spec["columns"]),
                "managed_by": MANAGED_BY,
            },
        )
        upload_key = f"{idempotency_key}:upload" if idempotency_key else None
        await self._upload(client, tenant, desired, idempotency_key=upload_key)
        return str((result or {}).get("table_path") or desired.identity)

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """PATCH description/columns (ALTER TABLE semantics); re-upload a changed source."""
        body: dict[str, Any] = {}
        if "description" in changed:
            body["description"] = desired.values()["description"]
        if "columns" in changed:
            body["columns"] = columns_list(desired.values()["columns"])
        if body:
            await client.patch(
                _dataset_path(tenant, desired.identity), json=body, if_match=etag(observed)
            )
        if changed & {"source_sha256", "source_format"}:
            await self._upload(client, tenant, desired)

    async def _upload(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Replace the table's rows with the source file (nothing when there is none)."""
        body = desired.blobs.get("source")
        if body is None:
            return
        fmt = str(desired.values()["source_format"])
        await client.post(
            "/databricks/datasets/upload",
            idempotency_key=idempotency_key,
            params={
                "tenant_id": tenant.tenant_id,
                "dataset_name": _dataset_name(desired.identity),
                "format": fmt,
            },
            files={"file": (f"source.{fmt}", body, "application/octet-stream")},
        )


def _dataset_name(identity: str) -> str:
    """``catalog.schema.table`` → the connector's ``schema.table`` address."""
    return identity.split(".", 1)[1]


def _dataset_path(tenant: TenantContext, identity: str) -> str:
    return f"/databricks/datasets/{tenant.tenant_id}/{_dataset_name(identity)}"
