"""Property: a secret's clear text leaves the process only in the connector call.

Hypothesis draws a tenant whose documents use ``${secret:NAME}`` at random string
positions — scalars (a dataset description), lists (failure e-mails), maps inside
lists (task parameters), maps (job, endpoint and catalog tags/properties), and a
notebook path that a job references through ``${notebooks.x.path}`` — with
secret values drawn over awkward characters (quotes, backslashes, ``%``, ``&``).
Every command runs as a fresh process would (no secret known beforehand), with
every log record captured: validate, plan (text, JSON, Markdown), plan --out,
apply (text and JSON events), history, state list/show, drift. The clear text
(and its JSON-escaped form) must appear in none of them, nor in the saved plan,
nor in any row of any state table, while the connector did receive it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import scrub
from reconciler.cli import main
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.secrets import SECRETS_DIR_ENV

POSITIONS = (
    "parameter",
    "tag",
    "email",
    "notebook_path",
    "property",
    "endpoint_tag",
    "description",
)
_counter = itertools.count()


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[RunningEmulator]:
    with running_emulator(ready_delay=0.05) as running:
        yield running


@dataclass
class Case:
    secrets: dict[str, str]  # NAME -> clear value
    positions: dict[str, str]  # position -> NAME


secret_values = st.builds(
    lambda core, odd: f"zq{core[:3]}{odd}{core[3:]}",
    st.text(alphabet="abcdefghijkmnopqrstuvwxyz0123456789-_", min_size=6, max_size=14),
    st.sampled_from(["", "", "\\", '"', "'", "%", "&", "+", "~"]),
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    values = draw(st.lists(secret_values, min_size=1, max_size=2, unique=True))
    names = [f"S{i}" for i in range(len(values))]
    chosen = draw(st.lists(st.sampled_from(POSITIONS), min_size=1, max_size=4, unique=True))
    positions = {p: draw(st.sampled_from(names)) for p in chosen}
    return Case(dict(zip(names, values, strict=True)), positions)


def _docs(tenant: str, case: Case) -> list[dict[str, object]]:
    def ref(position: str, template: str = "{}") -> str | None:
        name = case.positions.get(position)
        return template.format("${secret:" + name + "}") if name else None

    def doc(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
        clean = {k: v for k, v in spec.items() if v is not None}
        return {
            "apiVersion": "agentprovision.ai/v1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": clean,
        }

    prop = ref("property")
    notebook_path = ref("notebook_path", f"/Workspace/AgentProvision/{tenant}/nb-{{}}")
    parameter, tag, email = ref("parameter"), ref("tag", "team-{}"), ref("email", "{}@x.example")
    endpoint_tag = ref("endpoint_tag")
    return [
        doc("Tenant", tenant, {"comment": "secrets", "properties": {"k": prop} if prop else None}),
        doc("Notebook", "nb", {"language": "python", "content": "print(1)", "path": notebook_path}),
        doc(
            "Dataset",
            "ds",
            {
                "description": ref("description", "rows for {}"),
                "columns": [{"name": "id", "type": "bigint"}, {"name": "body", "type": "string"}],
            },
        ),
        doc(
            "Job",
            "job",
            {
                "tasks": [
                    {
                        "key": "t",
                        "notebook": "${notebooks.nb.path}",
                        "parameters": {"table": "${datasets.ds.table}", "token": parameter}
                        if parameter
                        else {"table": "${datasets.ds.table}"},
                    }
                ],
                "tags": {"owner": tag} if tag else None,
                "email_notifications": {"on_failure": ["ops@x.example", email]} if email else None,
            },
        ),
        doc(
            "ServingEndpoint",
            f"{tenant}-agent",
            {
                "model": {"name": f"${{tenants.{tenant}.catalog}}.agents.m", "version": "1"},
                "tags": {"secret": endpoint_tag} if endpoint_tag else None,
            },
        ),
    ]


def _run(*argv: str) -> tuple[int, str]:
    scrub.forget_all()  # each command is a fresh process: it knows no secret yet
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def _dump(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.MetaData()
            tables.reflect(connection)
            return json.dumps(
                {
                    t.name: [list(map(str, row)) for row in connection.execute(t.select())]
                    for t in tables.sorted_tables
                }
            )
    finally:
        engine.dispose()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_no_secret_leaves_but_in_the_connector_call(
    case: Case, shared_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = f"leak{next(_counter)}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs, secrets_dir, saved = root / "specs", root / "secrets", root / "p.plan"
        (specs / tenant).mkdir(parents=True)
        (secrets_dir / tenant).mkdir(parents=True)
        for name, value in case.secrets.items():
            (secrets_dir / tenant / name).write_text(value + "\n", encoding="utf-8")
        for i, document in enumerate(_docs(tenant, case)):
            (specs / tenant / f"doc{i}.yaml").write_text(json.dumps(document))
        db = f"sqlite:///{root}/state.db"
        monkeypatch.setenv(SECRETS_DIR_ENV, str(secrets_dir))
        monkeypatch.setenv("DATABASE_URL", db)
        monkeypatch.setenv("MCP_SERVER_URL", shared_emulator.url)
        monkeypatch.setenv("MCP_API_KEY", shared_emulator.api_key)

        logs = io.StringIO()
        handler = logging.StreamHandler(logs)
        handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
        root_logger = logging.getLogger()
        level = root_logger.level
        root_logger.addHandler(handler)
        root_logger.setLevel(logging.DEBUG)
        try:
            folder = str(specs)
            runs = [
                _run("validate", folder),
                _run("plan", folder),
                _run("plan", folder, "--format", "json"),
                _run("plan", folder, "--format", "markdown"),
                _run("plan", folder, "--out", str(saved)),
                _run("apply", folder, "--auto-approve"),
                _run("apply", folder, "--auto-approve", "--format", "json"),
                _run("history", "--steps"),
                _run("history", "--steps", "--format", "json"),
                _run("state", "list"),
                _run("state", "list", "--tenant", tenant),
                *(
                    _run("state", "show", f"{tenant}/{kind}/{name}")
                    for kind, name in [("Notebook", "nb"), ("Job", "job"), ("Tenant", tenant)]
                ),
                _run("drift", folder),
                _run("drift", folder, "--format", "json"),
            ]
        finally:
            root_logger.removeHandler(handler)
            root_logger.setLevel(level)

        failed = [text for code, text in runs if code not in (0, 2)]
        assert not failed, failed
        outputs = {
            **{f"command {i}": text for i, (_, text) in enumerate(runs)},
            "logs": logs.getvalue(),
            "saved plan": saved.read_text(),
            "state tables": _dump(db),
        }
        for value in case.secrets.values():
            for form in {value, json.dumps(value)[1:-1]}:
                leaked = [where for where, text in outputs.items() if form in text]
                assert not leaked, f"{form!r} leaked in {leaked}"
        _assert_the_connector_got_them(shared_emulator, tenant, case)


def _assert_the_connector_got_them(emulator: RunningEmulator, tenant: str, case: Case) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    base = emulator.url + "/agentprovision/v1/databricks"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as api:
        jobs = api.get("/jobs", params={"tenant_id": tenant}).json()["jobs"]
    sent = list(_strings(jobs[0]["settings"]))
    for position in ("parameter", "tag", "email", "notebook_path"):
        if position in case.positions:
            value = case.secrets[case.positions[position]]
            assert any(value in text for text in sent), position


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
