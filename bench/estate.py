"""A generated estate: N tenant folders of M resources each, the same for the same seed.

Each tenant folder holds one ``Tenant`` document and its resources spread as
evenly as possible over the five other kinds, one YAML file per kind:

- datasets (Delta tables) with an ``id`` key and a ``body`` text column among
  a few random others; a few load a small CSV file that sits next to them;
- notebooks with inline content;
- jobs whose tasks run some of the tenant's notebooks
  (``${notebooks.<name>.path}``), so jobs depend on notebooks;
- serving endpoints, named ``<tenant>-ep-<n>`` because endpoint names are
  global in a workspace;
- vector indexes over one of the tenant's datasets
  (``${datasets.<name>.table}``), so indexes depend on datasets.

The catalog (the Tenant) is the root every other resource depends on, so a
tenant's dependency depth is three: catalog → dataset/notebook → index/job.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "agentprovision.ai/v1"
KINDS = ("Dataset", "Notebook", "Job", "ServingEndpoint", "VectorIndex")
"""The kinds a tenant's resources are spread over (the Tenant itself comes on top)."""

FILES = {
    "Dataset": "datasets.yaml",
    "Notebook": "notebooks.yaml",
    "Job": "jobs.yaml",
    "ServingEndpoint": "endpoints.yaml",
    "VectorIndex": "indexes.yaml",
}
EXTRA_TYPES = ("string", "int", "double", "date", "timestamp", "boolean", "decimal(10,2)")
SOURCE_SHARE = 0.05  # share of datasets that load a CSV file


@dataclass(frozen=True)
class EstateShape:
    """How many tenants, and how many resources of each kind every tenant has."""

    tenants: int
    per_kind: dict[str, int]
    sourced_datasets: int  # datasets (over all tenants) that load a file: one more call each

    @property
    def per_tenant(self) -> int:
        """Resources per tenant, the catalog not counted."""
        return sum(self.per_kind.values())

    @property
    def resources(self) -> int:
        """Resources over all tenants, catalogs not counted."""
        return self.tenants * self.per_tenant


def tenant_name(index: int, prefix: str = "t") -> str:
    """``t000``, ``t001``, ...: sortable, so folder order is tenant order."""
    return f"{prefix}{index:03d}"


def spread(per_tenant: int) -> dict[str, int]:
    """``per_tenant`` resources over the five kinds, the remainder to the first kinds."""
    base, extra = divmod(per_tenant, len(KINDS))
    return {kind: base + (1 if i < extra else 0) for i, kind in enumerate(KINDS)}


def write_estate(
    root: Path, *, tenants: int, per_tenant: int, seed: int = 42, prefix: str = "t"
) -> EstateShape:
    """Write ``tenants`` tenant folders under ``root``; return the estate's shape.

    Tenants are named ``<prefix>000``, ``<prefix>001``, ...; estates that share
    one emulator need different prefixes.
    """
    per_kind = spread(per_tenant)
    rng = random.Random(seed)
    sourced = 0
    for index in range(tenants):
        name = tenant_name(index, prefix)
        sourced += _write_tenant(root / name, name, per_kind, rng)
    return EstateShape(tenants=tenants, per_kind=per_kind, sourced_datasets=sourced)


def _write_tenant(folder: Path, tenant: str, per_kind: dict[str, int], rng: random.Random) -> int:
    """One tenant folder; returns how many of its datasets load a file."""
    folder.mkdir(parents=True, exist_ok=True)
    _dump(folder / "tenant.yaml", [_doc("Tenant", tenant, _tenant_spec(tenant, rng))])
    datasets = [f"ds-{i:04d}" for i in range(per_kind["Dataset"])]
    notebooks = [f"nb-{i:04d}" for i in range(per_kind["Notebook"])]
    sourced = [name for name in datasets if rng.random() < SOURCE_SHARE]
    if sourced:
        (folder / "data").mkdir(exist_ok=True)
        (folder / "data" / "rows.csv").write_text("id,body\n1,hello\n2,world\n", encoding="utf-8")
    documents = {
        "Dataset": [_doc("Dataset", n, _dataset_spec(rng, n in sourced)) for n in datasets],
        "Notebook": [_doc("Notebook", n, _notebook_spec(n, rng)) for n in notebooks],
        "Job": [
            _doc("Job", f"job-{i:04d}", _job_spec(notebooks, rng)) for i in range(per_kind["Job"])
        ],
        "ServingEndpoint": [
            _doc("ServingEndpoint", f"{tenant}-ep-{i:04d}", _endpoint_spec(tenant, i, rng))
            for i in range(per_kind["ServingEndpoint"])
        ],
        "VectorIndex": [
            _doc("VectorIndex", f"vi-{i:04d}", _index_spec(datasets, rng))
            for i in range(per_kind["VectorIndex"])
        ],
    }
    for kind, docs in documents.items():
        if docs:
            _dump(folder / FILES[kind], docs)
    return len(sourced)


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _dump(path: Path, documents: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)
    path.write_text(text, encoding="utf-8")


def _tenant_spec(tenant: str, rng: random.Random) -> dict[str, Any]:
    return {
        "comment": f"generated tenant {tenant}",
        "properties": {"cost_center": f"cc-{rng.randrange(1000):03d}"},
    }


def _dataset_spec(rng: random.Random, sourced: bool) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "body", "type": "string"},
    ]
    if not sourced:
        for i in range(rng.randrange(1, 5)):
            columns.append({"name": f"c{i}", "type": rng.choice(EXTRA_TYPES)})
    spec: dict[str, Any] = {"description": "generated dataset", "columns": columns}
    if sourced:
        spec["source"] = {"path": "data/rows.csv"}
    return spec


def _notebook_spec(name: str, rng: random.Random) -> dict[str, Any]:
    lines = [f"print('step {i} of {name}')" for i in range(rng.randrange(1, 6))]
    return {"language": "python", "content": "# Databricks notebook source\n" + "\n".join(lines)}


def _job_spec(notebooks: list[str], rng: random.Random) -> dict[str, Any]:
    chosen = rng.sample(notebooks, k=min(len(notebooks), rng.randrange(1, 4)))
    tasks: list[dict[str, Any]] = []
    for i, notebook in enumerate(chosen):
        task: dict[str, Any] = {"key": f"step{i}", "notebook": f"${{notebooks.{notebook}.path}}"}
        if tasks:
            task["depends_on"] = [tasks[-1]["key"]]
        tasks.append(task)
    spec: dict[str, Any] = {"tasks": tasks}
    if rng.random() < 0.5:
        spec["schedule"] = {"cron": f"0 {rng.randrange(60)} {rng.randrange(24)} * * ?"}
    return spec


def _endpoint_spec(tenant: str, index: int, rng: random.Random) -> dict[str, Any]:
    return {
        "model": {
            "name": f"${{tenants.{tenant}.catalog}}.agents.model_{index:04d}",
            "version": str(rng.randrange(1, 10)),
        },
        "workload_size": rng.choice(("Small", "Medium", "Large")),
        "scale_to_zero": rng.random() < 0.5,
    }


def _index_spec(datasets: list[str], rng: random.Random) -> dict[str, Any]:
    return {
        "source": f"${{datasets.{rng.choice(datasets)}.table}}",
        "primary_key": "id",
        "embedding": {"source_column": "body", "model_endpoint": "databricks-gte-large-en"},
    }
