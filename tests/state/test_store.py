"""The state store against real SQLite and real PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from sqlalchemy import select

from reconciler.errors import StateError
from reconciler.kinds.base import ResourceKey
from reconciler.state import ApplyRecord, StateStore, TenantSnapshot, normalize_database_url
from reconciler.state.db import create_state_engine
from reconciler.state.models import ResourceRow
from tests.state.conftest import job

NIGHTLY = ResourceKey("acme", "Job", "nightly")


def start(store: StateStore, tenant: str = "acme", serial: int | None = None) -> int:
    expected = store.read_tenant(tenant).serial if serial is None else serial
    return store.begin_apply(
        tenant, expected_serial=expected, actor="ci", git_commit="a1b2c3", summary={"create": 1}
    )


def test_unknown_tenant_reads_as_serial_zero(store: StateStore) -> None:
    assert store.read_tenant("nobody") == TenantSnapshot("nobody", 0, {})
    assert store.tenants() == []
    assert store.history() == []


def test_recorded_resource_round_trips_with_nested_json(store: StateStore) -> None:
    resource = job()
    apply_id = start(store)
    store.record_resource(apply_id, resource, action="create")

    snapshot = store.read_tenant("acme")

    assert snapshot.serial == 1
    assert snapshot.resources == {NIGHTLY: resource}
    assert snapshot.resources[NIGHTLY].depends_on == resource.depends_on
    assert all(isinstance(key, ResourceKey) for key in snapshot.resources[NIGHTLY].depends_on)
    assert store.tenants() == ["acme"]


def test_read_only_mappings_and_missing_observation_are_stored(store: StateStore) -> None:
    resource = job(spec=MappingProxyType({"a": MappingProxyType({"b": (1, 2)})}), observed=None)
    store.record_resource(start(store), resource, action="create")
    recorded = store.read_tenant("acme").resources[NIGHTLY]
    assert recorded.spec == {"a": {"b": [1, 2]}}
    assert recorded.observed is None


def test_record_resource_updates_in_place(store: StateStore) -> None:
    apply_id = start(store)
    store.record_resource(apply_id, job(), action="create")
    changed = job(remote_id="915", spec={"tasks": []}, depends_on=(), status="degraded")
    store.record_resource(apply_id, changed, action="update")
    assert store.read_tenant("acme").resources == {NIGHTLY: changed}


def test_tenants_are_kept_apart(store: StateStore) -> None:
    store.record_resource(start(store, "acme"), job(tenant="acme"), action="create")
    store.record_resource(start(store, "zeta"), job(tenant="zeta"), action="create")
    assert store.tenants() == ["acme", "zeta"]
    assert list(store.read_tenant("zeta").resources) == [ResourceKey("zeta", "Job", "nightly")]


def test_owners_names_the_other_tenants_objects_only(store: StateStore) -> None:
    acme, zeta = job(tenant="acme"), job(tenant="zeta")
    store.record_resource(start(store, "acme"), acme, action="create")
    store.record_resource(start(store, "zeta"), zeta, action="create")
    assert store.owners("acme") == {("Job", zeta.identity): "zeta"}
    assert store.owners("zeta") == {("Job", acme.identity): "acme"}
    assert store.owners("nobody") == {("Job", acme.identity): "acme"}  # first owner, by name


def test_begin_apply_bumps_the_serial(store: StateStore) -> None:
    first = start(store, serial=0)
    store.finish_apply(first, outcome="succeeded", summary={})
    second = start(store, serial=1)
    assert store.read_tenant("acme").serial == 2
    assert [record.serial for record in store.history("acme")] == [2, 1]
    assert second != first


@pytest.mark.parametrize("stale", [0, 2], ids=["behind", "ahead"])
def test_begin_apply_refuses_a_stale_serial(store: StateStore, stale: int) -> None:
    start(store, serial=0)
    with pytest.raises(StateError) as caught:
        start(store, serial=stale)
    assert (
        caught.value.message == f"state of tenant acme moved (serial 1, plan was made at {stale})"
    )
    assert caught.value.hint == "re-run plan"
    assert store.read_tenant("acme").serial == 1
    assert len(store.history("acme")) == 1


@pytest.mark.parametrize("existing", [False, True], ids=["new-tenant", "existing-tenant"])
def test_racing_begin_apply_exactly_one_wins(db_url: str, existing: bool) -> None:
    stores = [StateStore.open(db_url) for _ in range(4)]  # one engine each, like processes
    try:
        expected = 0
        if existing:
            expected = start(stores[0], serial=0) and 1
        barrier = threading.Barrier(len(stores))
        outcomes: list[object] = []

        def race(racer: StateStore) -> None:
            barrier.wait()
            try:
                outcomes.append(start(racer, serial=expected))
            except StateError as error:
                outcomes.append(error)

        threads = [threading.Thread(target=race, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        winners = [o for o in outcomes if isinstance(o, int)]
        losers = [o for o in outcomes if isinstance(o, StateError)]
        assert len(winners) == 1, outcomes
        assert len(losers) == len(stores) - 1
        assert all("moved (serial" in loser.message for loser in losers)
        assert stores[0].read_tenant("acme").serial == expected + 1
    finally:
        for s in stores:
            s.close()


def test_forget_failure_finish_and_history(store: StateStore) -> None:
    first = start(store)
    store.record_resource(first, job(), action="create")
    store.finish_apply(first, outcome="succeeded", summary={"created": 1})

    second = start(store)
    store.forget_resource(second, NIGHTLY, action="delete")
    store.record_failure(
        second,
        ResourceKey("acme", "Notebook", "etl"),
        action="delete",
        error="connector said 500: internal",
    )
    store.finish_apply(second, outcome="failed", summary={"failed": 1})

    assert store.read_tenant("acme").resources == {}
    newest, oldest = store.history("acme")
    assert isinstance(newest, ApplyRecord)
    assert (newest.id, newest.serial, newest.outcome) == (second, 2, "failed")
    assert newest.summary == {"create": 1, "failed": 1}
    assert [(s.kind, s.name, s.action, s.outcome, s.error) for s in newest.steps] == [
        ("Job", "nightly", "delete", "ok", None),
        ("Notebook", "etl", "delete", "failed", "connector said 500: internal"),
    ]
    assert isinstance(newest.steps, tuple)
    assert (oldest.actor, oldest.git_commit, oldest.outcome) == ("ci", "a1b2c3", "succeeded")
    assert oldest.started_at.tzinfo == UTC
    assert oldest.finished_at is not None and oldest.finished_at >= oldest.started_at
    assert oldest.steps[0].at.tzinfo == UTC


def test_history_limit_and_filter(store: StateStore) -> None:
    for tenant in ("acme", "zeta", "acme"):
        store.finish_apply(start(store, tenant), outcome="succeeded", summary={})
    assert [(r.tenant, r.serial) for r in store.history()] == [
        ("acme", 2),
        ("zeta", 1),
        ("acme", 1),
    ]
    assert [(r.tenant, r.serial) for r in store.history(limit=1)] == [("acme", 2)]
    assert [r.tenant for r in store.history("zeta")] == ["zeta"]


def test_a_running_apply_shows_as_running(store: StateStore) -> None:
    start(store)
    (record,) = store.history()
    assert (record.outcome, record.finished_at, record.steps) == ("running", None, ())


def test_writes_to_a_finished_or_unknown_apply_are_refused(store: StateStore) -> None:
    apply_id = start(store)
    store.finish_apply(apply_id, outcome="succeeded", summary={})
    with pytest.raises(StateError, match="already finished"):
        store.record_resource(apply_id, job(), action="create")
    with pytest.raises(StateError, match="does not exist"):
        store.forget_resource(apply_id + 100, NIGHTLY, action="delete")
    with pytest.raises(ValueError, match="outcome must be one of"):
        store.finish_apply(apply_id, outcome="done", summary={})


def test_a_resource_of_another_tenant_is_refused(store: StateStore) -> None:
    apply_id = start(store, "acme")
    with pytest.raises(StateError, match="belongs to tenant acme"):
        store.record_resource(apply_id, job(tenant="zeta"), action="create")


def test_refresh_observed_updates_only_changes(store: StateStore, db_url: str) -> None:
    apply_id = start(store)
    store.record_resource(apply_id, job(), action="create")
    store.record_resource(apply_id, job("weekly"), action="create")
    before = _updated_at(db_url)

    unknown = ResourceKey("acme", "Job", "never-recorded")
    store.refresh_observed("acme", {NIGHTLY: {"state": {"life_cycle": "PAUSED"}}, unknown: {}})

    after = _updated_at(db_url)
    resources = store.read_tenant("acme").resources
    assert resources[NIGHTLY].observed == {"state": {"life_cycle": "PAUSED"}}
    assert after["nightly"] > before["nightly"]
    assert after["weekly"] == before["weekly"]
    assert unknown not in resources


def test_refresh_observed_writes_nothing_when_unchanged(store: StateStore, db_url: str) -> None:
    store.record_resource(start(store), job(), action="create")
    before = _updated_at(db_url)
    same = {NIGHTLY: {"runs": (1, 2), "state": MappingProxyType({"life_cycle": "ACTIVE"})}}
    store.refresh_observed("acme", same)
    store.refresh_observed("acme", {})
    assert _updated_at(db_url) == before


def test_refresh_observed_refuses_other_tenants(store: StateStore) -> None:
    with pytest.raises(StateError, match="other tenants"):
        store.refresh_observed("acme", {ResourceKey("zeta", "Job", "x"): {}})


def _updated_at(db_url: str) -> dict[str, datetime]:
    """``updated_at`` of every resource row, read straight from the table."""
    engine = create_state_engine(normalize_database_url(db_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(ResourceRow.name, ResourceRow.updated_at))
            return {name: at for name, at in rows}
    finally:
        engine.dispose()


def test_tenant_lock_excludes_a_second_holder(db_url: str) -> None:
    first, second = StateStore.open(db_url), StateStore.open(db_url)
    try:
        with first.tenant_lock("acme"):
            with pytest.raises(StateError, match="being applied by another process"):
                second.tenant_lock("acme").__enter__()
            with second.tenant_lock("zeta"):  # other tenants are not blocked
                pass
        with second.tenant_lock("acme"):  # released on exit
            pass
    finally:
        first.close()
        second.close()


def test_tenant_lock_works_in_memory() -> None:
    with (
        StateStore.open("sqlite://") as store,
        store.tenant_lock("acme"),
        pytest.raises(StateError, match="being applied"),
    ):
        store.tenant_lock("acme").__enter__()


def test_owners_asked_for_some_identities_reads_only_those(store: StateStore) -> None:
    acme, zeta = job(tenant="acme"), job(tenant="zeta", identity="zeta-nightly")
    store.record_resource(start(store, "acme"), acme, action="create")
    store.record_resource(start(store, "zeta"), zeta, action="create")
    assert store.owners("acme", set()) == {}  # nothing asked, nothing read
    assert store.owners("acme", {("Job", zeta.identity), ("Job", "elsewhere")}) == {
        ("Job", zeta.identity): "zeta"
    }
    assert store.owners("acme", {("Notebook", zeta.identity)}) == {}  # same text, other kind
    assert store.owners("zeta", {("Job", acme.identity)}) == {("Job", acme.identity): "acme"}


def test_json_columns_read_what_the_standard_module_wrote() -> None:
    from reconciler.state.db import load_json

    document = {"tasks": [{"key": "a", "n": 1, "x": 0.5}], "name": "Zürich ✓", "none": None}
    assert load_json(json.dumps(document)) == document
    special = load_json(json.dumps({"nan": float("nan"), "inf": float("inf")}))
    assert math.isnan(special["nan"]) and special["inf"] == float("inf")
