"""Opening a state database: connect, create the SQLite directory, migrate.

Everything that can go wrong on the way in becomes one :class:`StateError`
line naming the database (host, port, database, user; never the password)
and a hint about what to check.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from reconciler.errors import StateError
from reconciler.scrub import scrub
from reconciler.state.db import create_state_engine, describe_database, sqlite_file
from reconciler.state.migrate import UnknownSchema, upgrade

POSTGRES_HINT = (
    "check that the PostgreSQL server is running and reachable, that the database "
    "exists and that DATABASE_URL names the right host, port, user and password"
)
_SEVERITY = re.compile(r"^(FATAL|ERROR):\s+")
SQLITE_HINT = "check that the directory exists and is writable, or set DATABASE_URL elsewhere"


def open_engine(url: str) -> Engine:
    """A connected engine on a database migrated to the newest revision.

    ``url`` must already be normalized (see :func:`normalize_database_url`).
    """
    _create_sqlite_directory(url)
    engine = create_state_engine(url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StateError(
            f"cannot open the state database ({describe_database(url)}): {_reason(exc, url)}",
            hint=_hint(url),
        ) from exc
    except UnknownSchema as exc:
        engine.dispose()
        raise StateError(
            f"the state database ({describe_database(url)}) has a schema this version "
            f"does not know: {_scrub(str(exc), url)}",
            hint="upgrade the reconciler to the version that last wrote this database",
        ) from exc
    return engine


def _create_sqlite_directory(url: str) -> None:
    path = sqlite_file(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"cannot create the directory {path.parent} for the state database: {exc.strerror}",
            hint=SQLITE_HINT,
        ) from exc


def _hint(url: str) -> str:
    return SQLITE_HINT if make_url(url).get_backend_name() == "sqlite" else POSTGRES_HINT


def _reason(exc: SQLAlchemyError, url: str) -> str:
    """The useful part of a driver error: its first line, after the last "failed: "."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    first = lines[0] if lines else type(original).__name__
    _, _, tail = first.rpartition("failed: ")
    return _scrub(_SEVERITY.sub("", tail or first), url)


def _scrub(text: str, url: str) -> str:
    """Remove the URL's password from a message, should a driver ever echo it."""
    password = make_url(url).password
    return scrub(text, [str(password)] if password else [], replacement="***")
