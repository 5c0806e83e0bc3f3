"""The service's HTTP API as an OpenAPI document: ``specs/service.openapi.yaml``.

Generated from the app's routes (a test fails when the checked-in file is
stale). Regenerate it with::

    .venv/bin/python -m reconciler.service.openapi

FastAPI describes paths, parameters and answers; this adds Bearer auth on
every ``/api/v1`` path but the webhook, and the problem documents of errors
(a route that describes a problem answer itself keeps its description).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler.config import Settings
from reconciler.service.app import PROBLEM, create_app
from reconciler.service.config import ServiceConfig

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "service.openapi.yaml"

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
ERRORS = {
    "401": "no valid token (read paths: read or admin token; mutating paths: admin token)",
    "404": "no such tenant in the source",
    "409": "the tenant is being reconciled elsewhere",
    "422": "a parameter is not valid",
    "502": "the connector or the git source failed",
    "503": "the state database or the connector is unavailable",
}


def service_document() -> dict[str, Any]:
    app = create_app(ServiceConfig(source="."), Settings.from_env({}))
    document = app.openapi()
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if secured(path):
                operation["security"] = [{"bearer": []}]
            for status, why in ERRORS.items():
                if not path.startswith("/api/v1/") or (
                    status in ("404", "409") and "{tenant}" not in path
                ):
                    continue
                if PROBLEM in responses.get(status, {}).get("content", {}):
                    continue  # the route describes this answer itself
                responses[status] = {
                    "description": why,
                    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            responses.pop("default", None)
    return document


def secured(path: str) -> bool:
    """Every ``/api/v1`` path needs a token, but the git webhook (it checks its signature)."""
    return path.startswith("/api/v1/") and not path.startswith("/api/v1/webhooks/")


def render() -> str:
    return yaml.safe_dump(service_document(), sort_keys=False, allow_unicode=True, width=100)


def main() -> int:
    SPEC_PATH.write_text(render())
    print(f"wrote {SPEC_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
