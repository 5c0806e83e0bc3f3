"""Catalogs and datasets: life cycle, ALTER rules, uploads and queries."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import httpx
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.emulator.helpers import (
    CATALOG,
    TENANT,
    assert_problem,
    collect_pages,
    make_catalog,
    ok,
)

COLUMNS = [
    {"name": "id", "type": "INT", "nullable": False},
    {"name": "name", "type": "string", "comment": "display name"},
    {"name": "score", "type": "float"},
]


def make_dataset(client: httpx.Client, name: str = "people", **extra: object) -> dict:
    body = {
        "tenant_id": TENANT,
        "name": name,
        "schema": COLUMNS,
        "managed_by": "agentprovision-reconciler",
    }
    body.update(extra)
    return ok(client.post("/databricks/datasets", json=body), 201)


def test_catalog_life_cycle(emulator_client: httpx.Client) -> None:
    c = emulator_client
    assert ok(c.get(f"/databricks/catalogs/{TENANT}")) == {
        "exists": False,
        "catalog_name": None,
        "schemas": [],
    }
    created = make_catalog(c)
    assert created["exists"] is True
    assert created["catalog_name"] == created["full_name"] == CATALOG
    assert created["catalog_type"] == "MANAGED_CATALOG"
    assert created["schemas"] == ["default"]
    assert created["managed_by"] == "agentprovision-reconciler"
    for field in (
        "catalog_url",
        "owner",
        "metastore_id",
        "storage_location",
        "created_at",
        "created_by",
    ):
        assert created[field]
    assert_problem(
        c.post("/databricks/catalogs", json={"tenant_id": TENANT, "catalog_name": "other"}),
        409,
        "ALREADY_EXISTS",
    )
    taken = {"tenant_id": "tenant-b", "catalog_name": CATALOG}
    assert_problem(c.post("/databricks/catalogs", json=taken), 409, "ALREADY_EXISTS")
    patched = ok(
        c.patch(f"/databricks/catalogs/{TENANT}", json={"comment": "c", "properties": {"a": "1"}})
    )
    assert (patched["comment"], patched["properties"]) == ("c", {"a": "1"})
    patched = ok(c.patch(f"/databricks/catalogs/{TENANT}", json={"properties": {"b": "2"}}))
    assert patched["properties"] == {"b": "2"} and patched["comment"] == "c"
    make_dataset(c)
    assert_problem(c.delete(f"/databricks/catalogs/{TENANT}"), 409, "CONFLICT")
    ok(c.delete(f"/databricks/catalogs/{TENANT}", params={"force": "true"}))
    assert_problem(c.delete(f"/databricks/catalogs/{TENANT}"), 404, "NOT_FOUND")
    assert_problem(
        c.patch(f"/databricks/catalogs/{TENANT}", json={"comment": "x"}), 404, "NOT_FOUND"
    )
    assert ok(c.get("/databricks/datasets", params={"tenant_id": TENANT}))["datasets"] == []


def test_dataset_needs_the_catalog(emulator_client: httpx.Client) -> None:
    response = emulator_client.post(
        "/databricks/datasets", json={"tenant_id": TENANT, "name": "t", "schema": COLUMNS}
    )
    assert_problem(response, 404, "NOT_FOUND")
    assert ok(emulator_client.get("/databricks/datasets", params={"tenant_id": TENANT})) == {
        "datasets": [],
        "next_page_token": None,
    }


def test_dataset_life_cycle_and_paging(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    created = make_dataset(c, data=[{"id": 1, "name": "ada", "score": 1.5}, [2, "bob", None]])
    assert created["table_path"] == f"{CATALOG}.default.people"
    assert created["row_count"] == 2 and created["size_bytes"] > 0
    assert created["version"] == 0 and created["managed_by"] == "agentprovision-reconciler"
    assert [
        (col["type_text"], col["type_name"], col["position"]) for col in created["columns"]
    ] == [
        ("int", "INT", 0),
        ("string", "STRING", 1),
        ("float", "FLOAT", 2),
    ]
    assert created["columns"][0]["nullable"] is False
    assert created["columns"][1]["comment"] == "display name"
    other = ok(
        c.post(
            "/databricks/datasets",
            json={"tenant_id": TENANT, "name": "events", "schema_name": "raw", "schema": COLUMNS},
        ),
        201,
    )
    assert other["table_path"] == f"{CATALOG}.raw.events"
    assert "raw" in ok(c.get(f"/databricks/catalogs/{TENANT}"))["schemas"]
    for number in range(3):
        make_dataset(c, f"t{number}")
    items, pages = collect_pages(c, "/databricks/datasets", "datasets", 2, tenant_id=TENANT)
    assert [d["table_name"] for d in items] == ["people", "events", "t0", "t1", "t2"]
    assert pages == 3
    assert ok(c.get(f"/databricks/datasets/{TENANT}/raw.events"))["schema_name"] == "raw"
    assert ok(c.get(f"/databricks/datasets/{TENANT}/default.people"))["row_count"] == 2
    patched = ok(
        c.patch(
            f"/databricks/datasets/{TENANT}/people",
            json={"description": "who", "properties": {"k": "v"}},
        )
    )
    assert (patched["description"], patched["properties"], patched["version"]) == (
        "who",
        {"k": "v"},
        1,
    )
    ok(c.delete(f"/databricks/datasets/{TENANT}/people"))
    assert_problem(c.delete(f"/databricks/datasets/{TENANT}/people"), 404, "NOT_FOUND")
    assert_problem(c.get(f"/databricks/datasets/{TENANT}/people"), 404, "NOT_FOUND")


def test_bad_rows_and_columns_are_rejected(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    bad_bodies = [
        {"schema": [{"name": "a", "type": "varchar2"}]},
        {"schema": [{"name": "a", "type": "int"}, {"name": "A", "type": "int"}]},
        {"schema": []},
        {"schema": COLUMNS, "data": [{"id": "x"}]},
        {"schema": COLUMNS, "data": [{"name": "no id"}]},
        {"schema": COLUMNS, "data": [{"id": 1, "unknown": 2}]},
        {"schema": COLUMNS, "data": [[1, "too few"]]},
        {"schema": [{"name": "d", "type": "decimal(4,2)"}], "data": [[123.45]]},
    ]
    for number, extra in enumerate(bad_bodies):
        body = {"tenant_id": TENANT, "name": f"bad{number}", **extra}
        assert_problem(c.post("/databricks/datasets", json=body), 400, "INVALID_ARGUMENT")


def test_alter_adds_columns_and_keeps_rows(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    make_dataset(c, data=[[1, "ada", 0.5], [2, "bob", 1.0]])
    wanted = [
        {"name": "id", "type": "bigint", "nullable": True},
        {"name": "name", "type": "string", "comment": "new comment"},
        {"name": "score", "type": "double"},
        {"name": "added", "type": "decimal(10,2)"},
    ]
    altered = ok(c.patch(f"/databricks/datasets/{TENANT}/people", json={"columns": wanted}))
    assert altered["row_count"] == 2
    assert [col["type_text"] for col in altered["columns"]] == [
        "bigint",
        "string",
        "double",
        "decimal(10,2)",
    ]
    assert altered["columns"][0]["nullable"] is True
    assert altered["columns"][1]["comment"] == "new comment"
    assert altered["version"] == 1
    query = {
        "tenant_id": TENANT,
        "dataset_name": "people",
        "sql": f"SELECT * FROM {CATALOG}.default.people ORDER BY id",
    }
    result = ok(c.post("/databricks/datasets/query", json=query))
    assert result["rows"] == [
        {"id": 1, "name": "ada", "score": 0.5, "added": None},
        {"id": 2, "name": "bob", "score": 1.0, "added": None},
    ]
    assert result["columns"] == ["id", "name", "score", "added"]
    assert result["row_count"] == 2 and result["execution_time_ms"] >= 0


@pytest.mark.parametrize(
    "columns",
    [
        [
            {"name": "id", "type": "smallint"},
            {"name": "name", "type": "string"},
            {"name": "score", "type": "float"},
        ],
        [{"name": "id", "type": "int", "nullable": False}, {"name": "name", "type": "string"}],
        [
            {"name": "id", "type": "int", "nullable": False},
            {"name": "nom", "type": "string"},
            {"name": "score", "type": "float"},
        ],
        [
            {"name": "name", "type": "string"},
            {"name": "id", "type": "int", "nullable": False},
            {"name": "score", "type": "float"},
        ],
        [
            {"name": "id", "type": "int", "nullable": False},
            {"name": "name", "type": "int"},
            {"name": "score", "type": "float"},
        ],
        [
            {"name": "id", "type": "int", "nullable": False},
            {"name": "name", "type": "string", "nullable": False},
            {"name": "score", "type": "float"},
        ],
        [*COLUMNS, {"name": "required", "type": "int", "nullable": False}],
    ],
    ids=["narrow", "drop", "rename", "reorder", "change-type", "add-not-null", "new-not-null"],
)
def test_alter_refuses_what_needs_a_replace(emulator_client: httpx.Client, columns: list) -> None:
    make_catalog(emulator_client)
    make_dataset(emulator_client, data=[[1, "ada", 0.5]])
    response = emulator_client.patch(
        f"/databricks/datasets/{TENANT}/people", json={"columns": columns}
    )
    assert_problem(response, 400, "INVALID_ARGUMENT")
    assert ok(emulator_client.get(f"/databricks/datasets/{TENANT}/people"))["version"] == 0


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "score"])
    sheet.append([1, "ada", 0.5])
    sheet.append([2, "bob", None])
    sheet.append([3, "cy", 2])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _parquet() -> bytes:
    table = pa.table({"score": [0.5, 1.5], "id": pa.array([7, 8], pa.int32()), "name": ["x", None]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


UPLOADS = {
    "csv": (b'id,name,score\n1,ada,0.5\n2,bob,\n3,"c, y",2\n', 3),
    "json": (json.dumps([{"id": 1, "name": "ada"}, {"id": 2, "score": 2.5}]).encode(), 2),
    "jsonl": (b'{"id": 1, "name": "ada"}\n{"id": 2, "name": "bob"}\n{"id": 3}\n', 3),
    "xlsx": (_xlsx(), 3),
    "parquet": (_parquet(), 2),
}


@pytest.mark.parametrize("kind", sorted(UPLOADS))
def test_upload_replaces_rows(emulator_client: httpx.Client, kind: str) -> None:
    c = emulator_client
    make_catalog(c)
    make_dataset(c, data=[[9, "old", 9.0]])
    content, rows = UPLOADS[kind]
    file_format = "json" if kind == "jsonl" else kind
    params = {"tenant_id": TENANT, "dataset_name": "people", "format": file_format}
    answer = ok(
        c.post("/databricks/datasets/upload", params=params, files={"file": (f"f.{kind}", content)})
    )
    digest = hashlib.sha256(content).hexdigest()
    assert answer["table_path"] == f"{CATALOG}.default.people"
    assert (answer["row_count"], answer["source_sha256"]) == (rows, digest)
    dataset = ok(c.get(f"/databricks/datasets/{TENANT}/people"))
    assert (dataset["row_count"], dataset["source_sha256"], dataset["source_format"]) == (
        rows,
        digest,
        file_format,
    )
    assert dataset["version"] == 1 and dataset["size_bytes"] > 0
    query = {
        "tenant_id": TENANT,
        "dataset_name": "people",
        "sql": "select count(*) as n, min(id) as low from people",
    }
    result = ok(c.post("/databricks/datasets/query", json=query))["rows"][0]
    assert result["n"] == rows and result["low"] != 9


def test_upload_with_other_columns_or_bad_files_is_400(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    make_dataset(c)
    params = {"tenant_id": TENANT, "dataset_name": "people"}
    cases = [
        ("csv", b"id,name\n1,ada\n"),
        ("csv", b"id,name,score,extra\n1,ada,1,x\n"),
        ("csv", b"id,name,score\nnot-a-number,ada,1\n"),
        ("json", b'[{"id": 1, "nope": 2}]'),
        ("json", b"{broken"),
        ("xlsx", b"not a workbook"),
        ("parquet", b"not parquet"),
        ("xml", b"<a/>"),
    ]
    for file_format, content in cases:
        response = c.post(
            "/databricks/datasets/upload",
            params={**params, "format": file_format},
            files={"file": ("f", content)},
        )
        assert_problem(response, 400, "INVALID_ARGUMENT")
    missing = c.post(
        "/databricks/datasets/upload",
        params={"tenant_id": TENANT, "dataset_name": "nope", "format": "csv"},
        files={"file": ("f", b"id,name,score\n")},
    )
    assert_problem(missing, 404, "NOT_FOUND")


def test_typed_values_are_normalised(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    columns = [
        {"name": "d", "type": "date"},
        {"name": "ts", "type": "timestamp"},
        {"name": "amount", "type": "DECIMAL(10, 2)"},
        {"name": "flag", "type": "boolean"},
    ]
    body = {
        "tenant_id": TENANT,
        "name": "typed",
        "schema": columns,
        "data": [["2024-01-02", "2024-01-02T03:04:05", "1.5", True]],
    }
    created = ok(c.post("/databricks/datasets", json=body), 201)
    assert created["columns"][2]["type_text"] == "decimal(10,2)"
    query = {"tenant_id": TENANT, "dataset_name": "typed", "sql": "SELECT * FROM default.typed"}
    row = ok(c.post("/databricks/datasets/query", json=query))["rows"][0]
    assert row == {
        "d": dt.date(2024, 1, 2).isoformat(),
        "ts": "2024-01-02T03:04:05",
        "amount": "1.50",
        "flag": True,
    }
    for sql in (
        "DELETE FROM typed",
        "SELECT * FROM typed; DROP TABLE typed",
        "SELECT nope FROM typed",
    ):
        response = c.post("/databricks/datasets/query", json={**query, "sql": sql})
        assert_problem(response, 400, "INVALID_ARGUMENT")
