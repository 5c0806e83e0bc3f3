"""A saved plan keeps the target and variable values it was made with; apply uses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import World
from tests.support.secret_fixtures import PutSecret

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SECRET = "s3cret-token-value"

TENANT = """apiVersion: agentprovision.ai/v1
kind: Tenant
metadata: {name: vars}
spec:
  variables:
    runs: {type: number, default: 1}
    warehouse: {default: wh-default}
    note: {default: none}
    token: {default: no-token}
  targets:
    dev:
      variables: {warehouse: wh-dev}
      presets: {name_prefix: dev-}
---
apiVersion: agentprovision.ai/v1
kind: Notebook
metadata: {name: nb}
spec: {language: python, content: "print(1)"}
---
apiVersion: agentprovision.ai/v1
kind: Job
metadata: {name: nightly}
spec:
  max_concurrent_runs: ${var.runs}
  tasks:
    - task_key: load
      notebook_task:
        notebook_path: ${notebooks.nb.path}
        base_parameters:
          warehouse: ${var.warehouse}
          note: ${var.note}
          token: ${var.token}
          key: ${secret:API_KEY}
"""


def _folder(tmp_path: Path, put_secret: PutSecret) -> Path:
    put_secret("vars", "API_KEY", "api-key-" + SECRET)
    folder = tmp_path / "vars"
    folder.mkdir()
    (folder / "all.yaml").write_text(TENANT)
    return folder


def _saved_document(
    world: World, tmp_path: Path, put_secret: PutSecret, *planned: str
) -> tuple[Path, dict[str, Any]]:
    """A plan of the folder saved to plan.json, and the file's JSON document."""
    folder, saved = _folder(tmp_path, put_secret), tmp_path / "plan.json"
    assert world.run("plan", str(folder), *planned, "--out", str(saved)).code == 0
    document: dict[str, Any] = json.loads(saved.read_text())
    return saved, document


def _job(world: World) -> dict[str, Any]:
    [job] = world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"]
    settings: dict[str, Any] = job["settings"]
    return settings


