"""A generated estate: N tenant folders of M resources each, the same for the same seed.

The tenants look like real ones. Each tenant folder holds one ``Tenant``
document and its resources spread as evenly as possible over the kinds asked
for (by default the five other kinds), in the files a team would keep:

- ``datasets.yaml``: Delta tables in a few schemas with six to twelve typed,
  commented columns; about one in five loads a CSV file of its own from
  ``data/`` (header matching its columns);
- ``notebooks.yaml`` and ``notebooks/``: most notebooks read their source from
  a file of 20-80 lines (Python or SQL), a few are inline;
- ``jobs.yaml``: scheduled jobs (most in an IANA time zone, some paused) of two
  to five notebook tasks in a chain with fan-in, parameters that name datasets
  (``${datasets.<name>.table}``) and, for some, a warehouse token from a
  secret (``${secret:BENCH_WAREHOUSE_TOKEN}``), retries, timeouts, tags and
  email notifications;
- ``endpoints.yaml``: serving endpoints (``<tenant>-ep-<n>``, endpoint names
  are global in a workspace) of a model in the tenant's catalog
  (``${tenants.<tenant>.catalog}``), tagged with the index they answer from
  (``${vector_indexes.<name>.name}``);
- ``indexes.yaml``: vector indexes over one of the tenant's datasets
  (``${datasets.<name>.table}``).

The catalog (the Tenant) is the root every other resource depends on; jobs
depend on notebooks and datasets, indexes on datasets, endpoints on indexes.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "agentprovision.ai/v1"
KINDS = ("Dataset", "Notebook", "Job", "ServingEndpoint", "VectorIndex")
"""The kinds a tenant's resources are spread over (the Tenant itself comes on top)."""

SECRET_NAME = "BENCH_WAREHOUSE_TOKEN"
SECRET_VALUE = "bench-warehouse-token-not-a-real-one"
SECRETS_DIR = Path(tempfile.gettempdir()) / "reconciler-bench-secrets"
"""The secrets directory (``RECONCILER_SECRETS_DIR``) holding every estate tenant's secret."""
"""The secret some jobs pass to their tasks; phases set it in their environment."""

FILES = {
    "Dataset": "datasets.yaml",
    "Notebook": "notebooks.yaml",
    "Job": "jobs.yaml",
    "ServingEndpoint": "endpoints.yaml",
    "VectorIndex": "indexes.yaml",
}
SCHEMAS = ("raw", "curated", "serving", "default")
EXTRA_TYPES = ("string", "int", "double", "date", "timestamp", "boolean", "decimal(10,2)")
SOURCE_TYPES = {"string": "value", "bigint": "7", "double": "1.5", "date": "2026-01-31"}
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Europe/London")
SOURCE_SHARE = 0.2  # share of datasets that load a CSV file
FILE_NOTEBOOK_SHARE = 0.8  # share of notebooks whose source is a file
SECRET_SHARE = 0.3  # share of jobs that pass the secret to a task


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


def spread(per_tenant: int, kinds: Sequence[str] = KINDS) -> dict[str, int]:
    """``per_tenant`` resources over ``kinds``, the remainder to the first kinds."""
    base, extra = divmod(per_tenant, len(kinds))
    return {kind: base + (1 if i < extra else 0) for i, kind in enumerate(kinds)}


def write_estate(
    root: Path,
    *,
    tenants: int,
    per_tenant: int,
    seed: int = 42,
    prefix: str = "t",
    kinds: Sequence[str] = KINDS,
) -> EstateShape:
    """Write ``tenants`` tenant folders under ``root``; return the estate's shape.

    Tenants are named ``<prefix>000``, ``<prefix>001``, ...; estates that share
    one emulator need different prefixes. Jobs need notebooks, indexes need
    datasets and endpoints need indexes among ``kinds``.
    """
    per_kind = spread(per_tenant, kinds)
    rng = random.Random(seed)
    sourced = 0
    for index in range(tenants):
        name = tenant_name(index, prefix)
        sourced += _Tenant(root / name, name, per_kind, rng).write()
        write_secret(name)
    return EstateShape(tenants=tenants, per_kind=per_kind, sourced_datasets=sourced)


