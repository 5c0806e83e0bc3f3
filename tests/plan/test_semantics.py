"""Ownership, protection, orphaning, table evolution, targeting and secrets in the pure planner."""

from __future__ import annotations

import pytest

from reconciler.kinds import KINDS
from reconciler.kinds.base import ABSENT
from reconciler.plan import Action, PlanOptions
from reconciler.secrets import mask_value
from tests.plan.scenario import (
    TENANT,
    column,
    dataset_spec,
    desired,
    every_action,
    job_spec,
    key,
    notebook_spec,
    observed,
    plan_of,
    recorded,
)

SALES = key("Dataset", "sales")
TABLE = "agentprovision_acme.default.sales"
NB = key("Notebook", "etl")
NB_PATH = notebook_spec("etl")["path"]


def dataset_change(old: dict, new: dict):  # type: ignore[no-untyped-def]
    d = desired(SALES, dataset_spec(**new), TABLE)
    [change] = plan_of(
        [d], [recorded(d, dataset_spec(**old))], [observed("Dataset", TABLE, dataset_spec(**old))]
    ).changes
    return change


EVOLUTION = [
    pytest.param({}, {"note": column(1)}, Action.UPDATE, "added: rows kept", id="add-nullable"),
    pytest.param(
        {}, {"note": column(1, nullable=False)}, Action.REPLACE, "NOT NULL", id="add-not-null"
    ),
    pytest.param(
        {"id": ("int", True)}, {"id": ("bigint", True)}, Action.UPDATE, "widened", id="int-bigint"
    ),
    pytest.param(
        {"id": ("float", True)},
        {"id": ("double", True)},
        Action.UPDATE,
        "widened",
        id="float-double",
    ),
    pytest.param(
        {"id": ("decimal(10,2)", True)},
        {"id": ("decimal(12,2)", True)},
        Action.UPDATE,
        "widened",
        id="decimal-precision-up",
    ),
    pytest.param(
        {"id": ("bigint", True)}, {"id": ("int", True)}, Action.REPLACE, "narrowed", id="narrow"
    ),
    pytest.param(
        {"id": ("decimal(10,2)", True)},
        {"id": ("decimal(10,3)", True)},
        Action.REPLACE,
        "changed",
        id="decimal-scale",
    ),
    pytest.param(
        {"id": ("int", False)}, {"id": ("int", True)}, Action.UPDATE, "relaxed", id="relax-not-null"
    ),
    pytest.param(
        {"id": ("int", True)},
        {"id": ("int", False)},
        Action.REPLACE,
        "NOT NULL",
        id="add-not-null-existing",
    ),
]


@pytest.mark.parametrize(("old", "new", "action", "reason"), EVOLUTION)
def test_table_evolution(old: dict, new: dict, action: Action, reason: str) -> None:
    base = {"id": column(0, "int")}
    before = base | {n: column(0, t, nullable) for n, (t, nullable) in old.items()}
    after = dict(before)
    for n, value in new.items():
        after[n] = value if isinstance(value, dict) else column(0, value[0], value[1])
    change = dataset_change(before, after)
    assert change.action is action
    assert reason in change.reason
    assert change.destructive is (action is Action.REPLACE)


def test_dropping_a_column_is_a_destructive_replace() -> None:
    change = dataset_change({"id": column(0), "note": column(1)}, {"id": column(0)})
    assert change.action is Action.REPLACE
    assert "column `note` dropped: destroys data" in change.reason
    assert change.destructive


def test_a_new_source_file_reloads_in_place() -> None:
    old = dataset_spec(id=column(0)) | {"source_sha256": "a", "source_format": "csv"}
    new = dataset_spec(id=column(0)) | {"source_sha256": "b", "source_format": "csv"}
    d = desired(SALES, new, TABLE)
    [change] = plan_of([d], [recorded(d, old)], [observed("Dataset", TABLE, old)]).changes
    assert change.action is Action.UPDATE
    assert "rows are reloaded" in change.reason
    assert not change.destructive


