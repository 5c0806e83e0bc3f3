"""Claims: the tenant that holds each tenantId and catalog name.

A ``tenantId`` and a catalog belong to one tenant of a state database. The
catalogs of tenants applied before this revision are claimed from their
recorded ``Tenant`` resources; their tenant ids are claimed on their next apply.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255


def upgrade() -> None:
    claims = op.create_table(
        "claims",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.String(NAME), nullable=False),
        sa.Column("tenant", sa.String(NAME), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_claims"),
    )
    op.create_index("ix_claims_tenant", "claims", ["tenant"])
    resources = sa.table(
        "resources", sa.column("tenant", sa.String), sa.column("kind", sa.String),
        sa.column("identity", sa.Text),
    )  # fmt: skip
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(resources.c.identity, resources.c.tenant)
        .where(resources.c.kind == "Tenant")
        .order_by(resources.c.tenant)
    ).all()
    now = datetime.now(UTC)
    seen: set[str] = set()
    backfill = []
    for catalog, tenant in rows:
        if catalog not in seen and len(catalog) <= NAME:
            seen.add(catalog)
            backfill.append({"kind": "catalog", "value": catalog, "tenant": tenant,
                             "claimed_at": now})  # fmt: skip
    if backfill:
        op.bulk_insert(claims, backfill)


def downgrade() -> None:
    op.drop_index("ix_claims_tenant", table_name="claims")
    op.drop_table("claims")
