"""The checked-in OpenAPI document is current and covers every path of the contract."""

from __future__ import annotations

import yaml

from reconciler.emulator import API_PREFIX
from reconciler.emulator.app import create_app
from reconciler.emulator.openapi import SPEC_PATH, contract_document
from reconciler.mcp.operations import PATH_TEMPLATES

BACKEND_PATHS = {
    ("get", "/health"),
    ("post", "/databricks/catalogs"),
    ("get", "/databricks/catalogs/{tenant_id}"),
    ("post", "/databricks/datasets"),
    ("post", "/databricks/datasets/upload"),
    ("post", "/databricks/datasets/query"),
    ("get", "/databricks/datasets/{tenant_id}/{dataset_name}"),
    ("delete", "/databricks/datasets/{tenant_id}/{dataset_name}"),
    ("post", "/databricks/notebooks"),
    ("get", "/databricks/notebooks/{tenant_id}"),
    ("put", "/databricks/notebooks/{tenant_id}"),
    ("delete", "/databricks/notebooks/{tenant_id}"),
    ("post", "/databricks/notebooks/execute"),
    ("get", "/databricks/notebooks/runs/{run_id}"),
    ("post", "/databricks/jobs"),
    ("post", "/databricks/jobs/{job_id}/run"),
    ("get", "/databricks/jobs/{job_id}"),
    ("delete", "/databricks/jobs/{job_id}"),
    ("get", "/databricks/jobs/{job_id}/runs"),
    ("get", "/databricks/runs/{run_id}"),
    ("post", "/databricks/runs/{run_id}/cancel"),
    ("post", "/databricks/serving-endpoints"),
    ("get", "/databricks/serving-endpoints/{name}"),
    ("delete", "/databricks/serving-endpoints/{name}"),
    ("post", "/databricks/serving-endpoints/{name}/invoke"),
    ("post", "/databricks/vector-indexes"),
    ("post", "/databricks/vector-indexes/{name}/search"),
    ("delete", "/databricks/vector-indexes/{name}"),
}
"""Every call the AgentProvision backend already makes: kept unchanged."""


def _operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path.removeprefix(API_PREFIX))
        for path, ops in document["paths"].items()
        for method in ops
    }


def test_checked_in_document_is_current() -> None:
    current = contract_document(create_app(api_key="unused"))
    checked_in = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert checked_in == current, (
        f"{SPEC_PATH.name} is stale: regenerate it with "
        "`.venv/bin/python -m reconciler.emulator.openapi` and commit it"
    )


def test_every_backend_path_is_kept() -> None:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert _operations(document) >= BACKEND_PATHS
    assert all(path.startswith(API_PREFIX) for path in document["paths"])


def test_every_kind_can_be_listed_read_and_deleted() -> None:
    operations = _operations(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))
    for collection, one in [
        ("/databricks/datasets", "/databricks/datasets/{tenant_id}/{dataset_name}"),
        ("/databricks/notebooks", "/databricks/notebooks/{tenant_id}"),
        ("/databricks/jobs", "/databricks/jobs/{job_id}"),
        ("/databricks/serving-endpoints", "/databricks/serving-endpoints/{name}"),
        ("/databricks/vector-indexes", "/databricks/vector-indexes/{name}"),
    ]:
        assert {("get", collection), ("post", collection), ("get", one), ("delete", one)} <= (
            operations
        ), collection


def test_the_client_names_every_path_of_the_contract() -> None:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    paths = {p.removeprefix(API_PREFIX) for p in document["paths"]}
    assert set(PATH_TEMPLATES) == paths


def test_errors_are_problem_documents_and_throttling_says_when_to_retry() -> None:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    responses = document["components"]["responses"]
    for response in responses.values():
        assert list(response["content"]) == ["application/problem+json"]
    assert "Retry-After" in responses["RateLimited"]["headers"]
    assert "Retry-After" in responses["Unavailable"]["headers"]
    codes = document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert {
        "NOT_FOUND", "ALREADY_EXISTS", "CONFLICT", "INVALID_ARGUMENT", "UNAUTHENTICATED",
        "PERMISSION_DENIED", "RATE_LIMITED", "UNAVAILABLE",
    } <= set(codes)  # fmt: skip
