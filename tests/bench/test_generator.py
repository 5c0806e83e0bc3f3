"""The benchmark's generated estate loads, has the counts it promises, and is repeatable."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.bounds import apply_bound, pages_per_tenant, plan_bound
from bench.estate import KINDS, EstateShape, spread, write_estate
from reconciler.load import load_path


def test_generated_estate_loads_with_expected_counts(tmp_path: Path) -> None:
    shape = write_estate(tmp_path, tenants=3, per_tenant=23, seed=7)
    tenants = load_path(tmp_path)
    assert [t.context.name for t in tenants] == ["t000", "t001", "t002"]
    for tenant in tenants:
        kinds = Counter(key.kind for key in tenant.resources)
        assert kinds == Counter({"Tenant": 1, **shape.per_kind})
    assert shape.resources == 69


def test_references_make_jobs_and_indexes_depend_on_their_targets(tmp_path: Path) -> None:
    write_estate(tmp_path, tenants=1, per_tenant=10, prefix="x")
    (tenant,) = load_path(tmp_path)
    for key, resource in tenant.resources.items():
        needs = {k.kind for k in resource.depends_on}
        if key.kind == "Job":
            assert "Notebook" in needs
        if key.kind == "VectorIndex":
            assert "Dataset" in needs


def test_same_seed_same_files(tmp_path: Path) -> None:
    write_estate(tmp_path / "a", tenants=2, per_tenant=12, seed=3)
    write_estate(tmp_path / "b", tenants=2, per_tenant=12, seed=3)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_spread_and_bounds() -> None:
    assert spread(12) == dict(zip(KINDS, (3, 3, 2, 2, 2), strict=True))
    shape = EstateShape(tenants=100, per_kind=spread(100), sourced_datasets=0)
    assert pages_per_tenant(shape) == 6
    bound = plan_bound(shape, 100, 0.025)
    assert (bound.requests, bound.concurrency) == (600, 32)
    assert apply_bound(shape, 0.05, 16).changes == 10_100
