"""``${resources.jobs.x.id}``: the remote id of another job, filled in at apply and plan time.

The example tenant ``acme`` gets two jobs: ``child`` and ``parent``, whose
``run_job_task`` runs the child by id (and whose tag quotes the id inside a
longer string). Both are created by one apply against the real emulator: the
parent must reach the connector with the child's real ``job_id``, and the next
plan (which fills the id from the state) must be empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)

JOBS = """apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: parent
spec:
  tasks:
    - task_key: run_child
      run_job_task:
        job_id: ${resources.jobs.child.id}
  tags:
    runs: "job ${resources.jobs.child.id}"
---
apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: child
spec:
  tasks:
    - key: load
      notebook: ${notebooks.ingest-sales.path}
"""


def _jobs(world: World) -> dict[str, dict[str, Any]]:
    page = world.api.get("/jobs", params={"tenant_id": "acme", "limit": 100}).json()
    return {j["settings"]["name"]: j for j in page["jobs"]}


def test_a_job_id_reference_is_filled_when_both_jobs_are_created_in_one_apply(
    world: World,
) -> None:
    (world.specs / "acme" / "chained.yaml").write_text(JOBS)
    assert world.run("validate", str(world.specs)).code == 0
    [planned] = [c for c in world.changes() if c["address"].endswith("Job/parent")]
    assert planned["action"] == "create"

    applied = world.run("apply", str(world.specs), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    jobs = _jobs(world)
    child_id = jobs["child"]["job_id"]
    [task] = jobs["parent"]["settings"]["tasks"]
    assert task["run_job_task"]["job_id"] == child_id
    assert jobs["parent"]["settings"]["tags"]["runs"] == f"job {child_id}"
    assert world.changes() == [], "the next plan fills the id from the state: no change"


def test_a_reference_to_a_missing_job_is_a_load_error_naming_it(
    world: World, tmp_path: Path
) -> None:
    (world.specs / "acme" / "chained.yaml").write_text(JOBS.replace("jobs.child.id", "jobs.kid.id"))
    result = world.run("validate", str(world.specs))
    assert result.code == 1
    text = result.out + result.err
    assert "chained.yaml:9:" in text and "`${resources.jobs.kid.id}`" in text, text
    assert "has no Job `kid`" in text and "Traceback" not in text


def test_an_escaped_reference_stays_literal_text_never_an_id(world: World) -> None:
    """`$${resources.jobs.child.id}` is the text `${resources.jobs.child.id}`, also when the
    child's id is known and when the same string holds a real reference to it."""
    escaped = (
        JOBS.replace('runs: "job ${resources.jobs.child.id}"',
                     'runs: "job ${resources.jobs.child.id} not $${resources.jobs.child.id}"\n'
                     '    literal: "$${resources.jobs.child.id}"')
    )  # fmt: skip
    assert "literal:" in escaped
    (world.specs / "acme" / "chained.yaml").write_text(escaped)
    applied = world.run("apply", str(world.specs), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    jobs = _jobs(world)
    child_id = jobs["child"]["job_id"]
    tags = jobs["parent"]["settings"]["tags"]
    assert tags["literal"] == "${resources.jobs.child.id}"
    assert tags["runs"] == f"job {child_id} not ${{resources.jobs.child.id}}"
    assert world.changes() == [], "the literal is compared as the literal it is"