def test_prevent_destroy_survives_removing_the_document() -> None:
    rec = recorded(
        SALES,
        dataset_spec(id=column(0)),
        identity=TABLE,
        lifecycle={"prevent_destroy": True, "on_delete": "delete"},
    )
    [change] = plan_of([], [rec], [observed("Dataset", TABLE, rec.spec)]).changes
    assert change.action is Action.BLOCKED
    assert "prevent_destroy" in change.reason


def test_dropping_the_lifecycle_block_keeps_the_protection() -> None:
    d = desired(SALES, dataset_spec(id=column(0, "string")), TABLE)
    rec = recorded(d, dataset_spec(id=column(0, "bigint")), lifecycle={"prevent_destroy": True})
    [change] = plan_of([d], [rec], [observed("Dataset", TABLE, rec.spec)]).changes
    assert change.action is Action.BLOCKED
    assert change.lifecycle["prevent_destroy"] is True


def test_explicit_false_lifts_protection_with_a_record_refresh() -> None:
    spec = dataset_spec(id=column(0))
    d = desired(SALES, spec, TABLE, lifecycle={"prevent_destroy": False})
    rec = recorded(d, spec, lifecycle={"prevent_destroy": True})
    [change] = plan_of([d], [rec], [observed("Dataset", TABLE, spec)]).changes
    assert change.action is Action.NOOP and change.refresh
    assert change.lifecycle == {"prevent_destroy": False}


@pytest.mark.parametrize(
    ("kind", "lifecycle", "action"),
    [
        pytest.param("Dataset", {}, Action.FORGET, id="dataset-defaults-to-orphan"),
        pytest.param(
            "Dataset", {"on_delete": "delete"}, Action.DELETE, id="dataset-on-delete-delete"
        ),
        pytest.param("Notebook", {}, Action.DELETE, id="notebook-defaults-to-delete"),
        pytest.param("Notebook", {"on_delete": "orphan"}, Action.FORGET, id="notebook-orphan"),
    ],
)
def test_on_delete(kind: str, lifecycle: dict, action: Action) -> None:
    spec = dataset_spec(id=column(0)) if kind == "Dataset" else notebook_spec("x")
    rec = recorded(key(kind, "x"), spec, identity="x-id", lifecycle=lifecycle)
    [change] = plan_of([], [rec], [observed(kind, "x-id", spec)]).changes
    assert change.action is action
    assert change.destructive is (action is Action.DELETE and KINDS[kind].data_bearing)


def test_ignore_changes_hides_remote_edits_of_those_fields() -> None:
    spec = job_spec(NB_PATH)
    d = desired(
        key("Job", "nightly"),
        spec,
        "nightly",
        lifecycle={
            "ignore_changes": ["tasks.*.notebook_task.base_parameters", "max_concurrent_runs"]
        },
    )
    remote = job_spec(NB_PATH, runs=4)
    remote["tasks"]["load"]["notebook_task"]["base_parameters"] = {"env": "dev"}
    [change] = plan_of([d], [recorded(d)], [observed("Job", "nightly", remote)]).changes
    assert change.action is Action.NOOP
    assert change.drift == ()


def test_fields_nobody_manages_are_never_changes() -> None:
    spec = {"catalog_name": "c", "comment": ""}
    d = desired(TENANT, spec, "c")
    remote = spec | {"properties": {"owner": "someone"}, "isolation_mode": "OPEN"}
    [change] = plan_of([d], [recorded(d)], [observed("Tenant", "c", remote)]).changes
    assert change.action is Action.NOOP


def test_a_field_dropped_from_the_document_is_reset() -> None:
    old = {"catalog_name": "c", "comment": "", "properties": {"team": "a", "cost": "1"}}
    new = {"catalog_name": "c", "comment": "", "properties": {"team": "a"}}
    d = desired(TENANT, new, "c")
    [change] = plan_of([d], [recorded(d, old)], [observed("Tenant", "c", old)]).changes
    assert change.action is Action.UPDATE
    [field] = change.fields
    assert (field.path, field.after, field.remote) == ("properties.cost", ABSENT, "1")