def write_secret(tenant: str) -> None:
    """The bench secret of ``tenant`` in :data:`SECRETS_DIR` (``<dir>/<tenant>/<NAME>``)."""
    folder = SECRETS_DIR / tenant
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SECRET_NAME).write_text(SECRET_VALUE + "\n", encoding="utf-8")


class _Tenant:
    """Writes one tenant folder."""

    def __init__(
        self, folder: Path, tenant: str, per_kind: dict[str, int], rng: random.Random
    ) -> None:
        self.folder, self.tenant, self.rng = folder, tenant, rng
        self.count = {kind: per_kind.get(kind, 0) for kind in KINDS}
        self.datasets = [f"ds-{i:04d}" for i in range(self.count["Dataset"])]
        self.notebooks = [f"nb-{i:04d}" for i in range(self.count["Notebook"])]
        self.indexes = [f"vi-{i:04d}" for i in range(self.count["VectorIndex"])]
        self.sourced = 0

    def write(self) -> int:
        """Write the folder; returns how many of its datasets load a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _dump(self.folder / "tenant.yaml", [_doc("Tenant", self.tenant, self._tenant())])
        documents = {
            "Dataset": [_doc("Dataset", n, self._dataset(n)) for n in self.datasets],
            "Notebook": [_doc("Notebook", n, self._notebook(n)) for n in self.notebooks],
            "Job": [_doc("Job", f"job-{i:04d}", self._job()) for i in range(self.count["Job"])],
            "ServingEndpoint": [
                _doc("ServingEndpoint", f"{self.tenant}-ep-{i:04d}", self._endpoint(i))
                for i in range(self.count["ServingEndpoint"])
            ],
            "VectorIndex": [_doc("VectorIndex", n, self._index()) for n in self.indexes],
        }
        for kind, docs in documents.items():
            if docs:
                _dump(self.folder / FILES[kind], docs)
        return self.sourced

    def _tenant(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "comment": f"generated tenant {self.tenant}",
            "properties": {
                "cost_center": f"cc-{rng.randrange(1000):03d}",
                "owner": f"team-{rng.randrange(40)}@example.com",
            },
        }

    def _dataset(self, name: str) -> dict[str, Any]:
        rng = self.rng
        sourced = rng.random() < SOURCE_SHARE
        columns: list[dict[str, Any]] = [
            {"name": "id", "type": "bigint", "nullable": False, "comment": "Row key"},
            {"name": "body", "type": "string", "comment": "Text that gets embedded"},
        ]
        types = tuple(SOURCE_TYPES) if sourced else EXTRA_TYPES
        for i in range(rng.randrange(4, 11)):
            column: dict[str, Any] = {"name": f"c{i}", "type": rng.choice(types)}
            if rng.random() < 0.5:
                column["comment"] = f"generated column {i}"
            columns.append(column)
        spec: dict[str, Any] = {
            "schema": rng.choice(SCHEMAS),
            "description": f"generated dataset {name}",
            "columns": columns,
        }
        if sourced:
            self.sourced += 1
            spec["source"] = {"path": f"data/{name}.csv"}
            self._write_csv(name, columns)
        return spec

    def _write_csv(self, name: str, columns: list[dict[str, Any]]) -> None:
        header = ",".join(c["name"] for c in columns)
        rows = []
        for row in range(self.rng.randrange(5, 40)):
            values = [str(row), f"text {row}"]
            values += [SOURCE_TYPES[c["type"]] for c in columns[2:]]
            rows.append(",".join(values))
        (self.folder / "data").mkdir(exist_ok=True)
        text = "\n".join([header, *rows]) + "\n"
        (self.folder / "data" / f"{name}.csv").write_text(text, encoding="utf-8")

    def _notebook(self, name: str) -> dict[str, Any]:
        rng = self.rng
        language = "sql" if rng.random() < 0.3 else "python"
        comment = "--" if language == "sql" else "#"
        lines = [f"{comment} Databricks notebook source"]
        for i in range(rng.randrange(20, 81)):
            if language == "sql":
                lines.append(f"SELECT {i} AS step, '{name}' AS notebook;")
            else:
                lines.append(f"print('step {i} of {name}')")
        content = "\n".join(lines) + "\n"
        if rng.random() >= FILE_NOTEBOOK_SHARE:
            return {"language": language, "content": content}
        extension = "sql" if language == "sql" else "py"
        (self.folder / "notebooks").mkdir(exist_ok=True)
        (self.folder / "notebooks" / f"{name}.{extension}").write_text(content, encoding="utf-8")
        return {"language": language, "source": f"notebooks/{name}.{extension}"}

    def _job(self) -> dict[str, Any]:
        rng = self.rng
        chosen = rng.sample(self.notebooks, k=min(len(self.notebooks), rng.randrange(2, 6)))
        secret = rng.random() < SECRET_SHARE
        tasks: list[dict[str, Any]] = []
        for i, notebook in enumerate(chosen):
            task: dict[str, Any] = {
                "key": f"step{i}",
                "notebook": f"${{notebooks.{notebook}.path}}",
            }
            if tasks:
                # a chain, with an occasional fan-in from two tasks back
                task["depends_on"] = [t["key"] for t in tasks[-2:] if rng.random() < 0.7] or [
                    tasks[-1]["key"]
                ]
            parameters: dict[str, str] = {"run_date": "{{job.start_time.iso_date}}"}
            if self.datasets:
                parameters["table"] = f"${{datasets.{rng.choice(self.datasets)}.table}}"
            if secret and i == 0:
                parameters["token"] = f"${{secret:{SECRET_NAME}}}"
            task["parameters"] = parameters
            if rng.random() < 0.5:
                task["max_retries"] = rng.randrange(1, 4)
            if rng.random() < 0.5:
                task["timeout_seconds"] = rng.choice((600, 1800, 3600))
            tasks.append(task)
        spec: dict[str, Any] = {"tasks": tasks, "max_concurrent_runs": rng.randrange(1, 3)}
        if rng.random() < 0.9:
            schedule: dict[str, Any] = {"cron": f"0 {rng.randrange(60)} {rng.randrange(24)} * * ?"}
            if rng.random() < 0.8:
                schedule["timezone"] = rng.choice(ZONES)
            if rng.random() < 0.1:
                schedule["paused"] = True
            spec["schedule"] = schedule
        spec["tags"] = {"team": f"team-{rng.randrange(40)}", "tier": rng.choice(("gold", "silver"))}
        if rng.random() < 0.6:
            spec["email_notifications"] = {"on_failure": [f"oncall-{self.tenant}@example.com"]}
        return spec

    def _endpoint(self, index: int) -> dict[str, Any]:
        rng = self.rng
        spec: dict[str, Any] = {
            "model": {
                "name": f"${{tenants.{self.tenant}.catalog}}.agents.model_{index:04d}",
                "version": str(rng.randrange(1, 10)),
            },
            "workload_size": rng.choice(("Small", "Medium", "Large")),
            "scale_to_zero": rng.random() < 0.5,
        }
        if self.indexes:
            spec["tags"] = {"index": f"${{vector_indexes.{rng.choice(self.indexes)}.name}}"}
        return spec

    def _index(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "source": f"${{datasets.{rng.choice(self.datasets)}.table}}",
            "primary_key": "id",
            "embedding": {"source_column": "body", "model_endpoint": "databricks-gte-large-en"},
            "pipeline": rng.choice(("triggered", "continuous")),
        }


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": "bench", "kind": kind.lower()}
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def _dump(path: Path, documents: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)
    path.write_text(text, encoding="utf-8")
