"""References are resolved within a tenant, become dependencies and decide the order."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.kinds.base import ResourceKey
from tests.load.helpers import HEADER, Tree, load_ok, notebook, tenant

JOB = (
    HEADER
    + """kind: Job
metadata: {name: nightly}
spec:
  tasks:
    - key: load
      notebook: ${notebooks.etl.path}
      parameters:
        note: "runs ${notebooks.etl.path} in $${catalog}"
        catalog: ${tenants.acme.catalog}
"""
)


@pytest.fixture
def acme(tmp_path: Path):
    Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/etl.yaml": notebook("etl"),
            "acme/jobs/nightly.yaml": JOB,
        }
    ).write(tmp_path)
    (loaded,) = load_ok(tmp_path)
    return loaded


def key(kind: str, name: str) -> ResourceKey:
    return ResourceKey("acme", kind, name)


def test_whole_string_reference_is_replaced(acme) -> None:
    task = acme.resources[key("Job", "nightly")].spec["tasks"]["load"]
    assert task["notebook_task"]["notebook_path"] == "/Workspace/AgentProvision/acme/etl"


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ("note", "runs /Workspace/AgentProvision/acme/etl in ${catalog}"),
        ("catalog", "agentprovision_acme"),
    ],
    ids=["embedded-and-escaped", "tenant-attribute"],
)
def test_embedded_references_and_escapes(acme, parameter: str, expected: str) -> None:
    parameters = acme.resources[key("Job", "nightly")].spec["tasks"]["load"]["notebook_task"][
        "base_parameters"
    ]
    assert parameters[parameter] == expected


def test_references_become_direct_dependencies(acme) -> None:
    assert acme.resources[key("Job", "nightly")].depends_on == (
        key("Notebook", "etl"),
        key("Tenant", "acme"),
    )
    assert acme.resources[key("Notebook", "etl")].depends_on == (key("Tenant", "acme"),)
    assert acme.resources[key("Tenant", "acme")].depends_on == ()


def test_order_puts_dependencies_first(acme) -> None:
    assert acme.order == (key("Tenant", "acme"), key("Notebook", "etl"), key("Job", "nightly"))


def test_tenant_desired_carries_context_policy_and_root(acme, tmp_path: Path) -> None:
    assert acme.context.name == "acme"
    assert acme.context.catalog == "agentprovision_acme"
    assert acme.policy.prune is None  # unset: plan/apply prune, serve does not
    assert acme.root == tmp_path / "acme"


def test_location_is_the_document_start(acme) -> None:
    location = acme.resources[key("Job", "nightly")].location
    assert (location.file, location.line, location.col) == ("acme/jobs/nightly.yaml", 1, 1)


def test_a_single_tenant_folder_loads_with_names_relative_to_it(tmp_path: Path) -> None:
    Tree({"acme/tenant.yaml": tenant(), "acme/etl.yaml": notebook("etl")}).write(tmp_path)
    (loaded,) = load_ok(tmp_path / "acme")
    assert loaded.resources[key("Notebook", "etl")].location.file == "etl.yaml"


def test_a_reference_may_satisfy_a_pattern_only_once_resolved(tmp_path: Path) -> None:
    """A notebook path built from another notebook's path is checked after substitution."""
    Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/etl.yaml": notebook("etl"),
            "acme/copy.yaml": notebook("copy", extra="  path: ${notebooks.etl.path}_copy\n"),
        }
    ).write(tmp_path)
    (loaded,) = load_ok(tmp_path)
    assert loaded.resources[key("Notebook", "copy")].identity.endswith("/etl_copy")


def test_files_are_read_relative_to_the_tenant_root(tmp_path: Path) -> None:
    Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/src/etl.py": "print('hi')\n",
            "acme/deep/er/etl.yaml": notebook("etl").replace(
                "content: 'print(1)'", "source: src/etl.py"
            ),
        }
    ).write(tmp_path)
    (loaded,) = load_ok(tmp_path)
    assert loaded.resources[key("Notebook", "etl")].blobs["content"] == b"print('hi')\n"


def test_documents_belong_to_the_nearest_tenant(tmp_path: Path) -> None:
    Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/etl.yaml": notebook("etl"),
            "acme/team/tenant.yaml": tenant("acme-team"),
            "acme/team/etl.yaml": notebook("etl"),
            "acme/.hidden/ignored.yaml": "not: [valid",
        }
    ).write(tmp_path)
    loaded = {t.context.name: t for t in load_ok(tmp_path)}
    assert sorted(loaded) == ["acme", "acme-team"]
    assert ResourceKey("acme-team", "Notebook", "etl") in loaded["acme-team"].resources
    assert len(loaded["acme"].resources) == 2


def test_empty_files_and_documents_are_fine(tmp_path: Path) -> None:
    Tree(
        {
            "acme/tenant.yaml": "---\n# nothing yet\n---\n" + tenant() + "---\n",
            "acme/empty.yml": "",
        }
    ).write(tmp_path)
    (loaded,) = load_ok(tmp_path)
    assert list(loaded.resources) == [key("Tenant", "acme")]
