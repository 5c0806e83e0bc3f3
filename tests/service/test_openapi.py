"""specs/service.openapi.yaml is current; every tenants path asks for the Bearer token."""

from __future__ import annotations

import yaml

from reconciler.service.openapi import SPEC_PATH, render, service_document


def test_the_checked_in_service_openapi_is_current() -> None:
    assert SPEC_PATH.read_text() == render(), "run `.venv/bin/python -m reconciler.service.openapi`"
    assert yaml.safe_load(SPEC_PATH.read_text())["paths"]


def test_auth_is_declared_on_every_path_but_health_metrics_and_the_webhook() -> None:
    paths = service_document()["paths"]
    for path, operations in paths.items():
        for operation in operations.values():
            secured = operation.get("security") == [{"bearer": []}]
            expected = path.startswith("/api/v1/") and path != "/api/v1/webhooks/git"
            assert secured == expected, path
    for path in ("/api/v1/runs/{run_id}/cancel", "/api/v1/plans/{plan_id}/approve"):
        assert "bearer" in str(paths[path]["post"]["security"]), path


def test_the_action_routes_are_documented_with_their_problem_answers() -> None:
    paths = service_document()["paths"]
    jobs = "/api/v1/tenants/{tenant}/jobs/{name}/runs"
    assert set(paths[jobs]) == {"get", "post"}
    for path in (
        "/api/v1/tenants/{tenant}/endpoints/{name}/invoke",
        "/api/v1/tenants/{tenant}/datasets/{name}/query",
        "/api/v1/tenants/{tenant}/indexes/{name}/search",
        "/api/v1/runs/{run_id}/cancel",
    ):
        answers = paths[path]["post"]["responses"]
        for status in ("400", "401", "404", "422", "502"):
            assert "application/problem+json" in answers[status]["content"], (path, status)
    assert "403" in paths[jobs]["post"]["responses"]
    assert "403" not in paths[jobs]["get"]["responses"]
    query = paths["/api/v1/tenants/{tenant}/datasets/{name}/query"]["post"]
    assert (paths[jobs]["post"]["x-token"], query["x-token"]) == ("admin", "read")
