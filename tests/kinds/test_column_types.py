"""Every Delta column type in the spec: canonical forms, malformed types with file:line,
table evolution of complex types, and the VectorIndex checked against its dataset offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.kinds.columns import normalize_type
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Action
from tests.kinds.test_emulator import apply, change, client, desired, make_catalog  # noqa: F401
from tests.load.helpers import HEADER, Tree, load_ok, problem_lines, tenant
from tests.plan.scenario import column
from tests.plan.test_semantics import dataset_change

SAME = [
    ("ARRAY< FLOAT >", "array<float>"),
    ("Map<STRING, Integer>", "map<string,int>"),
    ("struct<a: INT NOT NULL COMMENT 'the a', b ARRAY<struct<c:string>>>",
     "struct<a:int not null comment 'the a',b:array<struct<c:string>>>"),
    ("DECIMAL", "decimal(10,0)"),
    ("dec(12, 2)", "decimal(12,2)"),
    ("TIMESTAMP_NTZ", "timestamp_ntz"),
    ("VARIANT", "variant"),
    ("Char(3)", "char(3)"),
    ("VARCHAR( 20 )", "varchar(20)"),
    ("void", "void"),
    ("map<int, array<map<string, double>>>", "map<int,array<map<string,double>>>"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "canonical"), SAME, ids=[c for _, c in SAME])
def test_types_are_canonical(given: str, canonical: str) -> None:
    assert normalize_type(given) == canonical
    assert normalize_type(canonical) == canonical


BAD = [
    ("array<", "ends too early"),
    ("map<string>", "expected ','"),
    ("struct<a int,>", "expected a field name"),
    ("array<int>>", "unexpected '>'"),
    ("struct<a int, A string>", "names a field twice"),
    ("decimal(40,2)", "1 <= precision <= 38"),
    ("interval day to second", "Delta Lake does not store INTERVAL DAY TO SECOND"),
    ("interval month to day", "not a valid interval qualifier"),
    ("array<void>", "VOID is not allowed inside"),
    ("geography", "unknown type"),
]


def dataset_doc(column_type: str, name: str = "docs") -> str:
    return (
        f"{HEADER}kind: Dataset\nmetadata:\n  name: {name}\nspec:\n  columns:\n"
        f"    - {{name: id, type: string}}\n"
        f"    - name: v\n      type: {column_type!r}\n"
    )


@pytest.mark.parametrize(("bad", "message"), BAD, ids=[b for b, _ in BAD])
def test_a_malformed_type_is_reported_at_its_line(tmp_path: Path, bad: str, message: str) -> None:
    Tree({"acme/tenant.yaml": tenant(), "acme/docs.yaml": dataset_doc(bad)}).write(tmp_path)
    [line] = problem_lines(tmp_path / "acme")
    assert line.startswith("docs.yaml:9:13: "), line
    assert "spec.columns[1].type" in line and message in line, line


def test_a_table_of_only_void_columns_is_refused(tmp_path: Path) -> None:
    doc = f"{HEADER}kind: Dataset\nmetadata:\n  name: t\nspec:\n  columns:\n    - {{name: a, type: void}}\n"
    Tree({"acme/tenant.yaml": tenant(), "acme/t.yaml": doc}).write(tmp_path)
    [line] = problem_lines(tmp_path / "acme")
    assert "only VOID columns" in line


EVOLUTION = [
    ("struct<a:int>", "struct<a:int,b:string>", Action.UPDATE, "field `b` added at the end: rows kept"),
    ("struct<a:int>", "struct<a:bigint>", Action.UPDATE, "field `a` type widened int → bigint"),
    ("struct<a:int not null>", "struct<a:int>", Action.UPDATE, "field `a` NOT NULL relaxed"),
    ("struct<a:int>", "struct<a:int comment 'x'>", Action.UPDATE, "field `a` comment changed"),
    ("struct<a:int,b:int>", "struct<b:int,a:int>", Action.REPLACE, "field `a` moved: destroys data"),
    ("struct<a:int,b:int>", "struct<a:int>", Action.REPLACE, "field `b` dropped or renamed"),
    ("struct<a:int>", "struct<a:int,b:int not null>", Action.REPLACE, "field `b` added as NOT NULL"),
    ("struct<a:int>", "struct<a:int not null>", Action.REPLACE, "field `a` made NOT NULL"),
    ("array<float>", "array<double>", Action.REPLACE, "element type changed float → double: destroys"),
    ("array<struct<a:int>>", "array<struct<a:int,b:int>>", Action.UPDATE, "element field `b` added"),
    ("map<string,int>", "map<int,int>", Action.REPLACE, "key type changed string → int"),
    ("map<string,int>", "map<string,bigint>", Action.REPLACE, "value type changed int → bigint"),
    ("map<string,struct<a:int>>", "map<string,struct<a:int,b:int>>", Action.UPDATE, "value field `b` added"),
    ("void", "string", Action.UPDATE, "widened void → string"),
    ("array<int>", "string", Action.REPLACE, "type changed array<int> → string"),
    ("varchar(5)", "varchar(10)", Action.REPLACE, "changed varchar(5) → varchar(10)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "action", "reason"), EVOLUTION, ids=[f"{o}->{n}" for o, n, _, _ in EVOLUTION]
)
def test_complex_type_evolution(old: str, new: str, action: Action, reason: str) -> None:
    change = dataset_change({"c": column(0, old)}, {"c": column(0, new)})
    assert change.action is action
    assert reason in change.reason, change.reason
    assert change.destructive is (action is Action.REPLACE)


def index_doc(embedding: str) -> str:
    return (
        f"{HEADER}kind: VectorIndex\nmetadata:\n  name: docs-index\nspec:\n"
        "  source: ${datasets.docs.table}\n  primary_key: id\n"
        f"  embedding: {embedding}\n"
    )


@pytest.mark.parametrize(
    ("column_type", "embedding", "message"),
    [
        ("string", "{vector_column: v, dimension: 3}", "is string in dataset `docs`"),
        ("array<int>", "{vector_column: v, dimension: 3}", "must be array<float>"),
        ("array<float>", "{vector_column: w, dimension: 3}", "'w' is not a column of dataset"),
        ("array<float>", "{source_column: v, model_endpoint: e}", "must be a string column"),
    ],
    ids=["string", "array-int", "missing", "source-not-text"],
)
def test_validate_checks_the_index_against_its_dataset(
    tmp_path: Path, column_type: str, embedding: str, message: str
) -> None:
    files = {
        "acme/tenant.yaml": tenant(),
        "acme/docs.yaml": dataset_doc(column_type),
        "acme/index.yaml": index_doc(embedding),
    }
    Tree(files).write(tmp_path)
    [line] = problem_lines(tmp_path / "acme")
    assert line.startswith("index.yaml:"), line
    assert "spec.embedding" in line and message in line, line


def test_a_self_managed_embedding_index_validates(tmp_path: Path) -> None:
    files = {
        "acme/tenant.yaml": tenant(),
        "acme/docs.yaml": dataset_doc("ARRAY<FLOAT>"),
        "acme/index.yaml": index_doc("{vector_column: v, dimension: 3}"),
    }
    Tree(files).write(tmp_path)
    [desired] = load_ok(tmp_path / "acme")
    [dataset] = [r for r in desired.resources.values() if r.key.kind == "Dataset"]
    assert dataset.spec["columns"]["v"]["type"] == "array<float>"


EVERY_TYPE = [
    "STRING", "tinyint", "smallint", "Integer", "long", "float", "double", "boolean", "date",
    "timestamp", "TIMESTAMP_NTZ", "decimal(10, 2)", "char(3)", "varchar(5)", "variant", "void",
    "ARRAY< FLOAT >", "map<STRING, int>", "struct<a: int NOT NULL, b: array<string> COMMENT 'b'>",
    "array<struct<k:string,v:double>>", "map<string,array<int>>",
]  # fmt: skip


async def test_every_type_round_trips_with_an_empty_plan(client: ConnectorClient) -> None:  # noqa: F811
    await make_catalog(client)
    columns = [{"name": f"c{i}", "type": t} for i, t in enumerate(EVERY_TYPE)]
    want = desired("Dataset", "everything", {"columns": columns})
    seen = await apply(client, want)  # asserts the projection equals the desired spec
    assert seen.spec["columns"]["c16"]["type"] == "array<float>"
    grown = [*columns[:-1], {"name": "c20", "type": "map<string,array<int>>"}]
    grown[18] = {"name": "c18", "type": "struct<a:int not null,b:array<string> comment 'b',c:int>"}
    await change(client, seen, desired("Dataset", "everything", {"columns": grown}))


@pytest.mark.parametrize(
    ("file_name", "body"),
    [
        ("docs.csv", 'id,v\na,"[0.1, 0.2, 0.3]"\nb,"[0.4, 0.5]"\n'),
        ("docs.json", '[{"id": "a", "v": [0.1, 0.2, 0.3]}, {"id": "b", "v": [0.4, 0.5]}]'),
    ],
    ids=["csv", "json"],
)
def test_validate_checks_vector_dimensions_in_the_source_file(
    tmp_path: Path, file_name: str, body: str
) -> None:
    """A source file whose vectors do not have the index's dimension is refused offline, at
    the index's `dimension` line, instead of failing when the connector builds the index."""
    files = {
        "acme/tenant.yaml": tenant(),
        "acme/docs.yaml": dataset_doc("array<float>") + f"  source: {{path: {file_name}}}\n",
        f"acme/{file_name}": body,
        "acme/index.yaml": index_doc("{vector_column: v, dimension: 3}"),
    }
    Tree(files).write(tmp_path)
    [line] = problem_lines(tmp_path / "acme")
    assert line.startswith("index.yaml:"), line
    assert "spec.embedding.dimension" in line, line
    assert "row 2 of the source file" in line and "2-dimensional 'v'" in line, line
    files["acme/index.yaml"] = index_doc("{vector_column: v, dimension: 2}")
    files[f"acme/{file_name}"] = body.replace("0.1, 0.2, 0.3", "0.1, 0.2")
    Tree(files).write(tmp_path)
    load_ok(tmp_path / "acme")
