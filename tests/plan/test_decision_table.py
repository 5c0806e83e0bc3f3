"""The three-way decision table, as a grid over the pure planner."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.kinds.base import (
    DesiredResource,
    ObservedResource,
    RecordedResource,
    ResourceKey,
    SourceLocation,
    TenantContext,
)
from reconciler.plan import Action, PlanOptions, TenantPlan, build_plan

CTX = TenantContext(name="acme", tenant_id="acme", catalog="agentprovision_acme")
KEY = ResourceKey("acme", "Notebook", "etl")
PATH = "/Workspace/AgentProvision/acme/etl"
SPEC = {"path": PATH, "language": "PYTHON", "content_sha256": "aaa"}


def desired(spec: dict[str, Any] = SPEC, *, adopt: bool = False) -> DesiredResource:
    return DesiredResource(
        key=KEY,
        identity=spec["path"],
        spec=spec,
        location=SourceLocation("notebooks.yaml", 1, 1),
        adopt=adopt,
    )


def recorded(spec: dict[str, Any] = SPEC) -> RecordedResource:
    return RecordedResource(key=KEY, identity=spec["path"], remote_id="17", spec=spec)


def observed(spec: dict[str, Any] = SPEC, *, remote_id: str = "17") -> ObservedResource:
    raw = {**spec, "object_id": remote_id, "size": 10}
    return ObservedResource(
        kind="Notebook", identity=spec["path"], remote_id=remote_id, spec=spec, raw=raw
    )


def plan(
    d: DesiredResource | None,
    r: RecordedResource | None,
    o: ObservedResource | None,
    options: PlanOptions = PlanOptions(),
) -> TenantPlan:
    return build_plan(
        context=CTX,
        order=[KEY] if d else [],
        desired={KEY: d} if d else {},
        recorded={KEY: r} if r else {},
        observed=[o] if o else [],
        serial=3,
        options=options,
    )


EDITED = {**SPEC, "content_sha256": "bbb"}
MOVED = {**SPEC, "path": "/Shared/etl"}

GRID = [
    pytest.param(desired(), None, None, PlanOptions(), Action.CREATE, "new", id="D-only:create"),
    pytest.param(
        desired(),
        None,
        observed(),
        PlanOptions(),
        Action.CONFLICT,
        "not managed",
        id="D+O-unrecorded:conflict",
    ),
    pytest.param(
        desired(adopt=True),
        None,
        observed(),
        PlanOptions(),
        Action.ADOPT,
        "adopted",
        id="D+O-with-spec-adopt:adopt",
    ),
    pytest.param(
        desired(),
        None,
        observed(),
        PlanOptions(adopt=True),
        Action.ADOPT,
        "adopted",
        id="D+O-with---adopt:adopt",
    ),
    pytest.param(
        desired(),
        recorded(),
        None,
        PlanOptions(),
        Action.CREATE,
        "deleted outside",
        id="D+R-gone:recreate",
    ),
    pytest.param(
        desired(),
        recorded(),
        observed(),
        PlanOptions(),
        Action.NOOP,
        "up to date",
        id="D=R=O:noop",
    ),
    pytest.param(
        desired(EDITED),
        recorded(),
        observed(),
        PlanOptions(),
        Action.UPDATE,
        "content_sha256",
        id="D-changed:update",
    ),
    pytest.param(
        desired(),
        recorded(),
        observed(EDITED),
        PlanOptions(),
        Action.UPDATE,
        "outside",
        id="O-drifted:update-reverts",
    ),
    pytest.param(
        desired(),
        recorded(),
        observed(EDITED),
        PlanOptions(drift="report"),
        Action.NOOP,
        "reported, not reverted",
        id="O-drifted-drift-report:noop-reported",
    ),
    pytest.param(
        desired(),
        recorded(),
        None,
        PlanOptions(drift="report"),
        Action.NOOP,
        "deleted outside the reconciler: reported",
        id="D+R-gone-drift-report:noop-reported",
    ),
    pytest.param(
        desired(EDITED),
        recorded(),
        observed(EDITED),
        PlanOptions(drift="report"),
        Action.NOOP,
        "remote already matches",
        id="O-drifted-to-D-drift-report:noop",
    ),
    pytest.param(
        desired(MOVED),
        recorded(),
        observed(),
        PlanOptions(),
        Action.REPLACE,
        "path",
        id="create-only-changed:replace",
    ),
    pytest.param(
        None,
        recorded(),
        observed(),
        PlanOptions(),
        Action.DELETE,
        "removed",
        id="R+O:delete",
    ),
    pytest.param(
        None,
        recorded(),
        observed(),
        PlanOptions(prune=False),
        Action.FORGET,
        "does not prune",
        id="R+O-no-prune:forget",
    ),
    pytest.param(
        None, recorded(), None, PlanOptions(), Action.FORGET, "already gone", id="R-only:forget"
    ),
]


@pytest.mark.parametrize(("d", "r", "o", "options", "action", "reason"), GRID)
def test_decision_table(
    d: DesiredResource | None,
    r: RecordedResource | None,
    o: ObservedResource | None,
    options: PlanOptions,
    action: Action,
    reason: str,
) -> None:
    result = plan(d, r, o, options)
    [change] = result.changes
    assert change.action is action
    assert reason in change.reason


def test_unmanaged_object_is_listed_and_never_planned() -> None:
    result = plan(None, None, observed())
    assert result.changes == ()
    assert [(u.kind, u.identity) for u in result.unmanaged] == [("Notebook", PATH)]
    assert not result.has_changes


def test_update_names_the_field_with_before_after_and_remote() -> None:
    [change] = plan(desired(EDITED), recorded(), observed()).changes
    [field] = change.fields
    assert (field.path, field.before, field.after, field.remote) == (
        "content_sha256",
        "aaa",
        "bbb",
        "aaa",
    )


def test_drift_is_reported_against_the_record() -> None:
    [change] = plan(desired(), recorded(), observed(EDITED)).changes
    assert [(f.path, f.before, f.remote) for f in change.drift] == [
        ("content_sha256", "aaa", "bbb")
    ]


def test_fields_only_the_server_has_are_not_changes() -> None:
    server = observed({**SPEC, "modified_by": "someone"})
    [change] = plan(desired(), recorded(), server).changes
    assert change.action is Action.NOOP


def test_record_is_refreshed_when_it_differs_but_remote_matches() -> None:
    [change] = plan(desired(EDITED), recorded(), observed(EDITED)).changes
    assert change.action is Action.NOOP
    assert change.refresh


def test_matching_prefers_recorded_remote_id_over_identity() -> None:
    renamed = observed(MOVED, remote_id="17")
    [change] = plan(desired(), recorded(), renamed).changes
    assert change.action is Action.REPLACE
    assert change.remote_id == "17"


def test_plan_is_deterministic() -> None:
    args = (desired(EDITED), recorded(), observed())
    assert plan(*args) == plan(*args)


def test_drift_report_keeps_the_drift_and_changes_nothing() -> None:
    [change] = plan(desired(), recorded(), observed(EDITED), PlanOptions(drift="report")).changes
    assert change.reported and not change.fields and not change.refresh
    assert [(f.path, f.before, f.remote) for f in change.drift] == [
        ("content_sha256", "aaa", "bbb")
    ]
    assert not plan(
        desired(), recorded(), observed(EDITED), PlanOptions(drift="report")
    ).has_changes


def test_drift_report_still_applies_what_the_document_changed() -> None:
    """D changed `language`, O drifted `content_sha256`: only the document's change is made."""
    edited_doc = {**SPEC, "language": "SQL"}
    options = PlanOptions(drift="report")
    [change] = plan(desired(edited_doc), recorded(), observed(EDITED), options).changes
    assert change.action is Action.UPDATE
    assert [f.path for f in change.fields] == ["language"]
    assert "`content_sha256` drifted: reported, not reverted" in change.reason
