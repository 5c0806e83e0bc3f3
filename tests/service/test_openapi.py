"""specs/service.openapi.yaml is current; every tenants path asks for the Bearer token."""

from __future__ import annotations

import yaml

from reconciler.service.openapi import SPEC_PATH, render, service_document


def test_the_checked_in_service_openapi_is_current() -> None:
    assert SPEC_PATH.read_text() == render(), "run `.venv/bin/python -m reconciler.service.openapi`"
    assert yaml.safe_load(SPEC_PATH.read_text())["paths"]


def test_auth_is_declared_on_every_path_but_health_metrics_and_the_webhook() -> None:
    for path, operations in service_document()["paths"].items():
        for operation in operations.values():
            secured = operation.get("security") == [{"bearer": []}]
            assert secured == path.startswith("/api/v1/tenants"), path
