"""Dependency order between resources.

A resource depends on every resource its spec references (a job on the
notebooks its tasks run, an index on the dataset it reads) and on its
tenant's ``Tenant`` resource. Creates and updates run in dependency order;
deletes run in the reverse order, so nothing is removed while something
still uses it.

The order is deterministic: resources that become ready together are taken
by kind (in registry order: Tenant, Dataset, Notebook, …) and then by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from graphlib import CycleError, TopologicalSorter

from reconciler.errors import Problem, SpecError
from reconciler.kinds import KINDS
from reconciler.kinds.base import DesiredResource, ResourceKey, SourceLocation


def _tie_break(key: ResourceKey) -> tuple[str, int, str, str]:
    """Sort key for resources that are ready at the same time."""
    kinds = list(KINDS)
    rank = kinds.index(key.kind) if key.kind in kinds else len(kinds)
    return (key.tenant, rank, key.kind, key.name)


def dependency_order(resources: Mapping[ResourceKey, DesiredResource]) -> tuple[ResourceKey, ...]:
    """Every key of ``resources``, each after the resources it depends on.

    Dependencies on keys outside ``resources`` are ignored (they are not part
    of this graph). A cycle raises :class:`SpecError` naming its members.
    """
    return order_keys(
        {key: resource.depends_on for key, resource in resources.items()},
        {key: resource.location for key, resource in resources.items()},
    )


def order_keys(
    dependencies: Mapping[ResourceKey, Iterable[ResourceKey]],
    locations: Mapping[ResourceKey, SourceLocation],
) -> tuple[ResourceKey, ...]:
    """The keys of ``dependencies`` in dependency order (the general form of the above)."""
    sorter: TopologicalSorter[ResourceKey] = TopologicalSorter()
    for key, deps in dependencies.items():
        sorter.add(key, *(dep for dep in deps if dep in dependencies))
    try:
        sorter.prepare()
    except CycleError as exc:
        raise SpecError([_cycle_problem(exc.args[1], locations)]) from None
    order: list[ResourceKey] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=_tie_break)
        order.extend(ready)
        sorter.done(*ready)
    return tuple(order)


def reverse_order(order: tuple[ResourceKey, ...]) -> tuple[ResourceKey, ...]:
    """The order to delete in: dependents before what they depend on."""
    return tuple(reversed(order))


def _cycle_problem(
    cycle: list[ResourceKey], locations: Mapping[ResourceKey, SourceLocation]
) -> Problem:
    """One problem at the first member of the cycle (in sort order), naming every member."""
    # graphlib lists each node before the nodes that depend on it; reverse it so
    # that every member is followed by the one it uses.
    members = list(reversed(cycle[:-1] if len(cycle) > 1 and cycle[0] == cycle[-1] else cycle))
    start = min(range(len(members)), key=lambda i: _tie_break(members[i]))
    rotated = [*members[start:], *members[:start], members[start]]
    chain = " -> ".join(f"{k.kind}/{k.name}" for k in rotated)
    where = locations[rotated[0]]
    return Problem(
        file=where.file,
        line=where.line,
        col=where.col,
        message=f"dependency cycle: {chain} (each uses the next); remove one of these references",
    )
