"""``import remote``: objects made by hand through the connector are adopted, ids kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.document import NAME_RULE
from tests.e2e.conftest import World
from tests.e2e.test_cli_errors import _reconciler
from tests.support.secret_fixtures import PutSecret

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
TENANT = "handmade"


def _by_hand(world: World) -> dict[str, int]:
    """A catalog, a notebook and three jobs, none made by the reconciler."""
    api = world.api
    catalog = {"tenant_id": TENANT, "catalog_name": f"agentprovision_{TENANT}", "comment": "ours"}
    api.post("/catalogs", json=catalog).raise_for_status()
    notebook = {"tenant_id": TENANT, "name": "etl", "language": "python", "content": "print(1)"}
    path = api.post("/notebooks", json=notebook).json()["path"]
    ids = {}
    for name, extra in (
        ("nightly-etl", {"schedule": {"quartz_cron_expression": "0 0 1 * * ?"}}),
        ("Weekly Report", {}),
        ("warehouse", {"tags": {"team": "bi"}, "max_concurrent_runs": 3}),
    ):
        tasks = [
            {"task_key": "a", "notebook_task": {"notebook_path": path}},
            {"task_key": "b", "depends_on": [{"task_key": "a"}],
             "sql_task": {"warehouse_id": "w", "query": {"query_id": "q"}}},
        ]  # fmt: skip
        body = {"tenant_id": TENANT, "name": name, "tasks": tasks, **extra}
        ids[name] = api.post("/jobs", json=body).json()["job_id"]
    return ids


def test_import_remote_then_apply_adopts_and_plans_empty(world: World, tmp_path: Path) -> None:
    ids = _by_hand(world)
    out = tmp_path / "imported"
    result = world.run("import", "remote", "--tenant", TENANT, "--out", str(out))
    assert result.code == 0, result.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml")) == [
        "jobs/nightly-etl.yaml",
        "jobs/warehouse.yaml",
        "notebooks/etl.yaml",
        "tenant.yaml",
    ]
    assert "Job 'Weekly Report': its name is not a valid metadata.name" in result.err
    assert (out / "notebooks" / "etl.py").read_text() == "print(1)"
    assert world.run("validate", str(out)).code == 0

    applied = world.run("apply", str(out), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert world.changes(out) == []
    jobs = world.api.get("/jobs", params={"tenant_id": TENANT}).json()["jobs"]
    assert {j["settings"]["name"]: j["job_id"] for j in jobs} == ids, "ids unchanged"
    listed = world.run("state", "list", "--tenant", TENANT)
    assert "nightly-etl" in listed.out and "warehouse" in listed.out

    again = world.run("import", "remote", "--tenant", TENANT, "--out", str(out))
    assert again.code == 1 and "nothing was written" in again.err


def test_import_remote_only_names_the_tenants_own_objects(world: World, tmp_path: Path) -> None:
    """Another tenant's jobs are never listed, so never imported (a tenant sees only its own)."""
    _by_hand(world)
    out = tmp_path / "other"
    result = world.run(
        "import", "remote", "--tenant", "someone-else", "--out", str(out), "--kind", "Job"
    )
    assert result.code == 0, result.err
    assert [p.name for p in out.rglob("*.yaml")] == ["tenant.yaml"]


CATALOG = f"agentprovision_{TENANT}"
FOLDER = f"/Workspace/AgentProvision/{TENANT}"
SECRET = "tok-handmade-4242"


