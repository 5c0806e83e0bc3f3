"""Notebook: a workspace notebook whose source lives in the tenant folder or inline.

The notebook's workspace path is its identity (default
``/Workspace/AgentProvision/<tenant_id>/<name>``) and what jobs reference as
``${notebooks.<name>.path}``. The content is compared by SHA-256 of its UTF-8
bytes, which the connector reports in its list, so no content is downloaded to
plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from reconciler.kinds.base import (
    MANAGED_BY,
    DesiredResource,
    FieldProblem,
    FieldRule,
    Kind,
    Namespace,
    ObservedResource,
    ReadFile,
    Rule,
    SpecBase,
    TenantContext,
    etag,
    read_spec_file,
)
from reconciler.sourcecheck import notebook_problem

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient


class NotebookSpec(SpecBase):
    """A workspace notebook; give exactly one of ``source`` or ``content``."""

    language: Literal["python", "sql", "scala", "r"] = Field(
        description="Notebook language: python, sql, scala or r (case-insensitive)."
    )
    source: str | None = Field(
        default=None,
        min_length=1,
        description="File holding the notebook source, relative to the tenant folder.",
    )
    content: str | None = Field(default=None, description="The notebook source, inline.")
    path: str | None = Field(
        default=None,
        pattern=r"^/[^\s]*[^/\s]$",
        description="Absolute workspace path. Defaults to "
        "/Workspace/AgentProvision/<tenantId>/<name>. Changing it creates a new notebook.",
    )

    @field_validator("language", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_body(self) -> NotebookSpec:
        if (self.source is None) == (self.content is None):
            raise ValueError("give exactly one of 'source' (a file) or 'content' (inline text)")
        return self


def notebook_path(tenant: TenantContext, name: str, spec: NotebookSpec) -> str:
    """The notebook's workspace path: the document's ``path`` or the tenant default."""
    return spec.path or f"/Workspace/AgentProvision/{tenant.tenant_id}/{name}"


def _content(spec: NotebookSpec, read_file: ReadFile) -> bytes:
    """The notebook body as UTF-8 bytes, from the file or the inline text."""
    if spec.content is not None:
        return spec.content.encode("utf-8")
    assert spec.source is not None
    body = read_spec_file(read_file, spec.source, ("source",))
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FieldProblem(
            f"notebook source {spec.source!r} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            ("source",),
        ) from None
    return body


class Notebook(Kind):
    """A workspace notebook (a SOURCE-format import)."""

    kind = "Notebook"
    noun = "notebook"
    collection = "notebooks"
    list_path = "/databricks/notebooks"
    list_items = "notebooks"
    spec_model = NotebookSpec
    rules = (FieldRule("path", Rule.CREATE_ONLY, "a new path is a new workspace object"),)

    # ---- pure side -------------------------------------------------------------------

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        assert isinstance(spec, NotebookSpec)
        return notebook_path(tenant, name, spec)

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"path": self.identity(tenant, name, spec)}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{path, language (upper-case), content_sha256}``; the body goes in blobs."""
        assert isinstance(spec, NotebookSpec)
        body = _content(spec, read_file)
        too_big = notebook_problem(body)
        if too_big:
            raise FieldProblem(too_big, ("content",) if spec.content is not None else ("source",))
        return {
            "path": notebook_path(tenant, name, spec),
            "language": spec.language.upper(),
            "content_sha256": hashlib.sha256(body).hexdigest(),
        }, {"content": body}

    def check_namespace(
        self, namespace: Namespace, identity: str, spec: BaseModel, normalized: Mapping[str, Any]
    ) -> None:
        """A written ``path`` lies inside the tenant's workspace folder, with no ``..`` or NUL."""
        assert isinstance(spec, NotebookSpec)
        if spec.path is not None:
            namespace.check_path(spec.path, ("spec", "path"), "notebook path")

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """Language and path; ``import remote`` writes the body to a file it names as
        ``source``."""
        return {"language": str(observed.spec["language"]).lower(), "path": observed.identity}

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        path = str(raw["path"])
        return ObservedResource(
            kind=self.kind,
            identity=path,
            remote_id=str(raw.get("object_id") or path),
            spec={
                "path": path,
                "language": str(raw.get("language") or "").upper(),
                "content_sha256": raw.get("content_sha256"),
            },
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
        )

    # ---- connector side --------------------------------------------------------------

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return f"/databricks/notebooks/{tenant.tenant_id}", {"path": identity}

    async def create(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        result = await client.post(
            "/databricks/notebooks",
            idempotency_key=idempotency_key,
            json={
                "tenant_id": tenant.tenant_id,
                "name": desired.key.name,
                "path": desired.identity,
                "language": desired.values()["language"],
                "content": desired.blobs["content"].decode("utf-8"),
                "overwrite": False,
                "managed_by": MANAGED_BY,
            },
        )
        return str((result or {}).get("object_id") or desired.identity)

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """One PUT carrying the content and the language."""
        await client.put(
            f"/databricks/notebooks/{tenant.tenant_id}",
            if_match=etag(observed),
            params={"path": desired.identity},
            json={
                "path": desired.identity,
                "content": desired.blobs["content"].decode("utf-8"),
                "language": desired.values()["language"],
            },
        )