def test_targets_take_their_dependencies_and_nothing_else() -> None:
    plan = every_action()
    full = {c.address for c in plan.changes}
    from tests.plan.scenario import CTX  # noqa: F401  (same context)

    narrowed = plan_of(
        [c.desired for c in plan.changes if c.desired is not None],
        [],
        [],
        PlanOptions(targets=frozenset({("Job", "nightly")})),
    )
    assert {c.address for c in narrowed.changes} == {"Job/nightly", "Tenant/acme"}
    assert len(full) > 2


def test_replace_option_forces_a_replace() -> None:
    d = desired(NB, notebook_spec("etl"), NB_PATH)
    [change] = plan_of(
        [d],
        [recorded(d)],
        [observed("Notebook", NB_PATH, d.spec)],
        PlanOptions(replace=frozenset({("Notebook", "etl")})),
    ).changes
    assert change.action is Action.REPLACE
    assert "--replace" in change.reason


def test_refresh_only_records_what_is_observed_and_changes_nothing() -> None:
    d = desired(NB, notebook_spec("etl", "new"), NB_PATH)
    rec = recorded(d, notebook_spec("etl", "old"))
    remote = notebook_spec("etl", "edited")
    [change] = plan_of(
        [d], [rec], [observed("Notebook", NB_PATH, remote)], PlanOptions(refresh_only=True)
    ).changes
    assert change.action is Action.NOOP and change.refresh
    assert change.after == remote


def test_secret_values_are_compared_by_hash_only() -> None:
    spec = job_spec(NB_PATH, token=mask_value("t1"))
    d = desired(key("Job", "nightly"), spec, "nightly")
    same = plan_of([d], [recorded(d)], [observed("Job", "nightly", job_spec(NB_PATH, token="t1"))])
    rotated = plan_of(
        [d], [recorded(d)], [observed("Job", "nightly", job_spec(NB_PATH, token="t0"))]
    )
    assert same.changes[0].action is Action.NOOP
    [field] = rotated.changes[0].fields
    assert field.path == "tasks.load.notebook_task.base_parameters.token"
    assert "t0" not in repr(field) and "t1" not in repr(field)


def test_a_conflict_with_the_reconcilers_marker_says_the_state_is_elsewhere() -> None:
    from dataclasses import replace as copy

    d = desired(NB, notebook_spec("etl"), NB_PATH)
    ours = copy(observed("Notebook", NB_PATH, d.spec), managed=True)
    [change] = plan_of([d], [], [ours]).changes
    assert change.action is Action.CONFLICT
    assert "not in this state database" in change.reason and "--adopt" in change.reason


def test_an_object_still_deploying_is_waited_for_by_the_next_apply() -> None:
    from dataclasses import replace as copy

    spec = {"model": {"name": "c.s.m", "version": "1"}, "workload_size": "Small"}
    d = desired(key("ServingEndpoint", "bot"), spec, "bot")
    deploying = copy(observed("ServingEndpoint", "bot", spec), ready=False)
    [change] = plan_of([d], [recorded(d)], [deploying]).changes
    assert change.action is Action.NOOP and change.wait and change.refresh
    assert "not ready yet" in change.reason


def test_redact_removes_every_secret_value_from_a_message() -> None:
    from reconciler.secrets import redact, secret_values

    clear = job_spec(NB_PATH, token="t-123")
    masked = job_spec(NB_PATH, token=mask_value("t-123"))
    values = secret_values(masked, clear)
    assert values == ["t-123"]
    assert redact("bad token 't-123' in t-123", values) == "bad token '(sensitive)' in (sensitive)"
    assert secret_values(masked, None) == []


def test_an_object_of_another_tenant_is_a_conflict_that_adopt_does_not_override() -> None:
    from dataclasses import replace as copy

    d = copy(desired(NB, notebook_spec("etl"), NB_PATH), adopt=True)
    theirs = copy(observed("Notebook", NB_PATH, d.spec), managed=True)
    options = PlanOptions(adopt=True, foreign={("Notebook", NB_PATH): "acme"})
    [change] = plan_of([d], [], [theirs], options).changes
    assert change.action is Action.CONFLICT
    assert "owned by tenant `acme` of this state database" in change.reason
    assert "not in this state database" not in change.reason
