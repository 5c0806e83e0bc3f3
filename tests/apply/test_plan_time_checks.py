"""Checks that once failed at apply, after other steps ran, now stop the plan: nothing is sent."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator.server import RunningEmulator
from tests.apply.helpers import emulator_writes


def test_a_csv_header_that_does_not_match_is_refused_before_any_change(
    specs: Path, cli_env: str, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = specs / "acme" / "datasets.yaml"
    datasets.write_text(datasets.read_text().replace("{name: store,", "{name: shop,"))

    assert main(["apply", str(specs / "acme"), "--auto-approve"]) == 1

    err = capsys.readouterr().err
    assert "datasets.yaml:3:1: Dataset sales: line 1: the file's header" in err, err
    assert "lacks shop and adds store" in err
    assert emulator_writes(emulator) == 0


JOB = """apiVersion: agentprovision.ai/v1
kind: Job
metadata: {name: literal}
spec:
  tasks:
    - {key: run, notebook: /Workspace/AgentProvision/acme/hand-made}
"""


def test_a_task_on_a_notebook_that_exists_nowhere_is_refused_at_plan(
    specs: Path, cli_env: str, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    (specs / "acme" / "literal.yaml").write_text(JOB)

    assert main(["plan", str(specs / "acme")]) == 1
    err = capsys.readouterr().err
    assert "literal.yaml:1:1: Job literal: task `run` runs notebook " in err, err
    assert "`/Workspace/AgentProvision/acme/hand-made`, which is neither a Notebook" in err
    assert main(["apply", str(specs / "acme"), "--auto-approve"]) == 1
    assert emulator_writes(emulator) == 0

    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    made = httpx.post(
        emulator.url + "/agentprovision/v1/databricks/notebooks",
        headers=headers,
        json={
            "tenant_id": "acme",
            "name": "hand-made",
            "path": "/Workspace/AgentProvision/acme/hand-made",
            "language": "PYTHON",
            "content": "print(1)",
        },
    )
    assert made.status_code < 300, made.text
    capsys.readouterr()
    assert main(["plan", str(specs / "acme")]) == 0, capsys.readouterr().err
