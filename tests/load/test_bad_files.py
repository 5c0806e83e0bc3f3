"""Spec inputs that once crashed or hung the loader: deep nesting and non-regular files."""

from __future__ import annotations

import os
from pathlib import Path

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
