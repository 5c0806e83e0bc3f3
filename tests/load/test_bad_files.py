"""Spec inputs that once crashed or hung the loader: deep nesting and non-regular files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.load.helpers import problem_lines, tenant


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "tenant.yaml").write_text(tenant())
    return tmp_path


def test_deep_nesting_is_a_clear_error_with_line(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "acme" / "deep.yaml").write_text("kind: Job\nx: " + "{a: " * 450 + "1" + "}" * 450)
    lines = problem_lines(root)
    assert any(
        line.startswith("acme/deep.yaml:2:") and "nested more than 100 levels" in line
        for line in lines
    ), lines
    assert not any("RecursionError" in line for line in lines)


def test_fifo_named_yaml_is_refused_without_hanging(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "acme" / "x.yaml")
    lines = problem_lines(root)
    assert any(line.startswith("acme/x.yaml:1:") and "not a regular file" in line for line in lines)


def _dataset(source: str) -> str:
    return (
        "apiVersion: agentprovision.ai/v1\nkind: Dataset\nmetadata: {name: sales}\nspec:\n"
        "  columns: [{name: a, type: int}]\n"
        f"  source: {{path: {source}, format: csv}}\n"
    )


def _special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("cannot create a device node here")
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_source_that_is_no_regular_file_is_named_not_read(tmp_path: Path, kind: str) -> None:
    root = _tree(tmp_path)
    _special(kind, root / "acme" / "rows.csv")
    (root / "acme" / "sales.yaml").write_text(_dataset("rows.csv"))
    lines = problem_lines(root)
    [line] = [line for line in lines if line.startswith("acme/sales.yaml:6:")]
    assert "spec.source.path" in line and "`rows.csv`" in line, lines
    assert "not found" not in line
    expected = "is a folder, not a file" if kind == "folder" else "not a regular file"
    assert expected in line, lines
