"""The action commands end to end: the real CLI against the emulator over HTTP.

A two-task job run with ``--wait`` exits 0 and shows both tasks; one told to
fail exits 1 naming the failing task; ``runs`` lists both runs; each
``--format json`` answer is valid JSON.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FAST = {"pending": 0.05, "task": 0.1, "retry": 0.05, "terminating": 0.05}

TWO_TASKS = """\
apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: two-step
spec:
  tasks:
    - key: extract
      notebook: ${notebooks.ingest-sales.path}
    - key: publish
      notebook: ${notebooks.daily-report.path}
      depends_on: [extract]
"""


def _apply_with_two_task_job(world: World) -> None:
    (world.specs / "acme" / "two-step.yaml").write_text(TWO_TASKS)
    result = world.run("apply", str(world.specs), "--auto-approve")
    assert result.code == 0, result.out + result.err


def _pace(world: World, fail: list[str]) -> None:
    response = world.api.post(
        world.emulator_url + "/_emulator/runs", json={"pace": FAST, "fail_tasks": fail}
    )
    response.raise_for_status()


def test_run_job_wait_success_then_failure_and_runs_lists_both(world: World) -> None:
    _apply_with_two_task_job(world)
    _pace(world, [])
    ok = world.run("run", "job", "two-step", "--tenant", "acme", "--wait")
    assert ok.code == 0, ok.out + ok.err
    assert "extract" in ok.out and "publish" in ok.out
    assert "SUCCESS" in ok.out

    _pace(world, ["publish"])
    failed = world.run("run", "job", "two-step", "--tenant", "acme", "--wait")
    assert failed.code == 1, failed.out + failed.err
    assert "publish" in failed.out + failed.err
    assert "FAILED" in failed.out + failed.err

    listed = world.run("runs", "two-step", "--tenant", "acme", "--format", "json")
    assert listed.code == 0, listed.err
    doc = listed.json()
    runs = doc["runs"] if isinstance(doc, dict) else doc
    assert len(runs) == 2

    _pace(world, [])
    as_json = world.run("run", "job", "two-step", "--tenant", "acme", "--wait", "--format", "json")
    assert as_json.code == 0, as_json.err
    assert as_json.json()["exit_code"] == 0


def test_query_prints_a_table_and_valid_json_and_refuses_writes(world: World) -> None:
    _apply_with_two_task_job(world)
    table = world.run("query", "sales", "--tenant", "acme", "--limit", "3")
    assert table.code == 0, table.out + table.err
    assert "order_id" in table.out and "row" in table.out
    as_json = world.run("query", "sales", "--tenant", "acme", "--limit", "3", "--format", "json")
    assert as_json.code == 0, as_json.err
    assert as_json.json()
    hostile = world.run("query", "sales", "--tenant", "acme", "--sql", "DROP TABLE sales")
    assert hostile.code != 0
    assert "Traceback" not in hostile.err


def test_invoke_and_search_print_answers_and_valid_json(world: World) -> None:
    _apply_with_two_task_job(world)
    answer = world.run(
        "invoke", "acme-support-agent", "--tenant", "acme", "--input", '{"inputs": ["hello"]}'
    )
    assert answer.code == 0, answer.out + answer.err
    assert answer.out.strip()
    as_json = world.run(
        "invoke",
        "acme-support-agent",
        "--tenant",
        "acme",
        "--input",
        '{"inputs": ["hi"]}',
        "--format",
        "json",
    )
    assert as_json.code == 0, as_json.err
    assert as_json.json()
    found = world.run("search", "docs-index", "--tenant", "acme", "--text", "refund", "--k", "2")
    assert found.code == 0, found.out + found.err
    assert found.out.strip()


UMBRELLA = """\
apiVersion: agentprovision.ai/v1
kind: Tenant
metadata:
  name: umbrella
spec:
  tenantId: umb-eu-1
  catalog: umbrella_corp
---
apiVersion: agentprovision.ai/v1
kind: Dataset
metadata:
  name: orders
spec:
  schema: shop
  columns:
    - {name: id, type: bigint, nullable: false}
    - {name: item, type: string}
  source:
    path: orders.csv
"""


def test_actions_use_the_tenant_id_the_state_recorded_not_a_guess(world: World) -> None:
    """A tenant whose tenantId is not its name and which has no notebook to tell it."""
    folder = world.specs.parent / "umbrella"
    folder.mkdir()
    (folder / "tenant.yaml").write_text(UMBRELLA)
    (folder / "orders.csv").write_text("id,item\n1,umbrella\n2,raincoat\n")
    applied = world.run("apply", str(folder), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    found = world.run("query", "orders", "--tenant", "umbrella", "--format", "json")
    assert found.code == 0, found.out + found.err
    assert [r["item"] for r in found.json()["rows"]] == ["umbrella", "raincoat"]
