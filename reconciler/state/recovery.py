"""Resolving open intents: find out what an interrupted apply really did.

An intent left open means a connector call was sent (or about to be) and its
result never recorded. Before planning, each one is settled against what the
connector shows now (the tenant's observed objects):

==========================  ==============================  =====================
intent                      the object, looked up           resolution
==========================  ==============================  =====================
create / replace / adopt    exists (marked managed_by us,   adopt it into state
                            or the one we meant to adopt)   with the intent's spec
create / replace / adopt    absent, or already recorded     drop the intent
update                      anything                        drop (the record stays;
                                                            the plan redoes it)
delete                      absent                          forget it in state
delete                      still there                     drop (the plan deletes
                                                            it again)
==========================  ==============================  =====================

So nothing created is left unrecorded (the next plan does not create it a
second time), and nothing recorded points at an object that is gone.

Resolution writes state, so it runs only while holding the tenant's lock:
an intent is open either because its apply died, or because that apply is
still running, and the lock tells the two apart. When the lock is busy, the
intents are left alone (their apply will close them) and the plan is built
from state as it is; such a plan cannot be applied anyway, because the
running apply moves the tenant's serial.

:func:`settled_records` makes the same decisions without writing anything:
``plan`` uses it, so a plan made with read-only database credentials shows
what the next apply will find once it has settled the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.kinds.base import ObservedResource, RecordedResource, ResourceKey
from reconciler.scrub import scrub
from reconciler.state.leases import TenantLease
from reconciler.state.records import Intent, keys_from_json
from reconciler.state.store import StateStore

log = logging.getLogger("reconciler.state")

CREATING = frozenset({"create", "replace", "adopt"})


def resolve_open_intents(
    store: StateStore,
    tenant: str,
    observed: Sequence[ObservedResource],
    *,
    lease: TenantLease | None = None,
) -> int:
    """Settle the tenant's open intents (and interrupted applies); returns how many.

    ``lease`` is the tenant's lock if the caller holds it; otherwise the lock
    is taken for the duration, and nothing is done when another process holds it.
    """
    if not store.open_intents(tenant) and not store.running_applies(tenant):
        return 0
    if lease is not None:
        return _resolve_all(store, tenant, observed)
    taken = store.try_lock(tenant, command="plan: resolving open intents")
    if not isinstance(taken, TenantLease):
        log.info("tenant %s is locked (%s); open intents left to it", tenant, taken.describe())
        return 0
    with taken:
        return _resolve_all(store, tenant, observed)


def _resolve_all(store: StateStore, tenant: str, observed: Sequence[ObservedResource]) -> int:
    intents = store.open_intents(tenant)
    recorded = store.read_tenant(tenant).resources
    for intent in intents:
        _resolve(store, intent, observed, recorded.get(intent.key))
    store.interrupt_running_applies(tenant)
    return len(intents)


@dataclass(frozen=True)
class Resolution:
    """What settling one intent does: adopt a record, forget one, or neither."""

    outcome: str
    adopt: RecordedResource | None = None
    forget: bool = False


def resolution(
    intent: Intent, observed: Sequence[ObservedResource], recorded: RecordedResource | None
) -> Resolution:
    """The table above, for one intent (pure)."""
    found = _lookup(intent, observed)
    if intent.action in CREATING and found is not None:
        if recorded is not None and recorded.remote_id == found.remote_id:
            return Resolution("recovered: already recorded")
        return Resolution("recovered: adopted", adopt=_adopted(intent, found))
    if intent.action == "delete" and found is None:
        return Resolution("recovered: deleted", forget=True)
    return Resolution("recovered: nothing to record")


def settled_records(
    intents: Sequence[Intent],
    observed: Sequence[ObservedResource],
    recorded: Mapping[ResourceKey, RecordedResource],
) -> dict[ResourceKey, RecordedResource]:
    """The records as they will be once ``intents`` are settled (nothing is written)."""
    result = dict(recorded)
    for intent in intents:
        outcome = resolution(intent, observed, result.get(intent.key))
        if outcome.adopt is not None:
            result[intent.key] = outcome.adopt
        elif outcome.forget:
            result.pop(intent.key, None)
    return result


def _resolve(
    store: StateStore,
    intent: Intent,
    observed: Sequence[ObservedResource],
    recorded: RecordedResource | None,
) -> None:
    outcome = resolution(intent, observed, recorded)
    store.resolve_intent(
        intent, adopt=outcome.adopt, forget=outcome.forget, outcome=outcome.outcome
    )
    if outcome.adopt is not None:
        log.warning("%s: adopted an object left unrecorded by an interrupted apply", intent.key)


def _lookup(intent: Intent, observed: Sequence[ObservedResource]) -> ObservedResource | None:
    """The object the intent was about: by identity, or (delete) by the remote id removed."""
    gone_id = intent.request.get("remote_id")
    for obj in observed:
        if obj.kind != intent.key.kind:
            continue
        # the journal keeps identities and ids scrubbed of secrets: compare those forms too
        same = intent.identity in (obj.identity, scrub(obj.identity))
        if intent.action == "delete":
            if same or (gone_id and gone_id in (obj.remote_id, scrub(obj.remote_id))):
                return obj
        elif same and (obj.managed or intent.action == "adopt"):
            return obj
    return None


def _adopted(intent: Intent, found: ObservedResource) -> RecordedResource:
    request = intent.request
    return RecordedResource(
        key=intent.key,
        identity=found.identity,
        remote_id=found.remote_id,
        spec=request.get("spec") or {},
        depends_on=keys_from_json(request.get("depends_on")),
        lifecycle=request.get("lifecycle") or {},
    )
