"""Where the state lives: database URLs and engines.

The state database is PostgreSQL in production and an SQLite file on a laptop.
Users write the URL the way their tools print it (``postgresql://user@host/db``,
``postgres://...``, or just ``state.db``); :func:`normalize_database_url` turns
each into the SQLAlchemy URL the engine needs, and :func:`create_state_engine`
builds an engine tuned for the backend.

Passwords never leave this module in readable form: every message and every
description of a URL goes through :func:`redact_database_url`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from reconciler.config import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL  # one default
from reconciler.errors import ConfigError

SUPPORTED_BACKENDS = ("postgresql", "sqlite")
EXPECTED_FORMS = (
    "expected postgresql://user@host:5432/dbname, sqlite:///path/to/state.db or a plain file path"
)
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
READ_ONLY_OPTION = "state_read_only"
"""Execution option marking a read transaction (plain ``BEGIN`` on SQLite)."""

_PG_SCHEMES = ("postgresql://", "postgres://")
# Greedy up to the last "@": an unescaped "@" or "/" in a password is still hidden.
_USERINFO_PASSWORD = re.compile(r"(?P<head>://[^:/?#@]*):.*@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)[^&#]*", re.IGNORECASE)


def redact_database_url(url: str) -> str:
    """The URL with any password replaced by ``***``; safe for messages and logs.

    Works on malformed text too, because it is used to report malformed URLs.
    """
    text = _USERINFO_PASSWORD.sub(r"\g<head>:***@", url)
    return _QUERY_PASSWORD.sub(r"\g<head>***", text)


def normalize_database_url(url: str) -> str:
    """The SQLAlchemy URL for what a user wrote.

    ``postgresql://`` and ``postgres://`` select the psycopg 3 driver, URLs that
    already name a driver pass through, and anything without ``://`` is taken
    as the path of an SQLite file. Raises :class:`ConfigError` for anything
    else, naming the forms that work (and never the password).
    """
    text = url.strip()
    if not text:
        raise ConfigError("the state database URL is empty", hint=EXPECTED_FORMS)
    if "://" not in text:
        return _sqlite_url_for_path(text)
    for scheme in _PG_SCHEMES:
        if text.startswith(scheme):
            text = "postgresql+psycopg://" + text[len(scheme) :]
            break
    parsed = _parse(text, original=url)
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"state database URL {redact_database_url(url.strip())!r} names an unsupported "
            f"database {parsed.get_backend_name()!r}; the state lives in PostgreSQL or SQLite",
            hint=EXPECTED_FORMS,
        )
    return text


def _sqlite_url_for_path(path: str) -> str:
    """``sqlite:///`` + the path (four slashes in total for an absolute path)."""
    return "sqlite:///" + os.path.expanduser(path)


def _parse(text: str, *, original: str) -> URL:
    """Parse with SQLAlchemy, turning its errors into a ConfigError without secrets."""
    try:
        parsed = make_url(text)
        _ = parsed.port  # the port is validated lazily by some versions
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"state database URL {redact_database_url(original.strip())!r} is malformed",
            hint=EXPECTED_FORMS,
        ) from exc
    return parsed


def describe_database(url: str) -> str:
    """A short human description of the database, without the password.

    ``PostgreSQL database 'state' at db.internal:5432 as user 'reconciler'`` or
    ``SQLite file .reconciler/state.db``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}" if parsed.database else "in-memory SQLite"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    user = f" as user {parsed.username!r}" if parsed.username else ""
    return f"PostgreSQL database {parsed.database or '(default)'!r} at {where}{user}"


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL points at, or None (not SQLite, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_state_engine(url: str) -> Engine:
    """An engine for a normalized URL, set up for the state store's transactions.

    On SQLite every writing transaction starts with ``BEGIN IMMEDIATE``:
    writers queue up on the file lock (waiting up to 30 s) instead of failing
    half way, which makes the serial compare-and-swap safe between processes.
    Reads (connections carrying the :data:`READ_ONLY_OPTION` execution option)
    start with a plain ``BEGIN`` and the file is in WAL mode, so a read never
    waits for a writer. Foreign keys are switched on, as SQLite leaves them
    off by default.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
    return create_engine(
        url, pool_pre_ping=True, connect_args=connect_args, json_deserializer=load_json
    )


def load_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson (several times faster on the specs and observations a
    plan reads for every resource), or the standard module for what orjson refuses
    (``NaN`` and ``Infinity``, which the standard module writes)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, json_deserializer=load_json
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        if sqlite_file(url) is not None:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine
