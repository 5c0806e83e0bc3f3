"""Variables, targets and references that stand for whole values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.load import load_path
from reconciler.variables import LoadOptions
from tests.load.helpers import HEADER, Tree, load_ok, notebook, problem_lines

TENANT = f"""{HEADER}kind: Tenant
metadata:
  name: acme
spec:
  variables:
    oncall: {{type: list, default: [oncall@acme.example], description: Who is paged}}
    runs: {{type: number, default: 1}}
    run_if: {{default: ALL_SUCCESS}}
    cluster: {{type: object, default: {{spark_version: 15.4.x-scala2.12, num_workers: 1}}}}
    warehouse: {{default: wh-default}}
  targets:
    dev:
      variables: {{warehouse: wh-dev, runs: 3}}
      presets: {{name_prefix: dev-, pause_triggers: true, tags: {{env: dev}}}}
    prod:
      variables: {{warehouse: wh-prod}}
"""

JOB = f"""{HEADER}kind: Job
metadata:
  name: nightly
spec:
  max_concurrent_runs: ${{var.runs}}
  tasks:
    - task_key: load
      run_if: ${{var.run_if}}
      new_cluster: ${{var.cluster}}
      notebook_task:
        notebook_path: ${{notebooks.nb.path}}
        base_parameters:
          warehouse: "on ${{var.warehouse}}"
          day: "{{{{job.parameters.day}}}}"
  email_notifications:
    on_failure: ${{var.oncall}}
  schedule: {{cron: "0 0 2 * * ?"}}
  tags: {{team: data}}
"""


def _tree(tmp_path: Path, tenant: str = TENANT, job: str = JOB) -> Path:
    files = {"acme/tenant.yaml": tenant, "acme/nb.yaml": notebook("nb"), "acme/job.yaml": job}
    return Tree(files).write(tmp_path)


def _job(path: Path, **options: Any) -> tuple[str, dict[str, Any]]:
    [tenant] = (
        load_path(path, LoadOptions(**options)) if options else load_ok(path)
    )  # fmt: skip
    [job] = [r for k, r in tenant.resources.items() if k.kind == "Job"]
    return job.identity, dict(job.spec)


def test_whole_references_stand_for_lists_objects_numbers_and_enums(tmp_path: Path) -> None:
    name, spec = _job(_tree(tmp_path))
    assert name == "nightly"
    assert spec["max_concurrent_runs"] == 1
    assert spec["email_notifications"]["on_failure"] == ["oncall@acme.example"]
    task = spec["tasks"]["load"]
    assert task["run_if"] == "ALL_SUCCESS"
    assert task["new_cluster"] == {"spark_version": "15.4.x-scala2.12", "num_workers": 1}
    assert task["notebook_task"]["base_parameters"] == {
        "warehouse": "on wh-default",
        "day": "{{job.parameters.day}}",
    }, "embedded values become text; Databricks' run-time templates pass through"


def test_a_target_sets_values_and_presets(tmp_path: Path) -> None:
    name, spec = _job(_tree(tmp_path), target_env="dev", environ={})
    assert name == "dev-nightly"
    assert spec["max_concurrent_runs"] == 3
    assert spec["schedule"]["pause_status"] == "PAUSED"
    assert spec["tags"] == {"env": "dev", "team": "data"}
    assert spec["tasks"]["load"]["notebook_task"]["base_parameters"]["warehouse"] == "on wh-dev"
    name, spec = _job(tmp_path, target_env="prod", environ={})
    assert (name, spec["schedule"]["pause_status"]) == ("nightly", "UNPAUSED")


def test_var_beats_the_environment_which_beats_the_target(tmp_path: Path) -> None:
    path = _tree(tmp_path)
    env = {"RECONCILER_VAR_runs": "5", "RECONCILER_VAR_oncall": "[a@x.example, b@x.example]"}
    _, spec = _job(path, target_env="dev", environ=env)
    assert spec["max_concurrent_runs"] == 5
    assert spec["email_notifications"]["on_failure"] == ["a@x.example", "b@x.example"]
    _, spec = _job(path, target_env="dev", environ=env, variables={"runs": "7"})
    assert spec["max_concurrent_runs"] == 7


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("wrong-type-after-resolution", {"variables": {"oncall": "[nobody]"}}, "acme/job.yaml:17:17", "'nobody' is not an email address"),
    ("number-not-a-number", {"variables": {"runs": "many"}}, "acme/tenant.yaml:", "--var runs: expected a number"),
    ("unknown-var-option", {"variables": {"run": "2"}}, ".:1:1", "no tenant declares `run`; did you mean `runs`?"),
    ("unknown-target", {"target_env": "staging"}, "acme/tenant.yaml:", "no target `staging`"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "where", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_values_are_errors_at_their_line(
    tmp_path: Path, options: dict[str, Any], where: str, message: str
) -> None:
    path = _tree(tmp_path)
    from reconciler.errors import SpecError

    with pytest.raises(SpecError) as caught:
        load_path(path, LoadOptions(environ={}, **options))
    lines = caught.value.lines()
    assert any(line.startswith(where) and message in line for line in lines), lines


def test_an_unknown_variable_is_an_error_with_a_hint(tmp_path: Path) -> None:
    path = _tree(tmp_path, job=JOB.replace("${var.runs}", "${var.rnus}"))
    [line] = problem_lines(path)
    assert line.startswith("acme/job.yaml:6:")
    assert "unknown variable `rnus`" in line and "did you mean `runs`?" in line


def test_a_variable_without_a_value_says_how_to_give_one(tmp_path: Path) -> None:
    tenant = TENANT.replace("warehouse: {default: wh-default}", "warehouse: {}")
    lines = problem_lines(_tree(tmp_path, tenant=tenant))
    assert any("variable `warehouse` has no value" in line for line in lines), lines


def test_a_hostile_value_is_data_not_a_reference(tmp_path: Path, monkeypatch) -> None:
    """A value given from outside is never resolved again: no secret, no other object."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:hunter2@db/state")
    path = _tree(tmp_path)
    value = "${secret:DATABASE_URL} ${notebooks.nb.path}"
    _, spec = _job(path, environ={}, variables={"warehouse": value})
    parameters = spec["tasks"]["load"]["notebook_task"]["base_parameters"]
    assert parameters["warehouse"] == f"on {value}"
    assert "hunter2" not in str(spec)