def test_apply_of_a_saved_plan_uses_its_target_and_variables(
    world: World, tmp_path: Path, put_secret: PutSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, saved = _folder(tmp_path, put_secret), tmp_path / "plan.json"
    monkeypatch.setenv("RECONCILER_VAR_note", "from-env")
    monkeypatch.setenv("RECONCILER_VAR_deploy_token", "ci-" + SECRET)  # no tenant uses it
    made = world.run(
        "plan", str(folder), "--target-env", "dev", "--var", "runs=3", "--out", str(saved)
    )
    assert made.code == 0, made.err
    text = saved.read_text()
    assert SECRET not in text  # an environment value no tenant uses is kept as a digest only
    inputs = json.loads(text)["inputs"]
    assert inputs["target_env"] == "dev" and inputs["variables"] == {"runs": {"value": "3"}}
    assert set(inputs["environment"]["note"]) == set(inputs["environment"]["deploy_token"])
    assert set(inputs["environment"]["note"]) == {"sha256"}

    monkeypatch.setenv("RECONCILER_VAR_note", "changed-since")
    refused = world.run("apply", str(saved), "--auto-approve")
    assert refused.code == 1 and "RECONCILER_VAR_note" in refused.err, refused.err
    assert world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"] == []

    monkeypatch.setenv("RECONCILER_VAR_note", "from-env")
    applied = world.run("apply", str(saved), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    settings = _job(world)
    assert settings["name"] == "dev-nightly" and settings["max_concurrent_runs"] == 3
    params = settings["tasks"][0]["notebook_task"]["base_parameters"]
    assert (params["warehouse"], params["note"]) == ("wh-dev", "from-env")
    assert params["key"] == "api-key-" + SECRET
    monkeypatch.setenv("RECONCILER_VAR_note", "from-env")
    again = world.run("plan", str(folder), "--target-env", "dev", "--var", "runs=3")
    assert again.code == 0 and "No changes" in again.out, again.out


@pytest.mark.parametrize(
    "extra",
    [("--target-env", "prod"), ("--var", "runs=4"), ("--var", "warehouse=x")],
)
def test_apply_of_a_saved_plan_refuses_another_target_or_variable(
    world: World, tmp_path: Path, put_secret: PutSecret, extra: tuple[str, str]
) -> None:
    folder, saved = _folder(tmp_path, put_secret), tmp_path / "plan.json"
    made = world.run(
        "plan", str(folder), "--target-env", "dev", "--var", "runs=3", "--out", str(saved)
    )
    assert made.code == 0, made.err
    refused = world.run("apply", str(saved), "--auto-approve", *extra)
    assert refused.code == 1
    [line] = refused.err.strip().splitlines()
    assert f"{saved} was planned with" in line and "Traceback" not in line, line
    assert world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"] == []
    same = world.run(
        "apply", str(saved), "--auto-approve", "--target-env", "dev", "--var", "runs=3"
    )
    assert same.code == 0, same.out + same.err


def test_a_variable_holding_a_secret_is_not_written_to_the_plan_file(
    world: World, tmp_path: Path, put_secret: PutSecret
) -> None:
    folder, saved = _folder(tmp_path, put_secret), tmp_path / "plan.json"
    put_secret("vars", "TOKEN", SECRET)
    (folder / "all.yaml").write_text(TENANT + "          also: ${secret:TOKEN}\n")
    made = world.run("plan", str(folder), "--var", f"token={SECRET}", "--out", str(saved))
    assert made.code == 0, made.err
    text = saved.read_text()
    assert SECRET not in text and "sha256" in json.dumps(json.loads(text)["inputs"])

    refused = world.run("apply", str(saved), "--auto-approve")
    assert refused.code == 1 and "keeps only the digest" in refused.err
    assert SECRET not in refused.err
    applied = world.run("apply", str(saved), "--auto-approve", "--var", f"token={SECRET}")
    assert applied.code == 0, applied.out + applied.err
    params = _job(world)["tasks"][0]["notebook_task"]["base_parameters"]
    assert params["token"] == SECRET == params["also"]


@pytest.mark.parametrize(
    "inputs", [{"target_env": 3}, {"variables": {"runs": "3"}}, [], {"environment": None}]
)
def test_a_plan_file_with_malformed_inputs_is_refused_in_one_line(
    world: World, tmp_path: Path, put_secret: PutSecret, inputs: Any
) -> None:
    saved, document = _saved_document(world, tmp_path, put_secret)
    good = document["inputs"]
    document["inputs"] = {**good, **inputs} if isinstance(inputs, dict) else inputs
    saved.write_text(json.dumps(document))
    refused = world.run("apply", str(saved), "--auto-approve")
    assert refused.code == 1
    [line] = refused.err.strip().splitlines()
    assert "malformed" in line and "internal error" not in line, line
    assert world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"] == []


@pytest.mark.parametrize("kept", [True, False], ids=["with-inputs", "before-inputs"])
def test_a_new_plan_file_is_version_2_and_a_version_1_file_applies_as_before(
    world: World, tmp_path: Path, put_secret: PutSecret, kept: bool
) -> None:
    """Version 2 says the file keeps its ``inputs``; a version 1 file is applied as it was,
    with the ``inputs`` it holds, or (written before plans kept them) with the apply's own."""
    planned = ("--target-env", "dev", "--var", "runs=3") if kept else ()
    saved, document = _saved_document(world, tmp_path, put_secret, *planned)
    assert document["version"] == 2
    document["version"] = 1
    if not kept:
        del document["inputs"]
    saved.write_text(json.dumps(document))

    applied = world.run("apply", str(saved), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    settings = _job(world)
    expected = ("dev-nightly", 3) if kept else ("nightly", 1)
    assert (settings["name"], settings["max_concurrent_runs"]) == expected


@pytest.mark.parametrize("version", [3, 0, "2", True, None])
def test_a_plan_file_of_a_version_this_reconciler_does_not_know_is_refused_in_one_line(
    world: World, tmp_path: Path, put_secret: PutSecret, version: Any
) -> None:
    saved, document = _saved_document(world, tmp_path, put_secret)
    if version is None:
        del document["version"]
    else:
        document["version"] = version
    saved.write_text(json.dumps(document))
    refused = world.run("apply", str(saved), "--auto-approve")
    assert refused.code == 1
    [line] = refused.err.strip().splitlines()
    shown = "no version" if version is None else f"version {json.dumps(version)}"
    assert f"{saved} is a plan file of {shown}" in line, line
    assert "applies versions 1 and 2" in line and "re-run plan with this reconciler" in line, line
    assert world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"] == []


@pytest.mark.parametrize(
    "damage",
    ["no-options", "extra-key-in-a-change", "tenants-a-list", "version-2-without-inputs"],
)
def test_a_damaged_plan_file_is_refused_in_one_line_and_changes_nothing(
    world: World, tmp_path: Path, put_secret: PutSecret, damage: str
) -> None:
    saved, document = _saved_document(world, tmp_path, put_secret)
    if damage == "no-options":
        del document["options"]
    elif damage == "extra-key-in-a-change":
        for tenant in document["tenants"].values():
            for change in tenant["changes"].values():
                change["surprise"] = 1
    elif damage == "tenants-a-list":
        document["tenants"] = []
    else:
        del document["inputs"]
    saved.write_text(json.dumps(document))
    refused = world.run("apply", str(saved), "--auto-approve")
    assert refused.code == 1
    [line] = refused.err.strip().splitlines()
    assert "malformed" in line and "internal error" not in line, line
    assert world.api.get("/jobs", params={"tenant_id": "vars"}).json()["jobs"] == []
