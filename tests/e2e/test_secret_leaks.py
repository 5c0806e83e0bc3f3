"""Secrets that used to travel in clear: through references and identities, in validation
errors, in connector errors quoting a listed value.

Each CLI call starts with an empty registry of secret values, as a fresh process does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa

from reconciler import scrub
from reconciler.state import normalize_database_url
from tests.e2e.conftest import CliResult, World
from tests.support.secret_fixtures import PutSecret


def _run(world: World, *argv: str) -> CliResult:
    scrub.forget_all()  # a fresh process knows no secret yet
    return world.run(*argv)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _dump_state() -> str:
    engine = sa.create_engine(normalize_database_url(os.environ["DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            tables = sa.MetaData()
            tables.reflect(connection)
            rows = [
                [list(map(str, row)) for row in connection.execute(table.select())]
                for table in tables.sorted_tables
            ]
            return json.dumps(rows)
    finally:
        engine.dispose()


def test_a_path_built_from_a_secret_is_hidden_wherever_it_is_referenced(
    world: World, put_secret: PutSecret, tmp_path: Path
) -> None:
    secret = "folder-7c1d2e-secret"
    put_secret("acme", "NB_FOLDER", secret)
    _edit(
        world.specs / "acme/notebooks.yaml",
        "  name: ingest-sales\nspec:\n",
        "  name: ingest-sales\nspec:\n  path: /Workspace/AgentProvision/acme/${secret:NB_FOLDER}\n",
    )
    saved = tmp_path / "p.plan"
    outputs = [
        _run(world, "plan", str(world.specs)),
        _run(world, "plan", str(world.specs), "--format", "json"),
        _run(world, "plan", str(world.specs), "--format", "markdown"),
        _run(world, "plan", str(world.specs), "--out", str(saved)),
        _run(world, "apply", str(world.specs), "--auto-approve"),
        _run(world, "state", "list", "--tenant", "acme"),
        _run(world, "state", "show", "acme/Job/nightly-sales"),
        _run(world, "state", "show", "acme/Notebook/ingest-sales"),
        _run(world, "drift", str(world.specs), "--format", "json"),
    ]
    assert all(o.code in (0, 2) for o in outputs), [o.err for o in outputs]
    for output in outputs:
        assert secret not in output.out + output.err
    assert "ingest-sales" in outputs[5].out and "(sensitive)" in outputs[5].out
    assert secret not in saved.read_text(), "the saved plan's identities are scrubbed"
    assert secret not in _dump_state()
    jobs = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"]
    tasks = {t["task_key"]: t for t in jobs[0]["settings"]["tasks"]}
    path = tasks["ingest"]["notebook_task"]["notebook_path"]
    assert path == f"/Workspace/AgentProvision/acme/{secret}", "the connector got the real path"
    scrub.forget_all()
    assert world.changes() == [], "the scrubbed record still matches: nothing to do"


def test_a_validation_error_never_quotes_a_secret(world: World, put_secret: PutSecret) -> None:
    secret = "Not A Model 3f9a-secret"
    put_secret("acme", "MODEL_NAME", secret)
    _edit(
        world.specs / "acme/agent.yaml",
        "    name: ${tenants.acme.catalog}.agents.support_agent",
        "    name: ${secret:MODEL_NAME}",
    )
    for command in ("validate", "plan"):
        result = _run(world, command, str(world.specs))
        assert result.code == 1
        assert "acme/agent.yaml:" in result.err and "spec.model.name" in result.err
        assert "(sensitive)" in result.err
        assert secret not in result.out + result.err


def test_a_connector_error_echoing_a_listed_secret_is_redacted(
    world: World, put_secret: PutSecret
) -> None:
    r"""The connector quotes a bad list value with repr(): ``'a\\b'`` for ``a\b``."""
    secret = "col\\secret-2b8e"
    put_secret("acme", "EXTRA_COLUMN", secret)
    table = {
        "tenant_id": "acme",
        "name": "extra",
        "schema_name": "support",
        "description": "made outside the documents",
        "schema": [
            {"name": "id", "type": "bigint", "nullable": False, "comment": None},
            {"name": "body", "type": "string", "nullable": True, "comment": None},
        ],
    }
    assert _run(world, "apply", str(world.specs), "--auto-approve").code == 0
    world.api.post("/datasets", json=table).raise_for_status()
    (world.specs / "acme/extra-index.yaml").write_text(
        "apiVersion: agentprovision.ai/v1\nkind: VectorIndex\nmetadata: {name: extra-index}\n"
        "spec:\n  source: agentprovision_acme.support.extra\n  primary_key: id\n"
        "  embedding: {source_column: body, model_endpoint: databricks-gte-large-en}\n"
        '  columns_to_sync: [id, body, "${secret:EXTRA_COLUMN}"]\n'
    )
    result = _run(world, "apply", str(world.specs), "--auto-approve")
    assert result.code == 1, result.out + result.err
    assert "columns_to_sync" in result.out + result.err
    assert "(sensitive)" in result.out + result.err
    outputs = [
        result,
        _run(world, "apply", str(world.specs), "--auto-approve", "--format", "json"),
        _run(world, "history", "--steps", "--format", "json"),
        _run(world, "history", "--steps"),
    ]
    dump = _dump_state()
    assert "columns_to_sync" in dump, "the failure is in history"
    for form in scrub.forms(secret):
        assert form not in dump
        for output in outputs:
            assert form not in output.out + output.err
