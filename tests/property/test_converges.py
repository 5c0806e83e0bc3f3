"""Property: whatever the documents and whatever happened outside, one apply converges.

Hypothesis draws a tenant (notebooks, datasets, jobs over them, an endpoint, an
index), applies it, then makes random out-of-band edits and deletions through
the connector and random edits to the documents, adds an object nobody
manages, and applies once more. Afterwards the plan must be empty (observed
equals desired on every managed field) and the unmanaged object untouched.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.emulator.server import running_emulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import PlanOptions
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.state import StateStore

HEADER = "apiVersion: agentprovision.ai/v1\n"
names = st.sampled_from(["alpha", "beta", "gamma", "delta"])
words = st.text(alphabet="abcdefghij ", min_size=1, max_size=12)


@dataclass
class Tenant:
    notebooks: dict[str, tuple[str, str]]  # name -> (language, content)
    datasets: dict[str, list[tuple[str, str]]]  # name -> columns
    jobs: dict[str, tuple[list[str], int]]  # name -> (notebooks, max_concurrent_runs)
    endpoint: tuple[str, bool] | None  # (version, scale_to_zero)
    index: bool


@st.composite
def tenants(draw: st.DrawFn) -> Tenant:
    notebooks = draw(
        st.dictionaries(
            names, st.tuples(st.sampled_from(["python", "sql"]), words), min_size=1, max_size=3
        )
    )
    column = st.tuples(
        st.sampled_from(["a", "b", "c"]), st.sampled_from(["int", "string", "double"])
    )
    datasets = draw(
        st.dictionaries(
            names, st.lists(column, min_size=1, max_size=3, unique_by=lambda c: c[0]), max_size=2
        )
    )
    jobs = draw(
        st.dictionaries(
            names,
            st.tuples(
                st.lists(st.sampled_from(sorted(notebooks)), min_size=1, max_size=2, unique=True),
                st.integers(1, 3),
            ),
            max_size=2,
        )
    )
    endpoint = draw(st.none() | st.tuples(st.sampled_from(["1", "2"]), st.booleans()))
    return Tenant(notebooks, datasets, jobs, endpoint, draw(st.booleans()) and bool(datasets))


def write(tenant: Tenant, root: Path) -> None:
    docs = [HEADER + "kind: Tenant\nmetadata: {name: prop}\nspec: {comment: property}\n"]
    for name, (language, content) in tenant.notebooks.items():
        docs.append(
            HEADER
            + f"kind: Notebook\nmetadata: {{name: {name}}}\nspec:\n  language: {language}\n  content: {content!r}\n"
        )
    indexed = sorted(tenant.datasets)[0] if tenant.index else None
    for name, columns in tenant.datasets.items():
        cols = "".join(f"    - {{name: {c}, type: {t}}}\n" for c, t in columns)
        if name == indexed:  # the index's vectors: an array<float> column
            cols += "    - {name: vec, type: 'array<float>'}\n"
        docs.append(
            HEADER + f"kind: Dataset\nmetadata: {{name: {name}}}\nspec:\n  columns:\n{cols}"
        )
    for name, (notebooks, runs) in tenant.jobs.items():
        tasks = "".join(
            f"    - {{key: t{i}, notebook: '${{notebooks.{nb}.path}}'}}\n"
            for i, nb in enumerate(notebooks)
        )
        docs.append(
            HEADER
            + f"kind: Job\nmetadata: {{name: job-{name}}}\nspec:\n  max_concurrent_runs: {runs}\n  tasks:\n{tasks}"
        )
    if tenant.endpoint:
        version, scale = tenant.endpoint
        docs.append(
            HEADER
            + f"kind: ServingEndpoint\nmetadata: {{name: prop-agent}}\nspec:\n  model: {{name: system.s.m, version: '{version}'}}\n  scale_to_zero: {str(scale).lower()}\n"
        )
    if tenant.index:
        first = sorted(tenant.datasets)[0]
        key = tenant.datasets[first][0][0]
        docs.append(
            HEADER
            + f"kind: VectorIndex\nmetadata: {{name: idx}}\nspec:\n  source: '${{datasets.{first}.table}}'\n  primary_key: {key}\n  embedding: {{vector_column: vec, dimension: 8}}\n"
        )
    root.mkdir(parents=True, exist_ok=True)
    for f in root.glob("*.yaml"):
        f.unlink()
    for i, doc in enumerate(docs):
        (root / f"doc{i}.yaml").write_text(doc)


Edit = tuple[str, int]
edits = st.lists(
    st.tuples(
        st.sampled_from(
            ["job", "notebook", "dataset", "endpoint", "delete-job", "delete-notebook"]
        ),
        st.integers(0, 5),
    ),
    max_size=4,
)


def out_of_band(api: httpx.Client, todo: list[Edit]) -> None:
    """Edits nobody told the reconciler about, through the connector's own API."""
    q = {"tenant_id": "prop"}
    for what, n in todo:
        if what in ("job", "delete-job"):
            jobs = api.get("/jobs", params=q).json()["jobs"]
            if not jobs:
                continue
            job = jobs[n % len(jobs)]
            if what == "delete-job":
                api.delete(f"/jobs/{job['job_id']}", params=q)
            else:
                settings = dict(job["settings"], max_concurrent_runs=7, timeout_seconds=n + 1)
                api.post(
                    f"/jobs/{job['job_id']}/reset",
                    json={"tenant_id": "prop", "new_settings": settings},
                )
        elif what in ("notebook", "delete-notebook"):
            notebooks = api.get("/notebooks", params=q).json()["notebooks"]
            mine = [nb for nb in notebooks if nb.get("managed_by")]
            if not mine:
                continue
            path = mine[n % len(mine)]["path"]
            if what == "delete-notebook":
                api.delete("/notebooks/prop", params={"path": path})
            else:
                api.put(
                    "/notebooks/prop",
                    params={"path": path},
                    json={"path": path, "content": f"edited {n}"},
                )
        elif what == "dataset":
            for ds in api.get("/datasets", params=q).json()["datasets"][:1]:
                api.patch(
                    f"/datasets/prop/{ds['schema_name']}.{ds['table_name']}",
                    json={"description": f"edited {n}"},
                )
        elif what == "endpoint":
            api.patch(
                "/serving-endpoints/prop-agent/tags",
                json={"tenant_id": "prop", "add_tags": [{"key": "x", "value": str(n)}]},
            )


