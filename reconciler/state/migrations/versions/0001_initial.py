"""The initial state schema: tenants, resources, applies, apply_steps.

Runs unchanged on SQLite and PostgreSQL. Only the GIN indexes on
``resources.spec`` and ``resources.observed`` are PostgreSQL-only (JSONB lets
drift reports and ad-hoc queries search inside specs). Creating tables needs
no batch mode on SQLite; later revisions that alter a table should use
``op.batch_alter_table`` so they keep working there.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255


def json_document() -> sa.types.TypeEngine:
    """JSON on SQLite, JSONB on PostgreSQL (as in reconciler.state.models)."""
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tenants"),
    )
    op.create_table(
        "resources",
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("remote_id", sa.Text(), nullable=False),
        sa.Column("spec", json_document(), nullable=False),
        sa.Column("depends_on", json_document(), nullable=False),
        sa.Column("observed", json_document(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.name"], name="fk_resources_tenant_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant", "kind", "name", name="pk_resources"),
    )
    op.create_table(
        "applies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(NAME), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("started_at", timestamp(), nullable=False),
        sa.Column("finished_at", timestamp(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("summary", json_document(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.name"], name="fk_applies_tenant_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_applies"),
        sa.UniqueConstraint("tenant", "serial", name="uq_applies_tenant_serial"),
    )
    op.create_table(
        "apply_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("apply_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["apply_id"], ["applies.id"], name="fk_apply_steps_apply_id_applies", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_apply_steps"),
    )
    op.create_index("ix_apply_steps_apply_id", "apply_steps", ["apply_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_resources_spec_gin", "resources", ["spec"], postgresql_using="gin"
        )
        op.create_index(
            "ix_resources_observed_gin", "resources", ["observed"], postgresql_using="gin"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_resources_observed_gin", table_name="resources")
        op.drop_index("ix_resources_spec_gin", table_name="resources")
    op.drop_index("ix_apply_steps_apply_id", table_name="apply_steps")
    op.drop_table("apply_steps")
    op.drop_table("applies")
    op.drop_table("resources")
    op.drop_table("tenants")