def _every_kind_by_hand(world: World) -> dict[tuple[str, str], str]:
    """One object of every kind (and a few awkward ones), none made by the reconciler;
    their remote ids by (kind, remote name)."""
    api, ids = world.api, {}
    _by_hand(world)
    columns = [
        {"name": "id", "type": "BIGINT", "nullable": False, "comment": "key"},
        {"name": "body", "type": "string"},
        {"name": "vec", "type": "ARRAY< FLOAT >"},
        {"name": "price", "type": "decimal(10, 2)"},
    ]
    rows = [[1, "refunds take 5 days", [0.1, 0.2], "1.50"], [2, "hi", [0.3, 0.4], None]]
    for schema in ("default", "staging"):  # two tables of one name: the second is skipped
        body = {"tenant_id": TENANT, "name": "docs", "schema_name": schema, "schema": columns,
                "description": "support docs", "data": rows}  # fmt: skip
        ids[("Dataset", f"{schema}.docs")] = api.post("/datasets", json=body).json()["table_path"]
    for path, language, content in (
        (f"{FOLDER}/Sub_Dir/Report-Q1", "sql", "SELECT 1 -- ${not.a.ref}"),
        (f"{FOLDER}/sub_dir/report-q1", "scala", "println(1)"),
        (f"{FOLDER}/with space", "python", "print(3)"),
    ):
        body = {"tenant_id": TENANT, "name": "x", "path": path, "language": language,
                "content": content}  # fmt: skip
        ids[("Notebook", path)] = str(api.post("/notebooks", json=body).json()["object_id"])
    for name, tags in (("handmade-agent", {"team": "support"}), ("support-bot", {})):
        body = {"tenant_id": TENANT, "name": name, "model_name": f"{CATALOG}.default.bot",
                "model_version": 3, "workload_size": "Medium", "scale_to_zero_enabled": False,
                "tags": tags}  # fmt: skip
        ids[("ServingEndpoint", name)] = api.post("/serving-endpoints", json=body).json()["id"]
    index = {"tenant_id": TENANT, "name": "docs_index", "endpoint_name": "vs", "primary_key": "id",
             "delta_sync_index_spec": {"source_table": f"{CATALOG}.default.docs",
                                       "embedding_vector_columns": [
                                           {"name": "vec", "embedding_dimension": 2}],
                                       "columns_to_sync": ["id", "body"]}}  # fmt: skip
    api.post("/vector-indexes", json=index).raise_for_status()
    index = {**index, "name": "by_text", "delta_sync_index_spec": {
        "source_table": f"{CATALOG}.default.docs", "pipeline_type": "CONTINUOUS",
        "embedding_source_columns": [
            {"name": "body", "embedding_model_endpoint_name": "support-bot"}]}}  # fmt: skip
    api.post("/vector-indexes", json=index).raise_for_status()
    literal = {"tenant_id": TENANT, "name": "templated", "tags": {"token": SECRET},
               "tasks": [{"task_key": "a", "notebook_task": {
                   "notebook_path": f"{FOLDER}/etl",
                   "base_parameters": {"ref": "${resources.jobs.nightly-etl.id}",
                                       "day": "{{job.parameters.day}}"}}}]}  # fmt: skip
    ids[("Job", "templated")] = str(api.post("/jobs", json=literal).json()["job_id"])
    return ids


def _remote_ids(world: World) -> dict[str, str]:
    """Every object of the tenant: its remote id by kind and remote name."""
    found = {}
    for route, items, name, rid in (
        ("/jobs", "jobs", lambda o: o["settings"]["name"], "job_id"),
        ("/notebooks", "notebooks", lambda o: o["path"], "object_id"),
        ("/datasets", "datasets", lambda o: o["table_path"], "table_path"),
        ("/serving-endpoints", "endpoints", lambda o: o["name"], "id"),
        ("/vector-indexes", "vector_indexes", lambda o: o["name"], "name"),
    ):
        page = world.api.get(route, params={"tenant_id": TENANT, "limit": 100}).json()
        found.update({f"{route}:{name(o)}": str(o[rid]) for o in page[items]})
    return found


