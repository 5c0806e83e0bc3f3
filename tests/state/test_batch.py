"""Batched state writes (``write_batch``) on both backends: what a group commit keeps."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import text

from reconciler import scrub
from reconciler.apply_writer import StateWriter
from reconciler.errors import StateError
from reconciler.kinds.base import ResourceKey
from reconciler.state import StateStore
from reconciler.state.batch import MAX_ROWS, STATEMENT_ROWS, BatchWritten, IntentWrite, StepWrite
from reconciler.state.leases import TenantLease
from tests.state.conftest import job
from tests.state.test_store import start


def _intents(names: list[str]) -> list[IntentWrite]:
    request = {"spec": {"a": 1}, "depends_on": [], "lifecycle": {}, "remote_id": None}
    return [
        IntentWrite(ResourceKey("acme", "Job", n), "create", f"[acme] {n}", f"k-{n}", request)
        for n in names
    ]


def test_a_batch_larger_than_one_statement_journals_and_records_every_step(
    store: StateStore,
) -> None:
    apply_id = start(store)
    lease = store.try_lock("acme")
    assert isinstance(lease, TenantLease)
    names = [f"job-{i:03}" for i in range(MAX_ROWS + 20)]
    opened = store.write_batch(apply_id, "acme", intents=_intents(names), lease_token=lease.token)
    assert opened.refused is None
    by_name = {i.key.name: i.id for i in store.open_intents("acme")}
    assert list(opened.intent_ids) == [by_name[n] for n in names]  # in the order asked

    steps = [
        StepWrite(job(n).key, "create", record=job(n), intent_id=i)
        for n, i in zip(names, opened.intent_ids, strict=True)
    ]
    store.write_batch(apply_id, "acme", steps=steps, lease_token=lease.token)
    assert store.open_intents() == []
    assert sorted(k.name for k in store.read_tenant("acme").resources) == names
    assert [s.name for s in store.history()[0].steps] == names
    lease.release()


def test_a_lost_lease_refuses_the_intents_but_keeps_the_results(store: StateStore) -> None:
    apply_id = start(store)
    lease = store.try_lock("acme")
    assert isinstance(lease, TenantLease)
    [first] = store.write_batch(
        apply_id, "acme", intents=_intents(["sent"]), lease_token=lease.token
    ).intent_ids
    store.force_unlock("acme")
    result = StepWrite(job("sent").key, "create", record=job("sent"), intent_id=first)
    written = store.write_batch(
        apply_id, "acme", steps=[result], intents=_intents(["next"]), lease_token=lease.token
    )
    assert written.refused is not None and "was lost" in written.refused.message
    assert written.intent_ids == ()
    assert store.open_intents() == []  # the result closed its intent; "next" was never opened
    assert list(store.read_tenant("acme").resources) == [job("sent").key]


def test_a_batch_of_a_finished_apply_writes_nothing(store: StateStore) -> None:
    apply_id = start(store)
    [opened] = store.write_batch(apply_id, "acme", intents=_intents(["late"])).intent_ids
    store.finish_apply(apply_id, outcome="succeeded", summary={})
    late = StepWrite(job("late").key, "create", record=job("late"), intent_id=opened)
    with pytest.raises(StateError, match="already finished"):
        store.write_batch(apply_id, "acme", steps=[late], intents=_intents(["more"]))
    assert [i.key.name for i in store.open_intents()] == ["late"]  # left for recovery
    assert store.read_tenant("acme").resources == {}


def test_batched_writes_keep_registered_secrets_out_of_every_column(store: StateStore) -> None:
    secret = "batch-secret-value-41"
    scrub.register(secret)
    try:
        apply_id = start(store)
        lease = store.try_lock("acme")
        assert isinstance(lease, TenantLease)
        [intent] = _intents(["leaky"])
        intent = replace(intent, identity=f"[acme] {secret}", request={"token": secret})
        opened = store.write_batch(apply_id, "acme", intents=[intent], lease_token=lease.token)
        record = job("leaky", spec={"token": secret}, identity=f"[acme] {secret}")
        failed = StepWrite(job("other").key, "create", error=f"refused: {secret}")
        store.write_batch(
            apply_id,
            "acme",
            steps=[StepWrite(record.key, "create", record=record), failed],
            intents=_intents(["later"]),
            lease_token=lease.token,
        )
        with store._engine.connect() as connection:
            for table in ("resources", "apply_steps", "intents"):
                rows = connection.execute(text(f"SELECT * FROM {table}")).all()
                assert rows and secret not in repr(rows), table
        assert opened.refused is None
    finally:
        scrub.forget_all()


async def test_a_writer_that_cannot_settle_a_batch_fails_its_steps_instead_of_hanging(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_id = start(store)
    lease = store.try_lock("acme")
    assert isinstance(lease, TenantLease)
    # a fault: the batch is written but answers fewer intent ids than it was given
    monkeypatch.setattr(store, "write_batch", lambda *a, **k: BatchWritten(intent_ids=()))
    writer = StateWriter(store, apply_id, "acme", lease_token=lease.token, linger=0)
    opened = writer.intent(_intents(["a"])[0])
    with pytest.raises(ValueError):
        await asyncio.wait_for(opened, timeout=10)
    await writer.close()


@pytest.mark.postgres
def test_a_lease_lost_between_two_statements_journals_none_of_the_batch(pg_url: str) -> None:
    """More intents than one statement holds: the lease is taken over after the first
    statement committed to the transaction; none of the batch's intents stay open."""
    from sqlalchemy import event

    with StateStore.open(pg_url) as store, StateStore.open(pg_url) as other:
        apply_id = start(store)
        lease = store.try_lock("acme")
        assert isinstance(lease, TenantLease)
        names = [f"job-{i:03}" for i in range(STATEMENT_ROWS + 4)]
        seen: list[str] = []

        def steal(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.startswith("INSERT INTO intents") and not seen:
                seen.append(statement)
                other.force_unlock("acme")  # commits at once: the next statement sees it

        event.listen(store._engine, "after_cursor_execute", steal)
        try:
            written = store.write_batch(
                apply_id, "acme", intents=_intents(names), lease_token=lease.token
            )
        finally:
            event.remove(store._engine, "after_cursor_execute", steal)
        assert seen, "the batch took more than one statement"
        assert written.refused is not None and "was lost" in written.refused.message
        assert store.open_intents("acme") == []


def test_a_batch_never_writes_or_closes_another_tenants_rows(store: StateStore) -> None:
    theirs = start(store, "globex")
    [their_intent] = store.write_batch(
        theirs,
        "globex",
        intents=[replace(_intents(["x"])[0], key=ResourceKey("globex", "Job", "x"))],
    ).intent_ids
    ours = start(store, "acme")
    smuggled = StepWrite(job("mine").key, "create", record=job("x", tenant="globex"))
    with pytest.raises(StateError, match="other tenants' resources"):
        store.write_batch(ours, "acme", steps=[smuggled])
    closing = StepWrite(job("mine").key, "create", record=job("mine"), intent_id=their_intent)
    store.write_batch(ours, "acme", steps=[closing])
    assert [i.id for i in store.open_intents("globex")] == [their_intent]  # still open
    assert "x" not in {k.name for k in store.read_tenant("globex").resources}


def test_intents_alone_are_refused_for_a_finished_apply_or_another_tenants(
    store: StateStore,
) -> None:
    finished = start(store)
    store.finish_apply(finished, outcome="succeeded", summary={})
    with pytest.raises(StateError, match="already finished"):
        store.write_batch(finished, "acme", intents=_intents(["late"]))
    theirs = start(store, "globex")
    with pytest.raises(StateError):
        store.write_batch(theirs, "acme", intents=_intents(["sneaky"]))
    assert store.open_intents() == []
