"""Database fixtures: a PostgreSQL server per session, a fresh database per test.

``db_url`` runs a test twice, on SQLite and on PostgreSQL (ids ``sqlite`` and
``postgres``). Without a PostgreSQL server the postgres half is skipped, or
fails when ``REQUIRE_POSTGRES=1`` (CI sets it, so a missing server is never
silently green).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import (
    create_database,
    drop_database,
    find_server,
    unavailable_outcome,
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server (superuser, maintenance database) for the session."""
    server = find_server(os.environ)
    if isinstance(server, str):
        outcome, reason = unavailable_outcome(server, os.environ)
        if outcome == "fail":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """URL (``postgresql://`` form) of a new, empty database, dropped after the test."""
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of an SQLite file (not yet created) in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh state database URL, once on SQLite and once on PostgreSQL."""
    fixture = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(fixture))
