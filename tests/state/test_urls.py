"""normalize_database_url, redaction and descriptions: pure functions, no database."""

from __future__ import annotations

import os

import pytest

from reconciler.errors import ConfigError
from reconciler.state import DEFAULT_DATABASE_URL, normalize_database_url, redact_database_url
from reconciler.state.db import describe_database, sqlite_file

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            "postgresql://rec@db.internal:5432/state",
            "postgresql+psycopg://rec@db.internal:5432/state",
            id="postgresql-scheme",
        ),
        pytest.param(
            "postgres://rec:pw@db:5432/state",
            "postgresql+psycopg://rec:pw@db:5432/state",
            id="postgres-scheme",
        ),
        pytest.param(
            "postgresql+psycopg://rec@db/state",
            "postgresql+psycopg://rec@db/state",
            id="sqlalchemy-url-passes",
        ),
        pytest.param(
            "postgresql://rec@db/state?sslmode=require",
            "postgresql+psycopg://rec@db/state?sslmode=require",
            id="query-kept",
        ),
        pytest.param("sqlite:///x.db", "sqlite:///x.db", id="sqlite-relative"),
        pytest.param("sqlite:////var/lib/s.db", "sqlite:////var/lib/s.db", id="sqlite-absolute"),
        pytest.param("sqlite://", "sqlite://", id="sqlite-memory"),
        pytest.param("state.db", "sqlite:///state.db", id="plain-relative-path"),
        pytest.param("./dir/state.db", "sqlite:///./dir/state.db", id="dotted-path"),
        pytest.param("/var/lib/state.db", "sqlite:////var/lib/state.db", id="absolute-path"),
        pytest.param("  state.db \n", "sqlite:///state.db", id="whitespace-trimmed"),
        pytest.param(DEFAULT_DATABASE_URL, DEFAULT_DATABASE_URL, id="default"),
    ],
)
def test_normalize_database_url(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_home_directory_is_expanded() -> None:
    assert normalize_database_url("~/state.db") == "sqlite:///" + os.path.expanduser("~/state.db")


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(f"postgresql://rec:{SECRET}@db:notaport/state", id="bad-port"),
        pytest.param(f"mysql://rec:{SECRET}@db/state", id="unsupported-backend"),
        pytest.param(f"http://rec:{SECRET}@[::1/state", id="garbage"),
        pytest.param(f"://rec:{SECRET}@db/state", id="no-scheme"),
    ],
)
def test_malformed_urls_raise_config_error_without_password(given: str) -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_database_url(given)
    error = caught.value
    assert "expected postgresql://" in (error.hint or "")
    for text in (str(error), repr(error), error.message, error.hint or ""):
        assert SECRET not in text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("postgresql://u:pw@h/db", "postgresql://u:***@h/db", id="userinfo"),
        pytest.param("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db", id="unescaped-at"),
        pytest.param(
            "postgresql://u@h/db?password=pw&x=1",
            "postgresql://u@h/db?password=***&x=1",
            id="query-password",
        ),
        pytest.param("postgresql://u@h/db", "postgresql://u@h/db", id="no-password"),
        pytest.param("sqlite:///x.db", "sqlite:///x.db", id="sqlite"),
    ],
)
def test_redact_database_url(given: str, expected: str) -> None:
    assert redact_database_url(given) == expected


def test_describe_names_host_port_database_user_but_not_password() -> None:
    described = describe_database(f"postgresql+psycopg://rec:{SECRET}@db.internal:6543/state")
    assert described == "PostgreSQL database 'state' at db.internal:6543 as user 'rec'"
    assert describe_database("sqlite:///.reconciler/state.db") == "SQLite file .reconciler/state.db"


def test_sqlite_file() -> None:
    assert str(sqlite_file("sqlite:///a/b.db")) == "a/b.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://h/db") is None
