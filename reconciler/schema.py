"""The JSON Schema of the spec documents, generated from the pydantic models.

One schema covers a document of any kind: a union of the per-kind document
models, told apart by ``kind``. Field descriptions in the models become the
schema's descriptions, which editors show on hover (the example files name
the schema in a ``# yaml-language-server: $schema=...`` comment). The file is
generated into ``schemas/`` and checked in; a test fails when it is stale.

References (``${notebooks.etl.path}``) are strings, so they satisfy the
schema wherever a string is expected; the loader checks them after resolving.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from reconciler.document import API_VERSION, any_document_type

SCHEMA_ID = "https://agentprovision.ai/schemas/agentprovision.v1.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "agentprovision.v1.schema.json"
"""Where the generated schema is checked in."""


def build_schema() -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of one spec document (any kind)."""
    generated = TypeAdapter(any_document_type()).json_schema()
    for name, definition in generated.get("$defs", {}).items():
        if name not in ENVELOPE_DEFS:
            _allow_references(definition)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "AgentProvision spec document",
        "description": (
            f"One `{API_VERSION}` document describing a tenant resource "
            "(Tenant, Dataset, Notebook, Job, ServingEndpoint or VectorIndex). "
            "Strings may hold `${collection.name.attribute}` references to other "
            "resources of the same tenant."
        ),
        **generated,
    }


ENVELOPE_DEFS = frozenset({"Metadata"})
"""Definitions where references are not allowed (names must be literal)."""

REFERENCE_STRING = {"type": "string", "pattern": r"\$\{[^}]+\}"}
"""Any string holding a ``${...}`` reference."""


def _allow_references(node: Any) -> None:
    """Let a reference stand wherever a patterned string is expected (checked after resolving).

    ``${tenants.acme.catalog}.agents.bot`` does not match a
    ``catalog.schema.model`` pattern as written, only once resolved.
    """
    if isinstance(node, list):
        for item in node:
            _allow_references(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _allow_references(value)
    if node.get("type") == "string" and "pattern" in node:
        constrained = {
            k: node.pop(k) for k in ("type", "pattern", "minLength", "maxLength") if k in node
        }
        node["anyOf"] = [constrained, dict(REFERENCE_STRING)]


def render_schema() -> str:
    """The schema as the checked-in file holds it: indented JSON with a final newline."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Regenerate the schema file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema(), encoding="utf-8")


def schema_is_current(path: Path = SCHEMA_PATH) -> bool:
    """Whether the file at ``path`` matches what the models generate today."""
    try:
        return path.read_text(encoding="utf-8") == render_schema()
    except OSError:
        return False


if __name__ == "__main__":
    write_schema()
