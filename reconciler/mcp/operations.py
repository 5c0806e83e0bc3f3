"""Naming connector calls: the operation, the tenant and the resource of a request.

Metrics and logs label a call by its *operation*: the method plus the path
template of the contract (``GET /databricks/jobs/{job_id}``), never the
concrete path, so a workspace with ten thousand jobs still has a handful of
metric series. :data:`PATH_TEMPLATES` lists every path of the contract
(``specs/mcp-connector.openapi.yaml``; a test keeps the two equal).

:func:`describe` also pulls out the tenant (path, query or body
``tenant_id``) and the resource (the last path parameter, the notebook
``path`` query parameter, or the ``name`` of a create) for the request's log
line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PATH_TEMPLATES: tuple[str, ...] = (
    "/health",
    "/databricks/catalogs",
    "/databricks/catalogs/{tenant_id}",
    "/databricks/datasets",
    "/databricks/datasets/upload",
    "/databricks/datasets/query",
    "/databricks/datasets/{tenant_id}/{dataset_name}",
    "/databricks/notebooks",
    "/databricks/notebooks/execute",
    "/databricks/notebooks/runs/{run_id}",
    "/databricks/notebooks/{tenant_id}",
    "/databricks/jobs",
    "/databricks/jobs/{job_id}",
    "/databricks/jobs/{job_id}/reset",
    "/databricks/jobs/{job_id}/run",
    "/databricks/jobs/{job_id}/runs",
    "/databricks/jobs/runs/latest",
    "/databricks/runs/{run_id}",
    "/databricks/runs/{run_id}/cancel",
    "/databricks/serving-endpoints",
    "/databricks/serving-endpoints/{name}",
    "/databricks/serving-endpoints/{name}/config",
    "/databricks/serving-endpoints/{name}/tags",
    "/databricks/serving-endpoints/{name}/invoke",
    "/databricks/vector-indexes",
    "/databricks/vector-indexes/{name}",
    "/databricks/vector-indexes/{name}/sync",
    "/databricks/vector-indexes/{name}/search",
)

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class _Compiled:
    template: str
    pattern: re.Pattern[str]
    literals: int


def _compile(template: str) -> _Compiled:
    regex = "^" + _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", template) + "$"
    literals = sum(1 for part in template.split("/") if part and not part.startswith("{"))
    return _Compiled(template, re.compile(regex), literals)


# Most literal segments first, so ``/datasets/upload`` wins over ``/datasets/{tenant_id}``.
_COMPILED = sorted((_compile(t) for t in PATH_TEMPLATES), key=lambda c: -c.literals)


@dataclass(frozen=True)
class Call:
    """What one request is, for metrics and logs."""

    operation: str
    tenant: str | None
    resource: str | None


def template_of(path: str) -> tuple[str, dict[str, str]]:
    """The contract's template for ``path`` and its parameters (the path itself if unknown)."""
    bare = path.split("?", 1)[0]
    for compiled in _COMPILED:
        match = compiled.pattern.match(bare)
        if match:
            return compiled.template, match.groupdict()
    return bare, {}


def describe(method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Call:
    """The operation, tenant and resource of ``method path``."""
    template, values = template_of(path)
    query = dict(params or {})
    fields = body if isinstance(body, Mapping) else {}
    tenant = values.get("tenant_id") or query.get("tenant_id") or fields.get("tenant_id")
    resource = query.get("path") or query.get("dataset_name")
    for name in ("dataset_name", "job_id", "run_id", "name"):
        resource = values.get(name) or resource
    if resource is None and method == "POST":
        resource = fields.get("name") or fields.get("notebook_path") or fields.get("dataset_name")
    return Call(
        operation=f"{method} {template}",
        tenant=str(tenant) if tenant is not None else None,
        resource=str(resource) if resource is not None else None,
    )
