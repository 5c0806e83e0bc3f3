"""Intent journal, lease locks, drift reports and recorded lifecycle, on both backends."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from reconciler.errors import StateError
from reconciler.kinds.base import ObservedResource
from reconciler.state import StateStore
from reconciler.state.leases import TenantLease
from reconciler.state.models import LockRow, utcnow
from reconciler.state.recovery import resolve_open_intents
from tests.state.conftest import job
from tests.state.test_store import NIGHTLY, start


def _intent(store: StateStore, apply_id: int, action: str = "create") -> int:
    return store.open_intent(
        apply_id,
        NIGHTLY,
        action=action,
        identity="[acme] nightly",
        idempotency_key="k1",
        request={"spec": {"a": 1}, "depends_on": [], "lifecycle": {}, "remote_id": "914"},
    )


def test_recording_a_step_closes_its_intent(store: StateStore) -> None:
    apply_id = start(store)
    intent = _intent(store, apply_id)
    assert [i.key for i in store.open_intents("acme")] == [NIGHTLY]
    store.record_resource(apply_id, job(), action="create", intent_id=intent)
    assert store.open_intents() == []


def test_lifecycle_round_trips(store: StateStore) -> None:
    store.record_resource(start(store), job(lifecycle={"prevent_destroy": True}), action="create")
    assert store.read_tenant("acme").resources[NIGHTLY].lifecycle == {"prevent_destroy": True}


def test_drift_reports_newest_first(store: StateStore) -> None:
    first = store.record_drift("acme", {"changes": 1})
    second = store.record_drift("zeta", {"changes": 2})
    assert [d.id for d in store.drift_history()] == [second, first]
    [only] = store.drift_history("acme")
    assert only.report == {"changes": 1} and only.at.tzinfo is not None


@pytest.mark.parametrize("managed", [True, False], ids=["created", "never-created"])
def test_open_create_intent_is_adopted_or_dropped(store: StateStore, managed: bool) -> None:
    apply_id = start(store)
    _intent(store, apply_id)
    found = ObservedResource("Job", "[acme] nightly", "777", {}, {}, managed=managed)
    assert resolve_open_intents(store, "acme", [found]) == 1
    snapshot = store.read_tenant("acme")
    assert store.open_intents() == []
    assert (NIGHTLY in snapshot.resources) is managed
    if managed:
        assert snapshot.resources[NIGHTLY].remote_id == "777" and snapshot.serial == 2
    assert store.history()[0].outcome == "interrupted"


def test_open_delete_intent_forgets_what_is_gone(store: StateStore) -> None:
    apply_id = start(store)
    store.record_resource(apply_id, job(), action="create")
    _intent(store, apply_id, action="delete")
    resolve_open_intents(store, "acme", [])
    assert store.read_tenant("acme").resources == {}


def test_busy_lock_names_its_holder_and_fences_intents(store: StateStore) -> None:
    lease = store.try_lock("acme", command="reconciler apply specs")
    assert isinstance(lease, TenantLease)
    with pytest.raises(
        StateError, match=r"pid \d+ on .* since .* running `reconciler apply specs`"
    ):
        store.tenant_lock("acme").__enter__()
    apply_id = start(store)
    store.force_unlock("acme")
    with pytest.raises(StateError, match="lock on tenant acme was lost"):
        store.open_intent(
            apply_id,
            NIGHTLY,
            action="create",
            identity="x",
            idempotency_key="k",
            request={},
            lease_token=lease.token,
        )
    lease.release()


def test_expired_or_abandoned_leases_are_taken_over(store: StateStore) -> None:
    lease = store.try_lock("acme")
    assert isinstance(lease, TenantLease)
    lease._stop.set()
    with store._sessions() as session:  # the holder stopped renewing long ago
        session.execute(update(LockRow).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    with store.tenant_lock("acme"):
        pass
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with store._sessions() as session:  # a holder on this host whose process is gone
        session.add(
            LockRow(
                tenant="zeta",
                token="t",
                host=__import__("socket").gethostname(),
                pid=int(dead.stdout),
                command="x",
                since=utcnow(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        session.commit()
    with store.tenant_lock("zeta"):
        pass
