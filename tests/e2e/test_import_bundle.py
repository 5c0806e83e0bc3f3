"""``import bundle``: a bundle written here becomes documents that apply and plan empty."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

DATABRICKS_YML = """\
bundle: {name: sales}
include:
  - resources/*.yml
variables:
  warehouse: {default: wh-prod, description: SQL warehouse}
  oncall: {default: oncall@acme.example}
targets:
  dev:
    default: true
    variables: {warehouse: wh-dev}
    resources:
      jobs:
        dev_smoke:
          tasks:
            - task_key: smoke
              notebook_task: {notebook_path: ./src/ingest.py}
  prod:
    variables: {warehouse: wh-prod}
"""

JOBS_YML = """\
x-defaults: &defaults
  max_concurrent_runs: 1
  email_notifications: {on_failure: ["${var.oncall}"]}
resources:
  jobs:
    nightly_sales:
      <<: *defaults
      name: nightly sales ${bundle.target}
      tags: {target: "${bundle.target}"}
      tasks:
        - task_key: ingest
          notebook_task: {notebook_path: ../src/ingest.py, base_parameters: {day: "{{job.start_time.iso_date}}"}}
        - task_key: marts
          depends_on: [{task_key: ingest}]
          sql_task: {warehouse_id: "${var.warehouse}", query: {query_id: q-1}}
        - task_key: refresh
          depends_on: [{task_key: marts}]
          pipeline_task: {pipeline_id: "${resources.pipelines.sales_dlt.id}"}
    weekly_rollup:
      tags: {after: "job ${resources.jobs.nightly_sales.id}"}
      tasks:
        - task_key: run_nightly
          run_job_task: {job_id: "${resources.jobs.nightly_sales.id}"}
  pipelines:
    sales_dlt: {name: sales-dlt}
"""


def _bundle(root: Path, **overrides: str) -> Path:
    files = {
        "databricks.yml": DATABRICKS_YML,
        "resources/jobs.yml": JOBS_YML,
        "src/ingest.py": "# Databricks notebook source\nprint('ingest')\n",
        **overrides,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def test_a_bundle_imports_applies_and_plans_empty(world: World, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "bundle")
    out = tmp_path / "acme-imported"
    result = world.run("import", "bundle", str(bundle), "--tenant", "bundled", "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "jobs/dev-smoke.yaml",
        "jobs/nightly-sales.yaml",
        "jobs/weekly-rollup.yaml",
        "notebooks/ingest.py",
        "notebooks/ingest.yaml",
        "tenant.yaml",
    ]
    assert "pipelines `sales_dlt` skipped" in result.err
    assert "resources/jobs.yml:" in result.err and "kept as a literal string" in result.err
    assert world.run("validate", str(out)).code == 0

    applied = world.run("apply", str(out), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert world.changes(out) == []
    jobs = world.api.get("/jobs", params={"tenant_id": "bundled"}).json()["jobs"]
    settings = {j["settings"]["name"]: j["settings"] for j in jobs}
    ids = {j["settings"]["name"]: j["job_id"] for j in jobs}
    nightly = settings["nightly-sales"]
    assert nightly["tags"] == {"target": "dev"}
    assert nightly["email_notifications"] == {"on_failure": ["oncall@acme.example"]}
    [marts] = [t for t in nightly["tasks"] if t["task_key"] == "marts"]
    assert marts["sql_task"]["warehouse_id"] == "wh-dev", "the target's variable value"
    [refresh] = [t for t in nightly["tasks"] if t["task_key"] == "refresh"]
    assert refresh["pipeline_task"]["pipeline_id"] == "${resources.pipelines.sales_dlt.id}"
    [ingest] = [t for t in nightly["tasks"] if t["task_key"] == "ingest"]
    assert ingest["notebook_task"]["notebook_path"].endswith("/ingest")
    rollup, nightly_id = settings["weekly-rollup"], ids["nightly-sales"]
    assert rollup["tasks"][0]["run_job_task"]["job_id"] == nightly_id, "a cross-job reference"
    assert rollup["tags"] == {"after": f"job {nightly_id}"}
    [smoke] = settings["dev-smoke"]["tasks"]
    assert smoke["notebook_task"]["notebook_path"] == ingest["notebook_task"]["notebook_path"]


BAD: list[tuple[str, dict[str, str], str]] = [
    ("broken-yaml", {"resources/jobs.yml": "resources:\n  jobs: [unclosed\n"}, "resources/jobs.yml:3: invalid YAML"),
    ("include-matches-nothing", {"databricks.yml": DATABRICKS_YML.replace("resources/*.yml", "conf/*.yml")}, "databricks.yml:3: include `conf/*.yml` matches no file"),
    ("undefined-variable", {"resources/jobs.yml": JOBS_YML.replace("${var.warehouse}", "${var.warehouse_id}")}, "resources/jobs.yml:15: undefined variable `var.warehouse_id`"),
    ("unknown-task-type", {"resources/jobs.yml": JOBS_YML.replace("sql_task:", "sequel_task:")}, "resources/jobs.yml:15: job `nightly_sales` tasks.1.sequel_task: Extra inputs"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_bundles_exit_1_at_their_line_and_write_nothing(
    world: World, tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    bundle = _bundle(tmp_path / "bundle", **files)
    out = tmp_path / "out"
    result = world.run("import", "bundle", str(bundle), "--tenant", "b", "--out", str(out))
    assert result.code == 1
    assert expected in result.err, result.err
    assert not out.exists()


def test_a_hostile_bundle_cannot_copy_files_from_outside_it(world: World, tmp_path: Path) -> None:
    escape = JOBS_YML.replace("../src/ingest.py", "../../../../../../etc/hostname")
    bundle = _bundle(tmp_path / "bundle", **{"resources/jobs.yml": escape})
    out = tmp_path / "out"
    result = world.run("import", "bundle", str(bundle), "--tenant", "b", "--out", str(out))
    assert result.code == 0, result.err
    assert "is not in the bundle; kept" in result.err
    assert not (out / "notebooks" / "hostname").exists()
    assert sorted(p.name for p in (out / "notebooks").glob("*")) == ["ingest.py", "ingest.yaml"]
