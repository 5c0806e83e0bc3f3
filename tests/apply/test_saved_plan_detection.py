"""``apply FILE`` knows a saved plan by what it holds, whatever the file is called."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.state import StateStore


def test_a_saved_plan_named_p_plan_is_applied_as_a_plan(
    specs: Path, cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "p.plan"
    assert main(["plan", str(specs / "acme"), "--out", str(saved)]) == 0
    capsys.readouterr()

    code = main(["apply", str(saved), "--auto-approve"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Apply complete" in captured.out
    with StateStore.open(cli_env) as store:
        assert store.read_tenant("acme").resources, "the saved plan's resources were applied"
