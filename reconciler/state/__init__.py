"""Recorded state: what the reconciler last applied, per tenant.

PostgreSQL in production, an SQLite file by default. Open it with
:meth:`StateStore.open`, which creates or upgrades the schema (Alembic
migrations shipped in this package). Planning reads a :class:`TenantSnapshot`
(serial + recorded resources); applying claims the next serial with
:meth:`StateStore.begin_apply`, writes one transaction per step, and finishes
with :meth:`StateStore.finish_apply`. :meth:`StateStore.history` lists past
applies with their steps. Changes are journaled as intents before they are
sent (:mod:`.journal`); tenants are locked with lease rows (:mod:`.leases`).
"""

from reconciler.state.db import (
    DEFAULT_DATABASE_URL,
    describe_database,
    normalize_database_url,
    redact_database_url,
)
from reconciler.state.records import (
    ApplyRecord,
    DriftRecord,
    Intent,
    LockHolder,
    StepRecord,
    TenantSnapshot,
)
from reconciler.state.store import StateReader, StateStore

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ApplyRecord",
    "DriftRecord",
    "Intent",
    "LockHolder",
    "StateReader",
    "StateStore",
    "StepRecord",
    "TenantSnapshot",
    "describe_database",
    "normalize_database_url",
    "redact_database_url",
]
