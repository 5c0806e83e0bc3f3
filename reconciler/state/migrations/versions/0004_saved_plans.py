"""Saved plans and their approvals.

``saved_plans`` keeps a plan made for approval (its saved-plan document, the
proposed files it was made with, its digest); ``plan_approvals`` records who
approved which plan and when, bound to the plan's digest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
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
        "saved_plans",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", json_document(), nullable=False),
        sa.Column("files", json_document(), nullable=True),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("applied_at", timestamp(), nullable=True),
        sa.Column("apply_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_saved_plans"),
    )
    op.create_index("ix_saved_plans_tenant", "saved_plans", ["tenant"])
    op.create_table(
        "plan_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(NAME), nullable=False),
        sa.Column("approved_at", timestamp(), nullable=False),
        sa.Column("allow_data_loss", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["saved_plans.id"],
            name="fk_plan_approvals_plan_id_saved_plans",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_plan_approvals"),
    )
    op.create_index("ix_plan_approvals_plan_id", "plan_approvals", ["plan_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_approvals_plan_id", table_name="plan_approvals")
    op.drop_table("plan_approvals")
    op.drop_index("ix_saved_plans_tenant", table_name="saved_plans")
    op.drop_table("saved_plans")
