"""The Alembic migration: same schema on SQLite and PostgreSQL, idempotent, matches the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from reconciler.state import StateStore, normalize_database_url
from reconciler.state.db import create_state_engine
from reconciler.state.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
from reconciler.state.models import Base, schema_filter

TABLES = {
    "tenants",
    "resources",
    "applies",
    "apply_steps",
    "intents",
    "tenant_locks",
    "drift_reports",
    "tenant_status",
    "resource_status",
    "saved_plans",
    "plan_approvals",
    "claims",
    "alembic_version",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    created = create_state_engine(normalize_database_url(db_url))
    try:
        yield created
    finally:
        created.dispose()


def test_upgrade_creates_every_table_at_head(engine: Engine) -> None:
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == TABLES
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision() == HEAD_REVISION == "0005"


def test_upgrading_twice_is_a_no_op(engine: Engine, db_url: str) -> None:
    upgrade(engine)
    StateStore.open(db_url).close()  # opening migrates again
    upgrade(engine)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == ["0005"]


def test_migration_matches_the_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": schema_filter(connection.dialect.name)}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.postgres
def test_postgres_uses_jsonb_with_gin_indexes(pg_url: str) -> None:
    StateStore.open(pg_url).close()
    engine = create_state_engine(normalize_database_url(pg_url))
    try:
        with engine.connect() as connection:
            types: dict[str, str] = dict(
                connection.execute(
                    text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'resources' AND column_name IN "
                        "('spec', 'observed', 'depends_on')"
                    )
                ).all()
            )
            indexes: dict[str, str] = dict(
                connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'resources'")
                ).all()
            )
            summary_type = connection.scalar(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'applies' AND column_name = 'summary'"
                )
            )
    finally:
        engine.dispose()
    assert types == {"spec": "jsonb", "observed": "jsonb", "depends_on": "jsonb"}
    assert summary_type == "jsonb"
    assert "USING gin (spec)" in indexes["ix_resources_spec_gin"]
    assert "USING gin (observed)" in indexes["ix_resources_observed_gin"]


def test_sqlite_has_no_gin_indexes(sqlite_url: str) -> None:
    StateStore.open(sqlite_url).close()
    engine = create_state_engine(normalize_database_url(sqlite_url))
    try:
        names = {index["name"] for index in inspect(engine).get_indexes("resources")}
    finally:
        engine.dispose()
    assert names == set()
