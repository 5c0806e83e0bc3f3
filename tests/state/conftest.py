"""Fixtures for the state store tests: an open store on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state import StateStore


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    """A migrated, empty store (SQLite and PostgreSQL)."""
    opened = StateStore.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


def job(name: str = "nightly", tenant: str = "acme", **changes: object) -> RecordedResource:
    """A recorded Job with nested JSON in its spec, for round trips."""
    values: dict[str, object] = {
        "key": ResourceKey(tenant, "Job", name),
        "identity": f"[acme] {name}",
        "remote_id": "914",
        "spec": {
            "tasks": [{"key": "etl", "notebook": {"path": "/acme/etl", "params": {"day": 1}}}],
            "schedule": {"cron": "0 2 * * *", "paused": False},
            "tags": {"team": "finance"},
            "timeout": None,
            "ratio": 0.5,
            "unicode": "Zürich ✓",
        },
        "depends_on": (ResourceKey(tenant, "Notebook", "etl"), ResourceKey(tenant, "Dataset", "s")),
        "observed": {"state": {"life_cycle": "ACTIVE"}, "runs": [1, 2]},
        "status": "applied",
    }
    values.update(changes)
    return RecordedResource(**values)  # type: ignore[arg-type]
