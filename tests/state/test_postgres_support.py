"""The PostgreSQL test support: deciding skip or fail, and finding a server."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import (
    check_reachable,
    create_database,
    drop_database,
    find_binaries,
    find_server,
    free_port,
    libpq_url,
    unavailable_outcome,
)

REASON = "no PostgreSQL server"


@pytest.mark.parametrize(
    ("env", "outcome"),
    [
        pytest.param({}, "skip", id="unset"),
        pytest.param({"REQUIRE_POSTGRES": "0"}, "skip", id="zero"),
        pytest.param({"REQUIRE_POSTGRES": ""}, "skip", id="empty"),
        pytest.param({"REQUIRE_POSTGRES": "1"}, "fail", id="required"),
        pytest.param({"REQUIRE_POSTGRES": " 1 "}, "fail", id="required-padded"),
    ],
)
def test_unavailable_outcome(env: dict[str, str], outcome: str) -> None:
    decided, reason = unavailable_outcome(REASON, env)
    assert decided == outcome
    assert reason.startswith(REASON)


def test_unreachable_test_database_url_is_a_reason_without_password() -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/postgres"
    reason = find_server({"TEST_DATABASE_URL": url})
    assert isinstance(reason, str)
    assert "is unreachable" in reason
    assert "hunter2" not in reason
    assert "postgres:***@127.0.0.1" in reason


def test_no_binaries_on_an_empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("glob.glob", lambda _pattern: [])
    assert find_binaries([str(tmp_path)]) is None


def test_binaries_found_on_path(tmp_path: Path) -> None:
    for name in ("initdb", "pg_ctl"):
        program = tmp_path / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    assert find_binaries([str(tmp_path)]) == tmp_path


def test_libpq_url_drops_the_driver() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:5/d") == "postgresql://u:p@h:5/d"
    assert libpq_url("postgres://u@h/d") == "postgresql://u@h/d"


@pytest.mark.postgres
def test_pg_url_is_a_fresh_plain_database(pg_url: str, postgres_server: str) -> None:
    assert pg_url.startswith("postgresql://")
    assert check_reachable(postgres_server) is None
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


@pytest.mark.postgres
def test_drop_database_ends_open_connections(postgres_server: str) -> None:
    url = create_database(postgres_server)
    lingering = psycopg.connect(url)
    try:
        drop_database(postgres_server, url)
    finally:
        lingering.close()
    assert check_reachable(url) is not None
