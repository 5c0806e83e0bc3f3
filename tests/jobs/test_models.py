"""The Job spec is the SDK's JobSettings: generated from it, current with it, strict."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from reconciler.kinds import KINDS
from reconciler.kinds.job_form import canonical
from tests.load.helpers import HEADER, Tree, load_ok, notebook, problem_lines, tenant

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "reconciler" / "kinds" / "job_settings.json"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate_job_settings", ROOT / "scripts" / "generate_job_settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_matches_the_installed_sdk() -> None:
    generator = _generator()
    assert json.loads(TABLE.read_text()) == generator.generate(), (
        "reconciler/kinds/job_settings.json is stale: run "
        "`.venv/bin/python scripts/generate_job_settings.py` and commit the result"
    )


def test_every_job_settings_field_of_the_sdk_is_a_spec_field() -> None:
    import dataclasses

    from databricks.sdk.service.jobs import JobSettings, Task

    spec_fields = set(KINDS["Job"].spec_model.model_fields)
    assert {f.name for f in dataclasses.fields(JobSettings)} - spec_fields == {"name"}
    task_model = KINDS["Job"].spec_model.model_fields["tasks"].annotation.__args__[0]
    assert {f.name for f in dataclasses.fields(Task)} <= set(task_model.model_fields)


def _job(spec: str) -> str:
    return f"{HEADER}kind: Job\nmetadata:\n  name: j\nspec:\n{spec}"


TASK = "  tasks:\n    - task_key: a\n      notebook_task: {notebook_path: '${notebooks.nb.path}'}\n"

BAD: list[tuple[str, str, str]] = [
    ("typo-in-task", TASK + "      max_retrys: 2\n", "t/job.yaml:9:7: spec.tasks[0].max_retrys: unknown field `max_retrys`; did you mean `max_retries`?"),
    ("typo-nested", "  tasks:\n    - task_key: a\n      sql_task: {warehouse_id: w, qeury: {query_id: q}}\n", "spec.tasks[0].sql_task.qeury: unknown field `qeury`; did you mean `query`?"),
    ("typo-in-job", TASK + "  max_concurent_runs: 2\n", "did you mean `max_concurrent_runs`?"),
    ("bad-enum", TASK + "      run_if: ALL_SUCESS\n", "did you mean `ALL_SUCCESS`?"),
    ("two-task-types", TASK + "      spark_python_task: {python_file: x.py}\n", "exactly one task type"),
    ("undefined-cluster", TASK + "      job_cluster_key: big\n", "job_cluster_key 'big'"),
    ("undefined-environment", TASK + "      environment_key: default\n", "environment_key 'default'"),
    ("unknown-dependency", TASK + "      depends_on: [{task_key: b}]\n", "not a task of this job"),
    ("shorthand-and-long", TASK + "  schedule: {cron: '0 0 1 * * ?', quartz_cron_expression: '0 0 1 * * ?'}\n", "not both"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_jobs_are_errors_at_their_line(tmp_path: Path, spec: str, expected: str) -> None:
    Tree({"t/tenant.yaml": tenant(), "t/nb.yaml": notebook("nb"), "t/job.yaml": _job(spec)}).write(
        tmp_path
    )
    lines = problem_lines(tmp_path)
    assert any(expected in line and line.startswith("t/job.yaml:") for line in lines), lines


def test_shorthands_mean_exactly_their_long_forms(tmp_path: Path) -> None:
    short = (
        "  tasks:\n    - key: a\n      notebook: /Workspace/AgentProvision/t/x\n      parameters: {d: '1'}\n"
        "    - key: b\n      notebook: /Workspace/AgentProvision/t/y\n      depends_on: [a]\n"
        "  schedule: {cron: '0 0 1 * * ?', timezone: Europe/Berlin, paused: true}\n"
    )
    long = (
        "  tasks:\n    - task_key: a\n      notebook_task:\n        notebook_path: /Workspace/AgentProvision/t/x\n"
        "        base_parameters: {d: '1'}\n"
        "    - task_key: b\n      notebook_task: {notebook_path: /Workspace/AgentProvision/t/y}\n"
        "      depends_on: [{task_key: a}]\n"
        "  schedule: {quartz_cron_expression: '0 0 1 * * ?', timezone_id: Europe/Berlin,"
        " pause_status: PAUSED}\n"
    )
    specs = []
    for name, body in (("short", short), ("long", long)):
        Tree({f"{name}/tenant.yaml": tenant("t"), f"{name}/job.yaml": _job(body)}).write(tmp_path)
        [loaded] = load_ok(tmp_path / name)
        specs.append(next(r.spec for k, r in loaded.resources.items() if k.kind == "Job"))
    assert specs[0] == specs[1]


def test_reordered_lists_have_one_canonical_form() -> None:
    settings = {
        "tasks": [
            {"task_key": "a", "notebook_task": {"notebook_path": "/x"}},
            {"task_key": "b", "depends_on": [{"task_key": "a"}, {"task_key": "c"}],
             "notebook_task": {"notebook_path": "/x"}},
            {"task_key": "c", "notebook_task": {"notebook_path": "/x"}},
        ],
        "job_clusters": [{"job_cluster_key": "x", "new_cluster": {"num_workers": 1}},
                         {"job_cluster_key": "y", "new_cluster": {"num_workers": 2}}],
        "parameters": [{"name": "p", "default": "1"}, {"name": "q", "default": ""}],
    }  # fmt: skip
    reordered = {k: list(reversed(v)) for k, v in settings.items()}
    reordered["tasks"][1] = {
        **reordered["tasks"][1],
        "depends_on": [{"task_key": "c"}, {"task_key": "a"}],
    }
    assert canonical(settings) == canonical(reordered)
    assert canonical(settings)["parameters"] == {"p": {"default": "1"}, "q": {"default": ""}}


def test_ignore_changes_may_name_a_job_field_the_document_leaves_out(tmp_path: Path) -> None:
    """Tags another tool sets are ignored even though the document writes none."""
    job = _job(TASK) + "lifecycle: {ignore_changes: [tags, trigger]}\n"
    Tree({"t/tenant.yaml": tenant(), "t/nb.yaml": notebook("nb"), "t/job.yaml": job}).write(
        tmp_path
    )
    [loaded] = load_ok(tmp_path)
    [job_resource] = [r for k, r in loaded.resources.items() if k.kind == "Job"]
    assert job_resource.lifecycle["ignore_changes"] == ["tags", "trigger"]
    bad = _job(TASK) + "lifecycle: {ignore_changes: [tagz]}\n"
    (tmp_path / "t/job.yaml").write_text(bad)
    assert any("`tagz` is not a field of this Job" in line for line in problem_lines(tmp_path))
