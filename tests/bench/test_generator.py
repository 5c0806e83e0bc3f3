"""The benchmark's generated estate loads, has the counts it promises, and is repeatable."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.bounds import apply_bound, pages_per_tenant, plan_bound
from bench.estate import KINDS, SECRET_VALUE, SECRETS_DIR, EstateShape, spread, write_estate
from reconciler.load import load_path


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_SECRETS_DIR", str(SECRETS_DIR))


def test_generated_estate_loads_with_expected_counts(tmp_path: Path) -> None:
    shape = write_estate(tmp_path, tenants=3, per_tenant=23, seed=7)
    tenants = load_path(tmp_path)
    assert [t.context.name for t in tenants] == ["t000", "t001", "t002"]
    for tenant in tenants:
        kinds = Counter(key.kind for key in tenant.resources)
        assert kinds == Counter({"Tenant": 1, **shape.per_kind})
    assert shape.resources == 69


def test_the_estate_looks_like_real_tenants(tmp_path: Path) -> None:
    write_estate(tmp_path, tenants=2, per_tenant=50, seed=5)
    tenants = load_path(tmp_path)
    jobs = [r for t in tenants for k, r in t.resources.items() if k.kind == "Job"]
    assert all(len(job.spec["tasks"]) >= 2 for job in jobs)
    assert sum(job.spec.get("schedule") is not None for job in jobs) > len(jobs) // 2
    assert any(job.sensitive for job in jobs), "some jobs pass a secret"
    notebooks = list((tmp_path / "t000" / "notebooks").iterdir())
    assert notebooks, "notebooks read their source from files"
    datasets = [r for t in tenants for k, r in t.resources.items() if k.kind == "Dataset"]
    assert all(len(d.spec["columns"]) >= 6 for d in datasets)
    endpoint_needs = {
        k.kind
        for t in tenants
        for key, r in t.resources.items()
        if key.kind == "ServingEndpoint"
        for k in r.depends_on
    }
    assert "VectorIndex" in endpoint_needs
    rendered = (tmp_path / "t000" / "jobs.yaml").read_text()
    assert SECRET_VALUE not in rendered


def test_apply_estate_of_notebooks_and_jobs(tmp_path: Path) -> None:
    shape = write_estate(tmp_path, tenants=1, per_tenant=9, kinds=("Notebook", "Job"))
    assert shape.per_kind == {"Notebook": 5, "Job": 4}
    (tenant,) = load_path(tmp_path)
    assert Counter(k.kind for k in tenant.resources) == Counter(
        {"Tenant": 1, "Notebook": 5, "Job": 4}
    )


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
