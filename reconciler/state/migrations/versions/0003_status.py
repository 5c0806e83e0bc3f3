"""Service status: sync and health per tenant and resource.

``tenant_status`` holds what ``reconciler serve`` last found per tenant
(sync, health, commit in force, last error, suspended); ``resource_status``
the sync and health of each of its resources.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenant_status",
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("sync", sa.String(32), nullable=False),
        sa.Column("health", sa.String(32), nullable=False),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_reconcile_at", timestamp(), nullable=True),
        sa.Column("last_apply_at", timestamp(), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("drift", sa.Integer(), nullable=False),
        sa.Column("reconciled_by", sa.String(NAME), nullable=True),
        sa.Column("updated_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_tenant_status"),
    )
    op.create_table(
        "resource_status",
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("sync", sa.String(32), nullable=False),
        sa.Column("health", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"],
            ["tenant_status.tenant"],
            name="fk_resource_status_tenant_tenant_status",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant", "kind", "name", name="pk_resource_status"),
    )


def downgrade() -> None:
    op.drop_table("resource_status")
    op.drop_table("tenant_status")
