"""Values the connector cannot carry, and references left open, are errors with file:line."""

from __future__ import annotations

from pathlib import Path

from tests.load.helpers import HEADER, load_ok, notebook, problem_lines, tenant


def _job(spec: str) -> str:
    return f"{HEADER}kind: Job\nmetadata:\n  name: nightly\nspec:\n{spec}"


def _tree(tmp_path: Path, *docs: str) -> Path:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "tenant.yaml").write_text(tenant())
    (tmp_path / "acme" / "docs.yaml").write_text("---\n".join(docs))
    return tmp_path


def test_nul_in_a_workspace_path_is_refused_at_its_line(tmp_path: Path) -> None:
    doc = notebook("etl", extra='  path: "/Workspace/AgentProvision/acme/e\\0tl"\n')
    lines = problem_lines(_tree(tmp_path, doc))
    assert any(
        line.startswith("acme/docs.yaml:8:") and "spec.path" in line and "NUL" in line
        for line in lines
    ), lines


def test_nul_in_a_task_notebook_path_is_refused(tmp_path: Path) -> None:
    job = _job('  tasks:\n    - key: a\n      notebook: "/Workspace/x\\0y"\n')
    lines = problem_lines(_tree(tmp_path, job))
    assert any(
        line.startswith("acme/docs.yaml:8:") and "spec.tasks[0].notebook" in line and "NUL" in line
        for line in lines
    ), lines


def test_an_integer_beyond_int64_is_refused_at_its_line(tmp_path: Path) -> None:
    job = _job(
        "  max_concurrent_runs: 9223372036854775808\n"
        "  tasks:\n    - key: a\n      notebook: /Workspace/x\n"
    )
    lines = problem_lines(_tree(tmp_path, job))
    assert any(
        line.startswith("acme/docs.yaml:6:")
        and "spec.max_concurrent_runs" in line
        and "64-bit" in line
        for line in lines
    ), lines


def test_an_integer_beyond_int64_from_a_variable_is_refused(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        _job(
            "  max_concurrent_runs: ${var.runs}\n"
            "  tasks:\n    - key: a\n      notebook: /Workspace/x\n"
        ),
    )
    spec = "{variables: {runs: {default: -9223372036854775809}}}"
    (root / "acme" / "tenant.yaml").write_text(tenant(spec=spec))
    lines = problem_lines(root)
    assert any("spec.max_concurrent_runs" in line and "64-bit" in line for line in lines), lines


def test_an_unterminated_reference_is_refused(tmp_path: Path) -> None:
    nb = notebook("etl")
    job = _job("  tasks:\n    - key: a\n      notebook: ${notebooks.etl.path\n")
    lines = problem_lines(_tree(tmp_path, nb, job))
    assert any(
        line.startswith("acme/docs.yaml:16:")
        and "unterminated reference `${notebooks.etl.path`" in line
        for line in lines
    ), lines


def test_an_unterminated_opening_inside_text_is_refused(tmp_path: Path) -> None:
    job = _job(
        "  description: 'reads ${ and more'\n  tasks:\n    - key: a\n      notebook: /Workspace/AgentProvision/acme/x\n"
    )
    lines = problem_lines(_tree(tmp_path, job))
    assert any("spec.description" in line and "unterminated reference" in line for line in lines), (
        lines
    )
    literal = _job(
        "  description: 'costs $${ nothing'\n  tasks:\n    - key: a\n      notebook: /Workspace/AgentProvision/acme/x\n"
    )
    (tmp_path / "acme" / "docs.yaml").write_text(literal)
    load_ok(tmp_path)


def test_a_lone_surrogate_escape_is_refused_at_its_line(tmp_path: Path) -> None:
    doc = notebook("etl").replace("content: 'print(1)'", 'content: "\\ud83d\\ude00"')
    lines = problem_lines(_tree(tmp_path, doc))
    assert any(
        line.startswith("acme/docs.yaml:7:") and "spec.content" in line and "surrogate" in line
        for line in lines
    ), lines
