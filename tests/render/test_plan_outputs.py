"""Golden outputs of a plan holding every action, in text, JSON and Markdown."""

from __future__ import annotations

import io
import json

from rich.console import Console
from syrupy.assertion import SnapshotAssertion

from reconciler.plan import Plan
from reconciler.render.jsonout import render_plan_json
from reconciler.render.markdown import render_plan_markdown, split_markdown
from reconciler.render.text import render_plan
from tests.plan.scenario import SECRET, every_action


def _plan() -> Plan:
    return Plan((every_action(),))


def _text(plan: Plan) -> str:
    buffer = io.StringIO()
    render_plan(plan, Console(file=buffer, width=200, soft_wrap=True, no_color=True))
    return buffer.getvalue()


def test_text_plan(snapshot: SnapshotAssertion) -> None:
    assert _text(_plan()) == snapshot


def test_json_plan(snapshot: SnapshotAssertion) -> None:
    assert json.loads(render_plan_json(_plan())) == snapshot


def test_markdown_plan(snapshot: SnapshotAssertion) -> None:
    assert render_plan_markdown(_plan()) == snapshot


def test_every_output_hides_the_secret_and_its_mask() -> None:
    plan = _plan()
    for output in (_text(plan), render_plan_json(plan), render_plan_markdown(plan)):
        assert SECRET not in output
        assert "(sensitive) sha256:" not in output
        assert "(sensitive)" in output


def test_json_marks_sensitive_fields() -> None:
    document = json.loads(render_plan_json(_plan()))
    [job] = [c for c in document["tenants"][0]["resource_changes"] if c["kind"] == "Job"]
    token = next(f for f in job["fields"] if f["path"].endswith("token"))
    assert token["sensitive"] is True
    assert "tasks.load.notebook_task.base_parameters.token" in job["sensitive_paths"]


def test_every_action_carries_a_reason_in_every_format() -> None:
    plan = _plan()
    reasons = [c.reason for c in plan.tenants[0].changes if c.action.value != "noop"]
    text, markdown = _text(plan), render_plan_markdown(plan)
    document = json.loads(render_plan_json(plan))
    json_reasons = [c["reason"] for c in document["tenants"][0]["resource_changes"]]
    for reason in reasons:
        assert reason in text
        assert reason.replace("|", "\\|") in markdown
        assert reason in json_reasons


def test_markdown_splits_into_parts_under_the_limit() -> None:
    plan = _plan()
    whole = render_plan_markdown(plan)
    parts = split_markdown(plan, limit=1500)
    assert len(parts) > 1
    assert all(len(p) <= 1500 for p in parts)
    assert parts[0].startswith(f"_Part 1 of {len(parts)}_")
    for change in plan.tenants[0].changes:
        if change.action.value != "noop":
            assert sum(change.address in p for p in parts) >= 1
    assert split_markdown(plan) == [whole]
