"""Spec models reject what they should, with a message that names the problem."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.kinds import KINDS

NB = {"language": "python", "content": "print(1)"}
TASK = {"key": "load", "notebook": "/Workspace/x"}
JOB = {"tasks": [TASK]}
DATASET = {"columns": [{"name": "id", "type": "int"}]}
ENDPOINT = {"model": {"name": "main.models.m", "version": 1}}
INDEX = {
    "source": "agentprovision_acme.default.docs",
    "primary_key": "id",
    "embedding": {"vector_column": "v", "dimension": 3},
}

INVALID: list[tuple[str, str, dict[str, Any], str]] = [
    ("tenant-unknown-field", "Tenant", {"catalogue": "x"}, "Extra inputs"),
    ("tenant-bad-drift", "Tenant", {"policy": {"drift": "ignore"}}, "'revert' or 'report'"),
    ("tenant-bad-catalog", "Tenant", {"catalog": "Has Space"}, "pattern"),
    ("tenant-policy-unknown", "Tenant", {"policy": {"prun": False}}, "Extra inputs"),
    ("dataset-no-columns", "Dataset", {"columns": []}, "at least 1"),
    ("dataset-bad-type", "Dataset", {"columns": [{"name": "a", "type": "varchar"}]}, "varchar"),
    (
        "dataset-bad-decimal",
        "Dataset",
        {"columns": [{"name": "a", "type": "decimal(5,9)"}]},
        "scale",
    ),
    (
        "dataset-duplicate-column",
        "Dataset",
        {"columns": [{"name": "a", "type": "int"}, {"name": "A", "type": "int"}]},
        "declared twice",
    ),
    (
        "dataset-bad-format",
        "Dataset",
        {**DATASET, "source": {"path": "a.csv", "format": "tsv"}},
        "csv",
    ),
    (
        "dataset-unknown-ext",
        "Dataset",
        {**DATASET, "source": {"path": "a.txt"}},
        "set source.format",
    ),
    ("dataset-unknown-field", "Dataset", {**DATASET, "table": "x"}, "Extra inputs"),
    ("notebook-both-bodies", "Notebook", {**NB, "source": "a.py"}, "exactly one"),
    ("notebook-no-body", "Notebook", {"language": "python"}, "exactly one"),
    ("notebook-bad-language", "Notebook", {**NB, "language": "java"}, "python"),
    ("notebook-relative-path", "Notebook", {**NB, "path": "nb/x"}, "pattern"),
    ("job-no-tasks", "Job", {"tasks": []}, "at least 1"),
    ("job-duplicate-keys", "Job", {"tasks": [TASK, TASK]}, "used more than once"),
    (
        "job-unknown-dependency",
        "Job",
        {"tasks": [{**TASK, "depends_on": ["extract"]}]},
        "not a task of this job",
    ),
    (
        "job-self-dependency",
        "Job",
        {"tasks": [{**TASK, "depends_on": ["load"]}]},
        "depends on itself",
    ),
    (
        "job-cycle",
        "Job",
        {
            "tasks": [
                {"key": "a", "notebook": "/x", "depends_on": ["b"]},
                {"key": "b", "notebook": "/x", "depends_on": ["a"]},
            ]
        },
        "cycle",
    ),
    ("job-cron-five-fields", "Job", {**JOB, "schedule": {"cron": "0 2 * * *"}}, "6 or 7 fields"),
    ("job-cron-bad-chars", "Job", {**JOB, "schedule": {"cron": "0 0 2 * * ? !"}}, "characters"),
    (
        "job-bad-timezone",
        "Job",
        {**JOB, "schedule": {"cron": "0 0 2 * * ?", "timezone": "Mars/Base"}},
        "time zone",
    ),
    (
        "job-zero-concurrency",
        "Job",
        {**JOB, "max_concurrent_runs": 0},
        "greater than or equal to 1",
    ),
    ("job-bad-email", "Job", {**JOB, "email_notifications": {"on_failure": ["nobody"]}}, "email"),
    ("job-task-unknown-field", "Job", {"tasks": [{**TASK, "cluster": "x"}]}, "Extra inputs"),
    ("endpoint-bad-size", "ServingEndpoint", {**ENDPOINT, "workload_size": "Huge"}, "'Small'"),
    (
        "endpoint-model-not-3-part",
        "ServingEndpoint",
        {"model": {"name": "m", "version": "1"}},
        "pattern",
    ),
    ("endpoint-unknown-field", "ServingEndpoint", {**ENDPOINT, "replicas": 2}, "Extra inputs"),
    (
        "index-both-embeddings",
        "VectorIndex",
        {
            **INDEX,
            "embedding": {
                "vector_column": "v",
                "dimension": 3,
                "source_column": "t",
                "model_endpoint": "e",
            },
        },
        "either",
    ),
    ("index-no-embedding", "VectorIndex", {**INDEX, "embedding": {}}, "either"),
    (
        "index-half-embedding",
        "VectorIndex",
        {**INDEX, "embedding": {"source_column": "t"}},
        "go together",
    ),
    ("index-bad-pipeline", "VectorIndex", {**INDEX, "pipeline": "hourly"}, "'triggered'"),
]


@pytest.mark.parametrize(
    ("kind", "spec", "message"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_spec_is_rejected(kind: str, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        KINDS[kind].spec_model.model_validate(spec)
    assert message in str(info.value)


VALID: list[tuple[str, str, dict[str, Any]]] = [
    ("tenant-empty", "Tenant", {}),
    (
        "tenant-alias",
        "Tenant",
        {"tenantId": "acme-2", "policy": {"prune": False, "drift": "report"}},
    ),
    ("dataset-decimal", "Dataset", {"columns": [{"name": "a", "type": "DECIMAL(10, 2)"}]}),
    ("dataset-bare-decimal", "Dataset", {"columns": [{"name": "a", "type": "decimal"}]}),
    ("dataset-schema-alias", "Dataset", {**DATASET, "schema": "sales"}),
    ("notebook-upper-language", "Notebook", {**NB, "language": "SQL"}),
    ("job-cron-seven-fields", "Job", {**JOB, "schedule": {"cron": "0 0 2 ? * MON-FRI 2030"}}),
    ("job-retries-forever", "Job", {"tasks": [{**TASK, "max_retries": -1}]}),
    ("endpoint-string-version", "ServingEndpoint", {"model": {"name": "a.b.c", "version": "v2"}}),
    (
        "index-computed-embedding",
        "VectorIndex",
        {**INDEX, "embedding": {"source_column": "t", "model_endpoint": "e"}},
    ),
    ("any-adopt", "Job", {**JOB, "adopt": True}),
]


@pytest.mark.parametrize(("kind", "spec"), [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_spec_is_accepted(kind: str, spec: dict[str, Any]) -> None:
    KINDS[kind].spec_model.model_validate(spec)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_spec_field_is_described(kind: str) -> None:
    """Field descriptions become the JSON Schema users see in their editor."""
    schema = KINDS[kind].spec_model.model_json_schema()
    missing = [
        f"{model}.{name}"
        for model, props in _all_properties(schema)
        for name, prop in props.items()
        if not prop.get("description")
    ]
    assert missing == []


def _all_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(str(schema.get("title")), schema.get("properties", {}))]
    for name, sub in schema.get("$defs", {}).items():
        found.append((name, sub.get("properties", {})))
    return found
