"""Frozen values the state store hands out.

Callers never see SQLAlchemy rows: reads return these immutable records
(tuples, not lists), so a plan built from them cannot change the database by
accident and can be compared and hashed freely.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.kinds.base import RecordedResource, ResourceKey

RUNNING = "running"
"""The ``outcome`` of an apply that has not finished (or crashed before it could)."""


@dataclass(frozen=True)
class TenantSnapshot:
    """Everything recorded for one tenant, read at one moment.

    ``serial`` is 0 for a tenant that was never applied. A plan remembers the
    serial it was made at; :meth:`StateStore.begin_apply` refuses it if the
    serial has moved since.
    """

    tenant: str
    serial: int
    resources: Mapping[ResourceKey, RecordedResource]


@dataclass(frozen=True)
class StepRecord:
    """One step of an apply: ``outcome`` is ``"ok"`` or ``"failed"`` (then ``error`` says why)."""

    kind: str
    name: str
    action: str
    outcome: str
    error: str | None
    at: datetime


@dataclass(frozen=True)
class ApplyRecord:
    """One apply from the history, with its steps in the order they ran.

    ``outcome`` is :data:`RUNNING` until the apply finishes, then ``"succeeded"``
    or ``"failed"``; ``finished_at`` is None while it runs (or if it crashed).
    """

    id: int
    tenant: str
    serial: int
    actor: str
    git_commit: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    summary: Mapping[str, Any]
    steps: tuple[StepRecord, ...]

    def document(self) -> dict[str, Any]:
        """The JSON form (``reconciler history --format json``, the service's history API)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "serial": self.serial,
            "actor": self.actor,
            "git_commit": self.git_commit,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome,
            "summary": dict(self.summary),
            "steps": [
                {
                    "kind": s.kind,
                    "name": s.name,
                    "action": s.action,
                    "outcome": s.outcome,
                    "error": s.error,
                    "at": s.at.isoformat(),
                }
                for s in self.steps
            ],
        }


@dataclass(frozen=True)
class Intent:
    """An open entry of the intent journal: a change whose outcome was never recorded.

    ``action`` is the plan action (create, update, replace, adopt, delete);
    ``request`` holds ``spec``, ``depends_on``, ``lifecycle`` and, for deletes
    and replaces, the ``remote_id`` being removed.
    """

    id: int
    apply_id: int
    key: ResourceKey
    action: str
    identity: str
    idempotency_key: str
    request: Mapping[str, Any]
    opened_at: datetime


@dataclass(frozen=True)
class LockHolder:
    """Who holds a tenant's lock, for messages and ``reconciler state list``."""

    tenant: str
    host: str
    pid: int
    command: str
    since: datetime
    expires_at: datetime

    def describe(self) -> str:
        since = self.since.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on {self.host} since {since} running `{self.command}`"


@dataclass(frozen=True)
class DriftRecord:
    """One stored drift report of a tenant."""

    id: int
    tenant: str
    at: datetime
    report: Mapping[str, Any]


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: mappings become dicts, tuples become lists.

    Raises :class:`TypeError` for values JSON cannot hold (bytes, sets, objects),
    so a bad value fails before it reaches the database.
    """
    return json.loads(json.dumps(value, default=_json_default))


def canonical_json(value: Any) -> str:
    """A stable text form of JSON data, for "did anything change?" comparisons."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the state database: {value!r:.80}")


def keys_to_json(keys: tuple[ResourceKey, ...]) -> list[list[str]]:
    """Dependencies as stored: a list of ``[tenant, kind, name]``."""
    return [[key.tenant, key.kind, key.name] for key in keys]


def keys_from_json(stored: list[list[str]] | None) -> tuple[ResourceKey, ...]:
    """Dependencies as returned: a tuple of :class:`ResourceKey`."""
    return tuple(ResourceKey(*entry) for entry in stored or ())
