"""`load_tenants`: one outcome per tenant folder; a typo in one never stops the others."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.load import load_path, load_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "specs")
    return tmp_path / "specs"


def test_a_broken_member_document_fails_only_its_tenant(specs: Path) -> None:
    jobs = specs / "acme" / "jobs.yaml"
    jobs.write_text(jobs.read_text().replace("tasks:", "taskz:", 1))
    result = load_tenants(specs)
    assert [t.context.name for t in result.tenants] == ["globex"]
    [failure] = result.failures
    assert (failure.folder, failure.tenant) == ("acme", "acme")
    assert all(p.file == "acme/jobs.yaml" for p in failure.problems)
    with pytest.raises(SpecError):
        load_path(specs)


def test_a_broken_tenant_document_is_reported_by_its_folder(specs: Path) -> None:
    (specs / "acme" / "tenant.yaml").write_text("kind: Tenant\nmetadata: [oops\n")
    result = load_tenants(specs)
    assert [t.context.name for t in result.tenants] == ["globex"]
    assert {f.folder for f in result.failures} == {"acme"}
    assert all(f.tenant is None for f in result.failures)
