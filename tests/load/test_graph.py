"""Dependency order from constructed resources: ties, cycles, deletes."""

from __future__ import annotations

import pytest

from reconciler.errors import SpecError
from reconciler.graph import dependency_order, reverse_order
from reconciler.kinds.base import DesiredResource, ResourceKey, SourceLocation


def resource(kind: str, name: str, *deps: tuple[str, str], line: int = 1) -> DesiredResource:
    return DesiredResource(
        key=ResourceKey("acme", kind, name),
        identity=name,
        spec={},
        location=SourceLocation(f"{name}.yaml", line, 1),
        depends_on=tuple(ResourceKey("acme", k, n) for k, n in deps),
    )


def keyed(*resources: DesiredResource) -> dict[ResourceKey, DesiredResource]:
    return {r.key: r for r in resources}


def names(order: tuple[ResourceKey, ...]) -> list[str]:
    return [f"{k.kind}/{k.name}" for k in order]


TENANT = ("Tenant", "acme")


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (
            [
                resource("Job", "j", TENANT),
                resource("Notebook", "b", TENANT),
                resource("Notebook", "a", TENANT),
                resource("Tenant", "acme"),
            ],
            ["Tenant/acme", "Notebook/a", "Notebook/b", "Job/j"],
        ),
        (
            [
                resource("VectorIndex", "idx", ("Dataset", "docs")),
                resource("Dataset", "docs", TENANT),
                resource("Tenant", "acme"),
            ],
            ["Tenant/acme", "Dataset/docs", "VectorIndex/idx"],
        ),
        (
            [resource("Notebook", "a", ("Job", "j")), resource("Job", "j")],
            ["Job/j", "Notebook/a"],
        ),
        (
            [resource("Notebook", "a", ("Notebook", "gone"))],
            ["Notebook/a"],
        ),
    ],
    ids=["ties-by-kind-then-name", "chain", "dependency-beats-kind-order", "outside-deps-ignored"],
)
def test_dependency_order(resources: list[DesiredResource], expected: list[str]) -> None:
    assert names(dependency_order(keyed(*resources))) == expected


def test_reverse_order_deletes_dependents_first() -> None:
    order = dependency_order(keyed(resource("Tenant", "acme"), resource("Notebook", "a", TENANT)))
    assert names(reverse_order(order)) == ["Notebook/a", "Tenant/acme"]


def test_a_cycle_names_its_members_and_a_location() -> None:
    resources = keyed(
        resource("Job", "j", ("Notebook", "n"), line=4),
        resource("Notebook", "n", ("Job", "j"), line=9),
    )
    with pytest.raises(SpecError) as caught:
        dependency_order(resources)
    assert caught.value.lines() == [
        "n.yaml:9:1: dependency cycle: Notebook/n -> Job/j -> Notebook/n (each uses the next); "
        "remove one of these references"
    ]