async def reconcile(root: Path, url: str, key: str, db: str, *, apply: bool) -> int:
    """Plan (and apply) the folder; the number of actionable changes planned."""
    store = StateStore.open(db)
    try:
        async with ConnectorClient(url, key, backoff=0.01) as client:
            plan = await plan_tenants(
                load_path(root), store=store, client=client, options=PlanOptions()
            )
            count = sum(len(t.actionable) for t in plan.tenants)
            if apply and count:
                results = await apply_plan(plan, store=store, client=client, actor="property")
                failed = [s for r in results for s in r.steps if s.outcome != "ok"]
                assert not failed, failed
            return count
    finally:
        store.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=tenants(), second=tenants(), todo=edits)
def test_one_apply_converges_after_any_edits(
    first: Tenant, second: Tenant, todo: list[Edit]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, running_emulator(ready_delay=0.05) as emulator:
        root, db = Path(tmp) / "prop", f"sqlite:///{tmp}/state.db"
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        api = httpx.Client(base_url=emulator.url + "/agentprovision/v1/databricks", headers=headers)
        write(first, root)
        asyncio.run(reconcile(root, emulator.url, emulator.api_key, db, apply=True))
        out_of_band(api, todo)
        stranger = {"tenant_id": "prop", "name": "stranger", "language": "PYTHON", "content": "x"}
        api.post("/notebooks", json=stranger).raise_for_status()
        write(second, root)
        asyncio.run(reconcile(root, emulator.url, emulator.api_key, db, apply=True))
        assert asyncio.run(reconcile(root, emulator.url, emulator.api_key, db, apply=False)) == 0
        kept = api.get(
            "/notebooks/prop", params={"path": "/Workspace/AgentProvision/prop/stranger"}
        )
        assert kept.status_code == 200 and kept.json()["content"] == "x"
        api.close()
