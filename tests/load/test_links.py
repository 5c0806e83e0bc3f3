"""Links in a tenant folder: followed inside it, an error when they leave it, a warning when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.load import load_tenants
from tests.load.helpers import load_ok, notebook, problem_lines, tenant


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    for name in ("acme", "globex"):
        (root / name).mkdir(parents=True)
        (root / name / "tenant.yaml").write_text(tenant(name))
    return root


def test_a_linked_file_outside_the_tenant_folder_is_an_error_naming_the_link(
    tmp_path: Path,
) -> None:
    root = _tree(tmp_path)
    (tmp_path / "elsewhere.yaml").write_text(notebook("stolen"))
    (root / "acme" / "nb.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    lines = problem_lines(root)
    assert any(
        line.startswith("acme/nb.yaml:1:1:") and "outside the tenant folder" in line
        for line in lines
    ), lines


def test_a_link_into_another_tenants_folder_is_an_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "globex" / "nb.yaml").write_text(notebook("theirs"))
    (root / "acme" / "nb.yaml").symlink_to("../globex/nb.yaml")
    lines = problem_lines(root)
    assert any(
        line.startswith("acme/nb.yaml:1:1:")
        and "globex/nb.yaml" in line
        and "outside the tenant folder `acme/`" in line
        for line in lines
    ), lines


def test_a_linked_folder_outside_is_an_error_naming_the_link(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "nb.yaml").write_text(notebook("shared"))
    (root / "acme" / "jobs").symlink_to(tmp_path / "shared", target_is_directory=True)
    lines = problem_lines(root)
    assert any(
        line.startswith("acme/jobs:1:1:") and "a link to a folder outside" in line for line in lines
    ), lines


def test_links_inside_the_tenant_folder_are_followed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    hidden = root / "acme" / ".release-1"  # hidden: reached only through the links below
    hidden.mkdir()
    (hidden / "nb.yaml").write_text(notebook("etl"))
    (root / "acme" / ".other.yaml").write_text(notebook("other"))
    (root / "acme" / "current").symlink_to(".release-1", target_is_directory=True)
    (root / "acme" / "other.yaml").symlink_to(".other.yaml")
    [acme, _] = load_ok(root)
    assert {k.name for k in acme.resources if k.kind == "Notebook"} == {"etl", "other"}
    assert acme.skipped == ()


def test_a_broken_link_and_a_loop_are_skipped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    (root / "acme" / "jobs").symlink_to("gone", target_is_directory=True)
    (root / "acme" / "again").symlink_to(".", target_is_directory=True)
    result = load_tenants(root)
    assert not result.failures
    assert [str(w) for w in result.warnings] == [
        "warning: acme/again: skipped: a link to a folder that is read already (a loop or a copy)",
        "warning: acme/jobs: skipped: a link to `gone`, which does not exist",
    ]
    acme = next(t for t in result.tenants if t.context.name == "acme")
    assert [s.path for s in acme.skipped] == ["acme/again", "acme/jobs"]

    assert main(["validate", str(root)]) == 0
    err = capsys.readouterr().err
    assert "warning: acme/jobs: skipped: a link to `gone`, which does not exist" in err
