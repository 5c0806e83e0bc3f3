"""Alembic environment for the state schema.

Two ways in:

* the reconciler itself (:func:`reconciler.state.migrate.upgrade`) passes an
  open connection in ``config.attributes["connection"]``; the migration runs
  inside that connection's transaction;
* the ``alembic`` command line (for writing new revisions) has no connection,
  so one is made from ``DATABASE_URL`` or ``sqlalchemy.url`` in alembic.ini.

SQLite cannot ALTER most things in place, so autogenerate renders batch
operations there (``render_as_batch``), which copy the table instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from reconciler.state.db import create_state_engine, normalize_database_url
from reconciler.state.models import Base, schema_filter

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations on one connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=schema_filter(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_url() -> None:
    """Command-line use: connect to DATABASE_URL (or sqlalchemy.url) and migrate."""
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set DATABASE_URL to the state database to migrate")
    engine = create_state_engine(normalize_database_url(url))
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")

given = config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    run_from_url()
