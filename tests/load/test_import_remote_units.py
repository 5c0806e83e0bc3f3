"""``import remote`` without a connector: which names it takes, what it writes, and where."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from reconciler import scrub
from reconciler.document import NAME_RULE, Metadata, is_name
from reconciler.import_remote import Imported, Remote, documents, notebook_sources, write
from reconciler.kinds import KINDS
from reconciler.kinds.base import TenantContext
from reconciler.mcp.client import ConnectorClient

CONTEXT = TenantContext("t", "t", "agentprovision_t")
FOLDER = "/Workspace/AgentProvision/t"


def _job(name: str) -> Remote:
    tasks = [{"task_key": "a", "notebook_task": {"notebook_path": f"{FOLDER}/etl"}}]
    raw = {"job_id": 7, "settings": {"name": name, "tasks": tasks}}
    return Remote(CONTEXT, [KINDS["Job"].project(raw)])


@pytest.mark.parametrize(
    "name",
    ["nightly", "a", "a" * 63, "a" * 64, "nightly\n", "-a", "a-", "Nightly", "a.b", "", "a\nb"],
)
def test_is_name_agrees_with_the_document_model(name: str) -> None:
    try:
        Metadata(name=name)
        valid = True
    except ValidationError:
        valid = False
    assert is_name(name) is valid


def test_a_job_whose_name_ends_in_a_newline_is_skipped_with_the_shared_rule() -> None:
    """``re.match`` takes ``nightly\\n`` for a name (``$`` matches before a final newline);
    the document model does not, so no document (nor file name) is made of it."""
    imported = documents(_job("nightly\n"))
    assert [path for path, _ in imported.documents] == ["tenant.yaml"]
    [reason] = imported.skipped
    assert reason.startswith("Job 'nightly\\n': its name is not a valid metadata.name")
    assert "\n" not in reason  # the name is quoted: it cannot start a line of its own
    assert NAME_RULE in reason


def test_a_valid_job_name_becomes_its_document() -> None:
    imported = documents(_job("nightly"))
    assert [path for path, _ in imported.documents] == ["tenant.yaml", "jobs/nightly.yaml"]
    assert imported.skipped == []


def test_a_notebook_of_a_language_no_document_can_hold_is_skipped() -> None:
    """The suffix of such a notebook's file is only a stand-in: the spec check refuses it."""
    path = f"{FOLDER}/notes"
    raw = {"path": path, "language": "MARKDOWN", "object_id": "5"}
    remote = Remote(CONTEXT, [KINDS["Notebook"].project(raw)], sources={path: "# notes"})
    imported = documents(remote)
    assert [path for path, _ in imported.documents] == ["tenant.yaml"]
    assert imported.files == {}
    [reason] = imported.skipped
    assert reason.startswith(f"Notebook {path!r}: language:"), reason


@pytest.mark.parametrize("escape", ["../escape.yaml", "jobs/../../escape.yaml", "absolute"])
@pytest.mark.parametrize("as_file", [False, True])
def test_write_refuses_a_path_outside_out_and_writes_nothing(
    tmp_path: Path, escape: str, as_file: bool
) -> None:
    out = tmp_path / "out"
    if escape == "absolute":
        escape = str(tmp_path / "elsewhere" / "escape.yaml")
    document = {"kind": "Job", "metadata": {"name": "x"}}
    imported = Imported(documents=[("jobs/fine.yaml", document)])
    if as_file:
        imported.files[escape] = "print(1)"
    else:
        imported.documents.append((escape, document))
    with pytest.raises(ValueError, match=f"would be outside {out}"):
        write(out, imported)
    assert [p for p in tmp_path.rglob("*")] == [], "nothing written, not even the good file"


def _job_with(parameters: dict[str, str], secrets: dict[str, str]) -> Remote:
    task = {
        "task_key": "a",
        "notebook_task": {"notebook_path": f"{FOLDER}/etl", "base_parameters": parameters},
    }
    raw = {"job_id": 7, "settings": {"name": "nightly", "tasks": [task]}}
    return Remote(CONTEXT, [KINDS["Job"].project(raw)], secrets=secrets)


@pytest.fixture
def registered() -> Iterator[Callable[[str], None]]:
    """Register secret values for scrubbing (as ``tenant_secrets`` does), forgotten after."""
    yield scrub.register
    scrub.forget_all()


def test_secrets_become_references_in_one_pass(registered: Callable[[str], None]) -> None:
    secrets = {"SHORT": "secret", "LONG": "my-secret-token"}
    for value in secrets.values():
        registered(value)
    imported = documents(_job_with({"k": "my-secret-token and secret"}, secrets))
    [(_, job)] = [d for d in imported.documents if d[1]["kind"] == "Job"]
    value = job["spec"]["tasks"][0]["notebook_task"]["base_parameters"]["k"]
    assert value == "${secret:LONG} and ${secret:SHORT}"  # never ${${secret:SHORT}...}


@pytest.mark.parametrize(
    "parameters",
    [{"k": "p%40ss%2Fw0rd%2Bx"}, {"p@ss/w0rd+x": "key holds it"}],
    ids=["url-encoded", "in-a-key"],
)
def test_a_secret_in_a_form_no_reference_can_stand_for_skips_the_object(
    registered: Callable[[str], None], parameters: dict[str, str]
) -> None:
    registered("p@ss/w0rd+x")
    imported = documents(_job_with(parameters, {"TOKEN": "p@ss/w0rd+x"}))
    assert [path for path, _ in imported.documents] == ["tenant.yaml"]
    [reason] = imported.skipped
    assert "holds a secret's value" in reason and "p@ss" not in reason


async def test_a_notebook_deleted_since_it_was_listed_is_left_out_not_fatal() -> None:
    listed = KINDS["Notebook"].project(
        {"path": f"{FOLDER}/gone", "language": "PYTHON", "object_id": 3, "content_sha256": "x"}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"status": 404, "code": "NOT_FOUND", "detail": "gone", "request_id": "r"}
        return httpx.Response(404, json=body, headers={"Content-Type": "application/problem+json"})

    transport = httpx.MockTransport(handler)
    async with ConnectorClient("http://connector.test", "k", transport=transport) as client:
        assert await notebook_sources(client, CONTEXT, [listed]) == {}
