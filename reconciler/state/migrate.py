"""Bringing a state database to the current schema with Alembic.

The migration scripts ship inside the package (``migrations/``), so an
installed reconciler can create or upgrade its database without an
``alembic.ini`` in the current directory. Upgrading twice is a no-op.

A database already at :data:`HEAD_REVISION` is recognised with one query, without
importing Alembic (about 65 ms of every command's start, with Mako and Pygments);
Alembic is loaded only to create or upgrade a database, or to explain one it
does not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

HEAD_REVISION = "0005"
"""The newest packaged migration's revision (a test checks it against the scripts)."""


class UnknownSchema(Exception):
    """The database's revision is not one of the packaged migrations (a newer reconciler's)."""


_MIGRATION_LOCK_KEY = 0x5EC0_57A7E
"""PostgreSQL advisory lock taken while migrating, so two processes never migrate at once."""


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of the reconciler knows, read from the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def at_head(engine: Engine) -> bool:
    """Whether the database is at :data:`HEAD_REVISION` (one read; False when it cannot tell)."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False  # no version table yet, or no database: the full path says which
    return [row[0] for row in versions] == [HEAD_REVISION]


def upgrade(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to the newest revision, in one transaction.

    Raises :class:`UnknownSchema` for a revision the packaged scripts do not have.
    """
    if at_head(engine):
        return
    from alembic import command
    from alembic.util.exc import CommandError

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise UnknownSchema(str(exc)) from exc
