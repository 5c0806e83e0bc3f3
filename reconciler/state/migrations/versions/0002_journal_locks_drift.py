"""Intent journal, tenant lease locks, drift reports, recorded lifecycle.

``intents`` is the write-ahead journal of connector calls; ``tenant_locks``
holds one lease row per tenant being applied (works on SQLite and
PostgreSQL alike); ``drift_reports`` keeps drift reports; ``resources``
gains a nullable ``lifecycle`` document (prevent_destroy, on_delete, ...).

Revision ID: 0002
Revises: 0001
Create Date: 2024-07-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255


def json_document() -> sa.types.TypeEngine:
    """JSON on SQLite, JSONB on PostgreSQL (as in reconciler.state.models)."""
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("lifecycle", json_document(), nullable=True))
    op.create_table(
        "intents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("apply_id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request", json_document(), nullable=False),
        sa.Column("opened_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["apply_id"], ["applies.id"], name="fk_intents_apply_id_applies", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_intents"),
    )
    op.create_index("ix_intents_tenant", "intents", ["tenant"])
    op.create_table(
        "tenant_locks",
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("host", sa.String(NAME), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("since", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_tenant_locks"),
    )
    op.create_table(
        "drift_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("at", timestamp(), nullable=False),
        sa.Column("report", json_document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drift_reports"),
    )
    op.create_index("ix_drift_reports_tenant", "drift_reports", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_drift_reports_tenant", table_name="drift_reports")
    op.drop_table("drift_reports")
    op.drop_table("tenant_locks")
    op.drop_index("ix_intents_tenant", table_name="intents")
    op.drop_table("intents")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("lifecycle")
