"""schemathesis over the service's OpenAPI, against a real ``reconciler serve`` process.

The operations are those of the document the code generates
(:func:`reconciler.service.openapi.service_document`, equal to the checked-in
``specs/service.openapi.yaml`` and to the process's own ``/openapi.json``), so
a route added later is covered without touching this test. Every generated
request (valid and not) goes over real HTTP to the process, which reconciles
the example tenants against the real emulator and a real SQLite database:

- no answer is a 5xx, with the read token or the admin token;
- a request without a token is 401 on every path but ``/healthz``, ``/readyz``
  and ``/metrics`` (the git webhook too: it checks its own signature);
- the read token on a path that needs the admin token is 401, or 403 where the
  document says so (the action routes; ``x-token`` names the token an
  operation needs, e.g. a POST that only reads).

Half of the cases name an existing tenant so the calls reach real handlers,
not only 404s. Bounded: a few examples per operation, no shrinking.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from reconciler.emulator.server import running_emulator
from reconciler.service.openapi import service_document
from tests.service.process import ADMIN, EXAMPLES, READ, Serve, running_serve, serve_env

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 8
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
TENANTS = ("acme", "globex")
DOCUMENT = service_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    root = tmp_path_factory.mktemp("serve-schemathesis")
    shutil.copytree(EXAMPLES, root / "specs")
    with running_emulator(api_key="schema-key", ready_delay=0.05) as emulator:
        env = serve_env(emulator.url, emulator.api_key, f"sqlite:///{root / 'state.db'}")
        with running_serve(root / "specs", env, root) as running:
            yield running


def test_the_live_document_has_the_same_paths(serve: Serve) -> None:
    live = httpx.get(serve.url + "/openapi.json", timeout=10).json()
    assert set(live["paths"]) == set(DOCUMENT["paths"])


def _admin_only(operation: Any) -> bool:
    """Needs the admin token: ``x-token: admin``, or without ``x-token`` a tenants POST."""
    declared = operation.definition.raw.get("x-token")
    if declared is not None:
        return bool(declared == "admin")
    mutating = operation.method.upper() not in ("GET", "HEAD", "OPTIONS")
    return mutating and operation.path.startswith("/api/v1/tenants")


def _aim(case: Any, tenant: str) -> None:
    if isinstance(case.path_parameters, dict) and "tenant" in case.path_parameters:
        case.path_parameters["tenant"] = tenant


def _unauthenticated(case: Any) -> dict[str, Any]:
    """The case's headers without any credential."""
    headers = dict(case.headers or {})
    for name in list(headers):
        if name.lower() in ("authorization", "x-hub-signature-256", "x-gitlab-token"):
            del headers[name]
    return headers


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error_and_auth_enforced(serve: Serve, operation: Any) -> None:
    protected = operation.path not in OPEN_PATHS
    admin_only = _admin_only(operation)
    refused = 403 if "403" in operation.definition.raw.get("responses", {}) else 401

    @given(
        case=operation.as_strategy(),
        tenant=st.sampled_from((None, *TENANTS)),
        token=st.sampled_from((READ, ADMIN)),
    )
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, tenant: str | None, token: str) -> None:
        if tenant is not None:
            _aim(case, tenant)
        headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        answer = case.call(base_url=serve.url, headers=headers, timeout=60)
        case.validate_response(answer, checks=[not_a_server_error])
        if protected and admin_only and token == READ:
            assert answer.status_code == refused, (
                f"read token on {case.method} {case.formatted_path}"
            )
        case.headers = _unauthenticated(case)
        bare = case.call(base_url=serve.url, timeout=60)
        case.validate_response(bare, checks=[not_a_server_error])
        if protected:
            assert bare.status_code == 401, (
                f"{case.method} {case.formatted_path} without a token answered "
                f"{bare.status_code}: {bare.text[:200]}"
            )
        else:
            assert bare.status_code != 401, f"{case.path} must stay open"

    run()
