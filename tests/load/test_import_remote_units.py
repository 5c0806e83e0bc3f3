"""``import remote`` without a connector: which names it takes, what it writes, and where."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from reconciler.document import NAME_RULE, Metadata, is_name
from reconciler.import_remote import Imported, Remote, documents, write
from reconciler.kinds import KINDS
from reconciler.kinds.base import TenantContext

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
    assert reason.startswith("Job `nightly\n`: its name is not a valid metadata.name")
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
    assert reason.startswith(f"Notebook `{path}`: language:"), reason


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
