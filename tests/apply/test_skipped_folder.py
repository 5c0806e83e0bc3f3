"""A folder replaced by a broken link does not plan the deletion of what it held."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.state import StateStore


def test_deletes_behind_a_skipped_folder_need_allow_missing(
    specs: Path, cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    globex = specs / "globex"
    assert main(["apply", str(globex), "--auto-approve"]) == 0
    with StateStore.open(cli_env) as store:
        before = {k.name for k in store.read_tenant("globex").resources}
    shutil.rmtree(globex / "pipelines")
    (globex / "pipelines").symlink_to("/nonexistent/pipelines", target_is_directory=True)
    capsys.readouterr()

    for command in ("plan", "apply"):
        extra = ["--auto-approve"] if command == "apply" else []
        code = main([command, str(globex), *extra])
        out, err = capsys.readouterr()
        assert code == 1, out + err
        assert "warning: pipelines: skipped: a link to `/nonexistent/pipelines`" in err, err
        assert (
            "the plan deletes or forgets resources whose documents may be in a skipped place" in err
        )
        assert "globex/Job/" in err and "--allow-missing" in err, err
    with StateStore.open(cli_env) as store:
        assert {k.name for k in store.read_tenant("globex").resources} == before

    assert main(["apply", str(globex), "--auto-approve", "--allow-missing"]) == 0
    with StateStore.open(cli_env) as store:
        assert {k.name for k in store.read_tenant("globex").resources} < before