def test_every_kind_is_imported_adopted_with_ids_and_rows_kept(
    world: World, tmp_path: Path, put_secret: PutSecret
) -> None:
    put_secret(TENANT, "API_TOKEN", SECRET)
    _every_kind_by_hand(world)
    before = _remote_ids(world)
    out = tmp_path / "imported"

    result = world.run("import", "remote", "--tenant", TENANT, "--out", str(out))
    assert result.code == 0, result.err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "datasets/docs.yaml",
        "jobs/nightly-etl.yaml",
        "jobs/templated.yaml",
        "jobs/warehouse.yaml",
        "notebooks/etl.py",
        "notebooks/etl.yaml",
        "notebooks/sub_dir-report-q1-2.scala",
        "notebooks/sub_dir-report-q1-2.yaml",
        "notebooks/sub_dir-report-q1.sql",
        "notebooks/sub_dir-report-q1.yaml",
        "serving_endpoints/handmade-agent.yaml",
        "serving_endpoints/support-bot.yaml",
        "tenant.yaml",
        "vector_indexes/by_text.yaml",
        "vector_indexes/docs_index.yaml",
    ], result.err
    assert f"Dataset '{CATALOG}.staging.docs': another Dataset is imported as `docs`" in result.err
    assert f"Notebook '{FOLDER}/with space': path: String should match" in result.err
    assert (out / "notebooks/sub_dir-report-q1.sql").read_text() == "SELECT 1 -- ${not.a.ref}"
    texts = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert SECRET not in texts and "${secret:API_TOKEN}" in texts
    assert "support-bot" in (out / "tenant.yaml").read_text(), "outside the prefix: listed"
    assert world.run("validate", str(out)).code == 0

    applied = world.run("apply", str(out), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert world.changes(out) == []
    assert _remote_ids(world) == before, "every object adopted with its id"
    table = world.api.get(f"/datasets/{TENANT}/default.docs").json()
    assert table["row_count"] == 2 and table["version"] == 0, "rows kept, table not rewritten"
    [job] = [j for j in world.api.get("/jobs", params={"tenant_id": TENANT}).json()["jobs"]
             if j["settings"]["name"] == "templated"]  # fmt: skip
    params = job["settings"]["tasks"][0]["notebook_task"]["base_parameters"]
    assert params["ref"] == "${resources.jobs.nightly-etl.id}", "a literal stays literal"


def test_kind_filter_accepts_every_kind(world: World, tmp_path: Path) -> None:
    _every_kind_by_hand(world)
    for i, (kind, folder) in enumerate((
        ("Dataset", "datasets"), ("notebooks", "notebooks"), ("job", "jobs"),
        ("ServingEndpoint", "serving_endpoints"), ("vector_indexes", "vector_indexes"),
        ("Tenant", None),
    )):  # fmt: skip
        out = tmp_path / f"only-{i}"
        result = world.run(
            "import", "remote", "--tenant", TENANT, "--out", str(out), "--kind", kind
        )
        assert result.code == 0, result.err
        folders = {p.parent.name for p in out.rglob("*.yaml") if p.parent != out}
        assert folders == ({folder} if folder else set()), (kind, folders)


def test_hostile_names_never_write_outside_out(world: World, tmp_path: Path) -> None:
    """Names made to escape the folder are skipped or made safe; another tenant is unseen
    (the import runs as its own process, as a pipeline runs it)."""
    api = world.api
    _by_hand(world)
    tasks = [{"task_key": "a", "notebook_task": {"notebook_path": f"{FOLDER}/etl"}}]
    for name in ("../escape", "/tmp/absolute", "a/b", "..", "x/../../y"):
        api.post(
            "/jobs", json={"tenant_id": TENANT, "name": name, "tasks": tasks}
        ).raise_for_status()
    for path in (f"{FOLDER}/..x/y", f"{FOLDER}/...", f"{FOLDER}/etc/passwd"):
        body = {"tenant_id": TENANT, "name": "n", "path": path, "language": "python",
                "content": "print(2)"}  # fmt: skip
        api.post("/notebooks", json=body).raise_for_status()
    other = {"tenant_id": "other", "catalog_name": "agentprovision_other"}
    api.post("/catalogs", json=other).raise_for_status()
    api.post("/jobs", json={"tenant_id": "other", "name": "theirs", "tasks": tasks})
    out = tmp_path / "deep" / "out"
    before = {p for p in tmp_path.rglob("*") if p.is_file()}

    result = _reconciler("import", "remote", "--tenant", TENANT, "--out", str(out), env={},
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    new = {p.resolve() for p in tmp_path.rglob("*") if p.is_file() and p.name != "state.db"}
    new -= before
    assert new and [p for p in new if not p.is_relative_to(out.resolve())] == []
    assert not any(Path(p).exists() for p in ("/tmp/absolute.yaml", "/tmp/absolute"))
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert "notebooks/etc-passwd.yaml" in names and "notebooks/x-y.yaml" in names, names
    assert not any("theirs" in n or "escape" in n for n in names), names
    for name in ("../escape", "/tmp/absolute", "a/b", "x/../../y"):
        assert f"Job {name!r}: its name is not a valid metadata.name" in result.stderr
    assert world.run("validate", str(out)).code == 0


@pytest.mark.parametrize("tenant", ["handmade\n", "Handmade", "handmade-"])
def test_a_tenant_that_is_no_document_name_is_refused_in_one_line(
    world: World, tmp_path: Path, tenant: str
) -> None:
    out = tmp_path / "out"
    result = world.run("import", "remote", "--tenant", tenant, "--out", str(out))
    assert result.code == 1, result.err
    [line] = result.err.strip().splitlines()
    assert f"--tenant {tenant!r} is not a valid metadata.name" in line, line
    assert NAME_RULE in line, line
    assert not out.exists()


def test_objects_another_tenant_records_are_never_imported(world: World, tmp_path: Path) -> None:
    """Even pointed at that tenant's id, an import leaves out what another tenant manages."""
    _by_hand(world)
    ours = tmp_path / "ours"
    assert world.run("import", "remote", "--tenant", TENANT, "--out", str(ours)).code == 0
    assert world.run("apply", str(ours), "--auto-approve").code == 0
    out = tmp_path / "theirs"
    result = world.run(
        "import", "remote", "--tenant", "squatter", "--tenant-id", TENANT, "--out", str(out)
    )
    assert result.code == 0, result.err
    assert [p.name for p in out.rglob("*.yaml")] == ["tenant.yaml"]
    assert f"recorded by tenant `{TENANT}`" in result.err
