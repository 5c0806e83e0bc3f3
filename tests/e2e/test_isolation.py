"""Two tenants in one state database and one connector: neither can reach the other.

acme and globex (the examples) are applied into one state database (SQLite and
PostgreSQL) through one emulator running with ``--require-tenant``. Then every
way acme, or a new tenant folder, could reach globex is tried: claiming its
tenantId or catalog (next to it in the tree, or alone against the state
database, with ``adopt: true``), referencing its documents, naming its paths,
catalog, tables and endpoint literally, and calling the connector as acme or
as nobody. Each is refused, with file:line for documents. Globex's objects,
read through the emulator, and its rows of every state table are unchanged
byte for byte, and no refused document sent a single write to the connector.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from reconciler.cli import main
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.state import normalize_database_url
from reconciler.state.db import create_state_engine
from reconciler.state.models import ApplyRow, ApplyStepRow, Base
from tests.e2e.conftest import EXAMPLES, CliResult
from tests.emulator.test_tenancy import attacks_on, backend_calls

HEADER = "apiVersion: agentprovision.ai/v1\n"
VICTIM, VICTIM_ID, VICTIM_CATALOG = "globex", "globex-eu", "globex_logistics"
FOLDER = f"/Workspace/AgentProvision/{VICTIM_ID}"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Estate:
    specs: Path
    api: httpx.Client  # the connector API, .../agentprovision/v1
    run: Callable[..., CliResult]
    emulator: RunningEmulator
    db_url: str

    def writes(self) -> int:
        """Changing requests the emulator has served so far."""
        counts = self.api.get(self.emulator.url + "/_emulator/counters").json()["requests"]
        return sum(n for route, n in counts.items() if route.split(" ", 1)[0] in WRITES)


@pytest.fixture
def estate(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Estate]:
    specs = tmp_path / "specs"
    shutil.copytree(EXAMPLES, specs)
    with running_emulator(api_key="iso-key", ready_delay=0.0, require_tenant=True) as emulator:
        monkeypatch.setenv("MCP_SERVER_URL", emulator.url)
        monkeypatch.setenv("MCP_API_KEY", "iso-key")
        monkeypatch.setenv("DATABASE_URL", db_url)

        def run(*argv: str) -> CliResult:
            capsys.readouterr()
            code = main(list(argv))
            captured = capsys.readouterr()
            return CliResult(code, captured.out, captured.err)

        headers = {"Authorization": "Bearer iso-key"}
        with httpx.Client(base_url=emulator.api_url, headers=headers, timeout=10) as api:
            yield Estate(specs, api, run, emulator, db_url)


def victim_objects(api: httpx.Client) -> dict[str, Any]:
    """Everything globex has, as the connector answers it (raw bytes of each read)."""
    q = {"tenant_id": VICTIM_ID}
    reads = {"catalog": api.get(f"/databricks/catalogs/{VICTIM_ID}")}
    for items in ("datasets", "notebooks", "jobs", "serving-endpoints", "vector-indexes"):
        reads[items] = api.get(f"/databricks/{items}", params=q)
    for notebook in reads["notebooks"].json()["notebooks"]:
        path = notebook["path"]
        reads[path] = api.get(f"/databricks/notebooks/{VICTIM_ID}", params={"path": path})
    for job in reads["jobs"].json()["jobs"]:
        reads[f"runs of {job['job_id']}"] = api.get(
            f"/databricks/jobs/{job['job_id']}/runs", params=q
        )
    for dataset in reads["datasets"].json()["datasets"]:
        name = f"{dataset['schema_name']}.{dataset['table_name']}"
        reads[name] = api.get(f"/databricks/datasets/{VICTIM_ID}/{name}")
    for name, response in reads.items():
        assert response.status_code == 200, (name, response.text)
    return {name: response.content for name, response in reads.items()}


def victim_rows(db_url: str) -> dict[str, list[str]]:
    """Globex's rows of every state table that holds tenants' rows, in a stable order."""
    engine = create_state_engine(normalize_database_url(db_url))
    rows: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                if "tenant" in table.c:
                    query = select(table).where(table.c.tenant == VICTIM)
                elif table.name == ApplyStepRow.__tablename__:
                    applies = select(ApplyRow.id).where(ApplyRow.tenant == VICTIM)
                    query = select(table).where(table.c.apply_id.in_(applies))
                else:
                    continue
                found = connection.execute(query.order_by(*table.primary_key.columns)).all()
                rows[table.name] = [repr(tuple(row)) for row in found]
    finally:
        engine.dispose()
    assert rows["resources"] and rows["claims"], "globex was applied and holds its claims"
    return rows


def _tenant(name: str, spec: str) -> str:
    return f"{HEADER}kind: Tenant\nmetadata:\n  name: {name}\nspec: {spec}\n"


def _notebook(name: str, extra: str = "") -> str:
    return (
        f"{HEADER}kind: Notebook\nmetadata:\n  name: {name}\n"
        f"spec:\n  language: python\n  content: 'print(1)'\n{extra}"
    )


def _endpoint(name: str, model: str, extra: str = "") -> str:
    return (
        f"{HEADER}kind: ServingEndpoint\nmetadata:\n  name: {name}\n"
        f"spec:\n  model:\n    name: {model}\n    version: '1'\n{extra}"
    )


def _job(task: str) -> str:
    return f"{HEADER}kind: Job\nmetadata:\n  name: reach\nspec:\n  tasks:\n    - {task}\n"


def _index(source: str) -> str:
    return (
        f"{HEADER}kind: VectorIndex\nmetadata:\n  name: reach\nspec:\n  source: {source}\n"
        "  primary_key: doc_id\n"
        "  embedding: {source_column: text, model_endpoint: databricks-bge-large-en}\n"
    )


DOCUMENTS: dict[str, tuple[str, str]] = {
    # a document acme's folder gets: (its text, what validate says at reach.yaml:LINE)
    "notebook in globex's folder": (
        _notebook("reach", f"  path: {FOLDER}/reach\n"),
        f"reach.yaml:8:9: spec.path: notebook path '{FOLDER}/reach' is outside",
    ),
    "notebook path with ..": (
        _notebook("reach", "  path: /Workspace/AgentProvision/acme/../globex-eu/reach\n"),
        "reach.yaml:8:9: spec.path: notebook path",
    ),
    "task on globex's notebook by its path": (
        _job(f"{{key: a, notebook: {FOLDER}/clean-shipments}}"),
        "reach.yaml:7:26: spec.tasks[0].notebook:",
    ),
    "task on globex's notebook by reference": (
        _job("{key: a, notebook: '${notebooks.clean-shipments.path}'}"),
        "reach.yaml:7:26: spec.tasks[0].notebook: `${notebooks.clean-shipments.path}`: "
        "tenant `acme` has no Notebook `clean-shipments`",
    ),
    "model from globex's catalog": (
        _endpoint("acme-reach", f"{VICTIM_CATALOG}.assistants.delay_assistant"),
        "reach.yaml:7:11: spec.model.name: model 'globex_logistics.assistants.delay_assistant'",
    ),
    "model from globex's catalog by reference": (
        _endpoint("acme-reach", "'${tenants.globex.catalog}.assistants.delay_assistant'"),
        "tenant `acme` has no Tenant `globex`",
    ),
    "globex's endpoint by name": (
        _endpoint("globex-delay-assistant", "${tenants.acme.catalog}.agents.x", "  adopt: true\n"),
        "reach.yaml:4:9: metadata.name: serving endpoint `globex-delay-assistant` is outside",
    ),
    "index over globex's table": (
        _index(f"{VICTIM_CATALOG}.knowledge.docs"),
        "reach.yaml:6:11: spec.source: source 'globex_logistics.knowledge.docs' is outside",
    ),
}


def _documents_are_refused(estate: Estate) -> None:
    reach = estate.specs / "acme" / "reach.yaml"
    for case, (text, expected) in DOCUMENTS.items():
        reach.write_text(text)
        for command in ("validate", "plan", "apply"):
            argv = [command, str(estate.specs / "acme")]
            argv += ["--auto-approve"] if command == "apply" else []
            result = estate.run(*argv)
            assert result.code == 1, (case, command, result.out, result.err)
            assert expected in result.err, (case, command, result.err)
            assert "Traceback" not in result.err
    reach.unlink()


def _claims_are_refused(estate: Estate, tmp_path: Path) -> None:
    # Next to globex in the tree: both Tenant documents are blamed, each naming the other.
    mallory = estate.specs / "mallory"
    mallory.mkdir()
    (mallory / "tenant.yaml").write_text(_tenant("mallory", "{tenantId: globex-eu, adopt: true}"))
    (mallory / "steal.yaml").write_text(_notebook("steal", "  adopt: true\n"))
    result = estate.run("validate", str(estate.specs))
    assert result.code == 1
    blamed = {line.split(" ", 1)[0]: line for line in result.err.splitlines()[:2]}
    assert blamed.keys() == {"mallory/tenant.yaml:5:18:", "globex/tenant.yaml:12:13:"}, blamed
    assert "at globex/tenant.yaml:5 (tenant `globex`)" in blamed["mallory/tenant.yaml:5:18:"]
    assert "at mallory/tenant.yaml:1 (tenant `mallory`)" in blamed["globex/tenant.yaml:12:13:"]
    assert estate.run("apply", str(estate.specs), "--auto-approve").code == 1
    shutil.rmtree(mallory)

    # Alone against the state database: plan and apply refuse, naming both tenants.
    for spec, held in [
        ("{tenantId: globex-eu, adopt: true}", "tenantId `globex-eu` is held by tenant `globex`"),
        ("{catalog: globex_logistics, adopt: true}", "catalog `globex_logistics` is held by"),
    ]:
        alone = tmp_path / "alone" / "mallory"
        shutil.rmtree(alone.parent, ignore_errors=True)
        alone.mkdir(parents=True)
        (alone / "tenant.yaml").write_text(_tenant("mallory", spec))
        (alone / "steal.yaml").write_text(_notebook("steal", "  adopt: true\n"))
        assert estate.run("validate", str(alone.parent)).code == 0, "the tree alone is fine"
        for command in ("plan", "apply"):
            argv = [command, str(alone.parent)] + (["--auto-approve"] if command == "apply" else [])
            result = estate.run(*argv)
            assert result.code == 1, (spec, command, result.out)
            assert "tenant `mallory` claims what another tenant of this state database holds" in (
                result.err
            ), result.err
            assert held in result.err

    # An allow-listed endpoint name in a tree without globex: globex's endpoint is recorded
    # by globex in the state database, so adopting it is a conflict naming globex.
    alone = tmp_path / "alone" / "mallory"
    shutil.rmtree(alone.parent)
    alone.mkdir(parents=True)
    (alone / "tenant.yaml").write_text(
        _tenant("mallory", "{namespace: {endpoints: [globex-delay-assistant]}}")
    )
    (alone / "agent.yaml").write_text(
        _endpoint("globex-delay-assistant", "${tenants.mallory.catalog}.a.m", "  adopt: true\n")
    )
    plan = estate.run("plan", str(alone.parent), "--format", "json")
    [change] = [
        c for t in json.loads(plan.out)["tenants"] for c in t["resource_changes"]
        if c["kind"] == "ServingEndpoint"
    ]  # fmt: skip
    assert change["action"] == "conflict"
    assert "owned by tenant `globex` of this state database" in change["reason"]
    assert estate.run("apply", str(alone.parent), "--auto-approve").code == 1


def _connector_refuses(estate: Estate) -> None:
    api = estate.api
    q = {"tenant_id": VICTIM_ID}
    job = api.get("/databricks/jobs", params=q).json()["jobs"][0]
    [run] = api.get(f"/databricks/jobs/{job['job_id']}/runs", params=q).json()["runs"]
    objects = {
        "path": f"{FOLDER}/clean-shipments",
        "job_id": job["job_id"],
        "run_id": run["run_id"],
        "endpoint": "globex-delay-assistant",
        "index": f"{VICTIM_CATALOG}.default.manuals",
    }
    for response in attacks_on(api, objects, "acme"):
        assert response.status_code == 404, (response.request.url, response.text)
    for response in backend_calls(api, objects):
        assert response.status_code == 400, (response.request.url, response.text)
        assert "tenant_id" in response.json()["detail"]
    squat = {"tenant_id": "acme", "name": "x", "language": "python", "content": "1"}
    for path in (f"{FOLDER}/x", "/Workspace/AgentProvision/acme/../globex-eu/x"):
        response = api.post("/databricks/notebooks", json={**squat, "path": path})
        assert response.status_code == 400, response.text


def test_no_way_from_one_tenant_to_the_other(estate: Estate, tmp_path: Path) -> None:
    applied = estate.run("apply", str(estate.specs), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    job = estate.api.get("/databricks/jobs", params={"tenant_id": VICTIM_ID}).json()["jobs"][0]
    started = estate.api.post(
        f"/databricks/jobs/{job['job_id']}/run", json={"tenant_id": VICTIM_ID}
    ).json()
    estate.api.post(
        f"/databricks/runs/{started['run_id']}/cancel", json={"tenant_id": VICTIM_ID}
    ).raise_for_status()
    objects, rows = victim_objects(estate.api), victim_rows(estate.db_url)
    writes = estate.writes()

    _documents_are_refused(estate)
    _claims_are_refused(estate, tmp_path)
    assert estate.writes() == writes, "no refused document sent a write to the connector"
    _connector_refuses(estate)

    assert victim_objects(estate.api) == objects
    assert victim_rows(estate.db_url) == rows
    again = estate.run("plan", str(estate.specs / "globex"), "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
