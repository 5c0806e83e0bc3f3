"""The service's answers never carry a tenant secret's clear text."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import ADMIN, READ, bearer
from tests.support.secret_fixtures import PutSecret

SECRET = "Not A Model 77c1-secret"


@pytest.fixture
def secret_in_specs(specs: Path, put_secret: PutSecret) -> None:
    """acme's endpoint names its model by a secret that is not a valid model name."""
    put_secret("acme", "MODEL_NAME", SECRET)
    agent = specs / "acme/agent.yaml"
    agent.write_text(
        agent.read_text().replace(
            "${tenants.acme.catalog}.agents.support_agent", "${secret:MODEL_NAME}"
        )
    )


def test_a_validation_error_quoting_a_secret_is_scrubbed_in_every_answer(
    secret_in_specs: None, service: TestClient
) -> None:
    """A tenant folder with problems is listed with them, from memory, not the state."""
    listing = service.get("/api/v1/tenants", headers=bearer(READ))
    assert listing.status_code == 200
    problems = " ".join(listing.json()["source"]["problems"].values())
    assert "spec.model.name" in problems and "(sensitive)" in problems, problems
    answers = [
        listing,
        service.get("/api/v1/tenants/acme", headers=bearer(READ)),
        service.post("/api/v1/tenants/globex/reconcile?wait=true", headers=bearer(ADMIN)),
        service.get("/api/v1/tenants/globex/history", headers=bearer(READ)),
    ]
    for answer in answers:
        assert SECRET not in answer.text, answer.request.url
