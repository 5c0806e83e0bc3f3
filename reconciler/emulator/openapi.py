"""The connector contract as an OpenAPI document, generated from the emulator.

``specs/mcp-connector.openapi.yaml`` is the checked-in source of truth; it is
produced from the emulator's routes, so the two cannot drift apart silently
(a test fails when the file is stale). Regenerate it with::

    .venv/bin/python -m reconciler.emulator.openapi

FastAPI describes the paths, parameters and request bodies. This module
adds what FastAPI cannot see: the response objects (:mod:`.shapes`), the
problem documents of every error status, ``Retry-After`` on 429/503,
``ETag`` on single-object reads, ``Idempotency-Key`` on POSTs, and Bearer
auth. The same document is served at ``/openapi.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from reconciler.emulator import API_PREFIX, job_bodies
from reconciler.emulator import shapes as s
from reconciler.emulator.errors import PROBLEM_JSON

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "mcp-connector.openapi.yaml"
REF = "#/components/schemas/{model}"

Answer = type[BaseModel] | tuple[type[BaseModel], ...] | None
RESPONSES: dict[tuple[str, str], Answer] = {
    ("get", "/health"): s.Health,
    ("post", "/databricks/catalogs"): s.Catalog,
    ("get", "/databricks/catalogs/{tenant_id}"): (s.Catalog, s.NoCatalog),
    ("patch", "/databricks/catalogs/{tenant_id}"): s.Catalog,
    ("post", "/databricks/datasets"): s.Dataset,
    ("get", "/databricks/datasets"): s.DatasetList,
    ("get", "/databricks/datasets/{tenant_id}/{dataset_name}"): s.Dataset,
    ("patch", "/databricks/datasets/{tenant_id}/{dataset_name}"): s.Dataset,
    ("post", "/databricks/datasets/upload"): s.UploadResult,
    ("post", "/databricks/datasets/query"): s.QueryResult,
    ("post", "/databricks/notebooks"): s.Notebook,
    ("get", "/databricks/notebooks"): s.NotebookList,
    ("get", "/databricks/notebooks/runs/{run_id}"): s.Run,
    ("post", "/databricks/notebooks/execute"): s.RunStarted,
    ("get", "/databricks/notebooks/{tenant_id}"): s.NotebookWithContent,
    ("put", "/databricks/notebooks/{tenant_id}"): s.Notebook,
    ("post", "/databricks/jobs"): s.JobCreated,
    ("get", "/databricks/jobs"): s.JobList,
    ("get", "/databricks/jobs/{job_id}"): s.Job,
    ("post", "/databricks/jobs/{job_id}/reset"): s.Empty,
    ("post", "/databricks/jobs/{job_id}/run"): s.JobRunStarted,
    ("get", "/databricks/jobs/{job_id}/runs"): s.RunList,
    ("get", "/databricks/jobs/runs/latest"): s.RunList,
    ("get", "/databricks/runs/{run_id}"): s.Run,
    ("post", "/databricks/runs/{run_id}/cancel"): s.Empty,
    ("post", "/databricks/serving-endpoints"): s.Endpoint,
    ("get", "/databricks/serving-endpoints"): s.EndpointList,
    ("get", "/databricks/serving-endpoints/{name}"): s.Endpoint,
    ("put", "/databricks/serving-endpoints/{name}/config"): s.Endpoint,
    ("patch", "/databricks/serving-endpoints/{name}/tags"): s.Tags,
    ("post", "/databricks/serving-endpoints/{name}/invoke"): s.Predictions,
    ("post", "/databricks/vector-indexes"): s.VectorIndex,
    ("get", "/databricks/vector-indexes"): s.VectorIndexList,
    ("get", "/databricks/vector-indexes/{name}"): s.VectorIndex,
    ("post", "/databricks/vector-indexes/{name}/sync"): s.Empty,
    ("post", "/databricks/vector-indexes/{name}/search"): s.SearchResult,
}
"""The success answer of every operation (deletes answer :class:`~.shapes.Deleted`)."""

REQUEST_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/databricks/jobs"): job_bodies.JobCreate,
    ("post", "/databricks/jobs/{job_id}/reset"): job_bodies.JobReset,
}
"""Request bodies the routes read as raw JSON (checked by hand), documented here."""

DESCRIPTION = """\
The MCP server's Databricks connector: the only way the AgentProvision
reconciler and backend see and change a tenant's Databricks resources.
Conventions (errors, auth, paging, idempotency, ETags, long-running
operations, tenant isolation) are explained in specs/README.md.
"""

PROBLEM_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("InvalidArgument", "INVALID_ARGUMENT: malformed request, parameter or body."),
    401: ("Unauthenticated", "UNAUTHENTICATED: missing or wrong API key."),
    404: (
        "NotFound",
        "NOT_FOUND: no such object for this tenant (other tenants' are never shown).",
    ),
    409: (
        "Conflict",
        "ALREADY_EXISTS or CONFLICT: the object exists, or its state forbids the call.",
    ),
    412: ("PreconditionFailed", "PRECONDITION_FAILED: the object changed since it was read."),
    413: ("PayloadTooLarge", "PAYLOAD_TOO_LARGE: request body over 10 MiB."),
    429: ("RateLimited", "RATE_LIMITED: too many calls; retry after `Retry-After` seconds."),
    500: ("Internal", "INTERNAL: the connector failed; idempotent calls may be retried."),
    503: (
        "Unavailable",
        "UNAVAILABLE: connector or Databricks unavailable; retry after `Retry-After`.",
    ),
}
"""Problem answers: status → (name under ``components/responses``, description)."""


def _schemas() -> dict[str, Any]:
    models: set[type[BaseModel]] = {s.Problem, s.Deleted, *REQUEST_BODIES.values()}
    for answer in RESPONSES.values():
        if isinstance(answer, tuple):
            models.update(answer)
        elif answer is not None:
            models.add(answer)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "serialization") for m in ordered], ref_template=REF)
    return dict(top.get("$defs", {}))


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _success(answer: type[BaseModel] | tuple[type[BaseModel], ...]) -> dict[str, Any]:
    schema: dict[str, Any] = (
        {"anyOf": [_ref(m) for m in answer]} if isinstance(answer, tuple) else _ref(answer)
    )
    return {"application/json": {"schema": schema}}


def _problem_responses() -> dict[str, Any]:
    """``components/responses``: one problem answer per error status."""
    responses = {}
    for status, (name, description) in PROBLEM_RESPONSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": _ref(s.Problem)}},
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "string"},
                }
            }
        responses[name] = response
    return responses


def _problem(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{PROBLEM_RESPONSES[status][0]}"}


def _finish_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    """Responses, headers and security of one operation (``path`` without the prefix)."""
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    answer = s.Deleted if method == "delete" else RESPONSES[(method, path)]
    for code, response in responses.items():
        if code.startswith("2"):
            response.pop("content", None)
            if answer is not None:
                response["content"] = _success(answer)
                if method == "get" and "{" in path and not path.endswith("/runs"):
                    response["headers"] = {
                        "ETag": {
                            "description": "The object's entity tag.",
                            "schema": {"type": "string"},
                        }
                    }
    names = {p["name"] for p in operation.get("parameters", [])}
    statuses = [400, 404, 409, 429, 500, 503]
    if path != "/health":
        statuses.append(401)
    else:
        operation["security"] = []
        statuses = [500, 503]
    if "requestBody" in operation:
        statuses.append(413)
    if "If-Match" in names:
        statuses.append(412)
    for status in sorted(statuses):
        responses[str(status)] = _problem(status)
    if method == "post" and path != "/health":
        operation.setdefault("parameters", []).append(_idempotency_parameter())
    if (method, path) in REQUEST_BODIES:
        model = REQUEST_BODIES[(method, path)]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(model)}},
        }


def _idempotency_parameter() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Any unique string (1-255 characters). A repeat with the same key "
        "answers with the first result instead of acting twice; retry creates with it.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    }


def contract_document(app: FastAPI) -> dict[str, Any]:
    """The complete OpenAPI document of the connector, from ``app``'s routes."""
    document = get_openapi(
        title="AgentProvision MCP Databricks connector",
        version="1.0.0",
        description=DESCRIPTION,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_schemas())
    document["components"]["responses"] = _problem_responses()
    document["components"]["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "MCP_API_KEY"}
    }
    document["security"] = [{"bearerAuth": []}]
    for full_path, operations in document["paths"].items():
        for method, operation in operations.items():
            _finish_operation(method, full_path.removeprefix(API_PREFIX), operation)
    return document


def install(app: FastAPI) -> None:
    """Serve :func:`contract_document` as the app's ``/openapi.json`` (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_yaml(app: FastAPI) -> str:
    """The document as the YAML checked in under ``specs/``."""
    header = "# Generated by `python -m reconciler.emulator.openapi`; do not edit by hand.\n"
    body = yaml.dump(
        contract_document(app), Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body


class _NoAliases(yaml.SafeDumper):
    """Writes repeated objects out in full instead of as YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def main(argv: list[str] | None = None) -> int:
    """Write the document to ``specs/mcp-connector.openapi.yaml`` (or the path given)."""
    from reconciler.emulator.app import create_app

    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else SPEC_PATH
    target.write_text(render_yaml(create_app(api_key="unused")), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
