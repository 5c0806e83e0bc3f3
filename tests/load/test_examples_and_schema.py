"""The examples load cleanly and match the checked-in JSON Schema, which is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.kinds import KINDS
from reconciler.schema import SCHEMA_PATH, build_schema, schema_is_current, write_schema
from tests.load.helpers import load_ok

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))


def test_the_checked_in_schema_is_current() -> None:
    assert schema_is_current(SCHEMA_PATH), (
        f"{SCHEMA_PATH} is stale: run `reconciler schema` and commit the result"
    )


def test_write_schema_then_it_is_current(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert not schema_is_current(target)
    write_schema(target)
    assert schema_is_current(target)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = build_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("agentprovision.v1.schema.json")
    kinds = {ref["$ref"].rsplit("/", 1)[-1] for ref in schema["oneOf"]}
    assert kinds == {f"{kind}Document" for kind in KINDS}


@pytest.mark.parametrize(
    "file", EXAMPLE_FILES, ids=[f.relative_to(EXAMPLES).as_posix() for f in EXAMPLE_FILES]
)
def test_example_documents_match_the_schema(file: Path) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    documents = [d for d in yaml.safe_load_all(file.read_text()) if d is not None]
    assert documents
    for document in documents:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []


@pytest.mark.parametrize(
    "file", EXAMPLE_FILES, ids=[f.relative_to(EXAMPLES).as_posix() for f in EXAMPLE_FILES]
)
def test_example_files_name_the_schema_relative_to_themselves(file: Path) -> None:
    first = file.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (file.parent / first.removeprefix(prefix)).resolve() == SCHEMA_PATH


def test_the_schema_rejects_a_typo() -> None:
    validator = Draft202012Validator(build_schema())
    document = {
        "apiVersion": "agentprovision.ai/v1",
        "kind": "Notebook",
        "metadata": {"name": "a"},
        "spec": {"language": "python", "content": "x", "langauge": "sql"},
    }
    assert list(validator.iter_errors(document))


def test_the_examples_load_cleanly_with_every_kind() -> None:
    tenants = {t.context.name: t for t in load_ok(EXAMPLES)}
    assert sorted(tenants) == ["acme", "globex"]
    for tenant in tenants.values():
        assert {key.kind for key in tenant.resources} == set(KINDS)
        assert set(tenant.order) == set(tenant.resources)


@pytest.mark.parametrize("name", ["acme", "globex"])
def test_each_example_tenant_loads_on_its_own(name: str) -> None:
    (tenant,) = load_ok(EXAMPLES / name)
    assert tenant.context.name == name
