"""Every Delta column type through the emulator: stored in Unity Catalog's shapes, loaded from
each file format with complex values, queried back equal, evolved in place or refused."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from typing import Any

import httpx
import pytest

from tests.emulator.helpers import TENANT, assert_problem, make_catalog, ok

# (column type as a user may write it, canonical type_text, type_name, a value, stored value)
TYPES: list[tuple[str, str, str, Any, Any]] = [
    ("STRING", "string", "STRING", "x", "x"),
    ("tinyint", "tinyint", "BYTE", 1, 1),
    ("SMALLINT", "smallint", "SHORT", 2, 2),
    ("Integer", "int", "INT", 3, 3),
    ("long", "bigint", "LONG", 4, 4),
    ("float", "float", "FLOAT", 0.5, 0.5),
    ("double", "double", "DOUBLE", 0.25, 0.25),
    ("boolean", "boolean", "BOOLEAN", True, True),
    ("date", "date", "DATE", "2026-01-02", "2026-01-02"),
    ("timestamp", "timestamp", "TIMESTAMP", "2026-01-02T03:04:05", "2026-01-02T03:04:05"),
    ("TIMESTAMP_NTZ", "timestamp_ntz", "TIMESTAMP_NTZ", "2026-01-02T03:04:05", "2026-01-02T03:04:05"),
    ("decimal(10, 2)", "decimal(10,2)", "DECIMAL", "1.5", "1.50"),
    ("char(3)", "char(3)", "CHAR", "ab", "ab "),
    ("varchar(5)", "varchar(5)", "STRING", "abc", "abc"),
    ("variant", "variant", "VARIANT", {"k": [1, 2]}, {"k": [1, 2]}),
    ("void", "void", "NULL", None, None),
    ("ARRAY< FLOAT >", "array<float>", "ARRAY", [0.5, 1.5], [0.5, 1.5]),
    ("map<STRING, int>", "map<string,int>", "MAP", {"a": 1}, {"a": 1}),
    (
        "struct<a: int, b: array<string> COMMENT 'the b'>",
        "struct<a:int,b:array<string> comment 'the b'>",
        "STRUCT",
        {"a": 1, "b": ["x", None]},
        {"a": 1, "b": ["x", None]},
    ),
    ("array<struct<k:string,v:double>>", "array<struct<k:string,v:double>>", "ARRAY",
     [{"k": "a", "v": 1.0}], [{"k": "a", "v": 1.0}]),
    ("map<string,array<int>>", "map<string,array<int>>", "MAP", {"a": [1, 2]}, {"a": [1, 2]}),
]  # fmt: skip
NAMES = [f"c{i}" for i in range(len(TYPES))]


def _create(c: httpx.Client, rows: list[list[Any]] | None = None) -> dict[str, Any]:
    make_catalog(c)
    schema = [{"name": n, "type": t[0]} for n, t in zip(NAMES, TYPES, strict=True)]
    body = {"tenant_id": TENANT, "name": "everything", "schema": schema, "data": rows or []}
    return ok(c.post("/databricks/datasets", json=body), 201)


def _query(c: httpx.Client) -> list[dict[str, Any]]:
    sql = "SELECT * FROM everything"
    body = {"tenant_id": TENANT, "dataset_name": "everything", "sql": sql}
    return ok(c.post("/databricks/datasets/query", json=body))["rows"]


EXPECTED = {n: t[4] for n, t in zip(NAMES, TYPES, strict=True)}


def test_every_type_is_stored_in_unity_catalog_shapes(emulator_client: httpx.Client) -> None:
    created = _create(emulator_client, [[t[3] for t in TYPES]])
    for column, (_, text, name, _, _) in zip(created["columns"], TYPES, strict=True):
        assert (column["type_text"], column["type_name"]) == (text, name)
        type_json = json.loads(column["type_json"])
        assert type_json["name"] == column["name"] and type_json["nullable"] is True
    struct = json.loads(created["columns"][NAMES.index("c18")]["type_json"])
    assert struct["type"]["fields"][1] == {
        "name": "b",
        "type": {"type": "array", "elementType": "string", "containsNull": True},
        "nullable": True,
        "metadata": {"comment": "the b"},
    }
    char = json.loads(created["columns"][NAMES.index("c12")]["type_json"])
    assert char["type"] == "string" and char["metadata"] == {
        "__CHAR_VARCHAR_TYPE_STRING": "char(3)"
    }
    assert _query(emulator_client) == [EXPECTED]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _upload(c: httpx.Client, content: bytes, file_format: str) -> None:
    params = {"tenant_id": TENANT, "dataset_name": "everything", "format": file_format}
    files = {"file": (f"data.{file_format}", content)}
    assert ok(c.post("/databricks/datasets/upload", params=params, files=files))["row_count"] == 1


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NAMES)
    writer.writerow([_csv_cell(t[3]) for t in TYPES])
    return out.getvalue().encode()


def _json() -> bytes:
    return json.dumps([{n: t[3] for n, t in zip(NAMES, TYPES, strict=True)}]).encode()


def _xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(NAMES)
    sheet.append(
        [t[3] if isinstance(t[3], int | float) else _csv_cell(t[3]) or None for t in TYPES]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        pa.string(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.float32(), pa.float64(),
        pa.bool_(), pa.date32(), pa.timestamp("us"), pa.timestamp("us"), pa.decimal128(10, 2),
        pa.string(), pa.string(), pa.string(), pa.null(), pa.list_(pa.float32()),
        pa.map_(pa.string(), pa.int32()),
        pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))]),
        pa.list_(pa.struct([("k", pa.string()), ("v", pa.float64())])),
        pa.map_(pa.string(), pa.list_(pa.int32())),
    ]  # fmt: skip
    values: list[Any] = [t[3] for t in TYPES]
    values[8] = dt.date(2026, 1, 2)
    values[9] = values[10] = dt.datetime(2026, 1, 2, 3, 4, 5)
    values[11] = decimal.Decimal("1.50")
    values[14] = json.dumps(values[14])
    values[17] = list(values[17].items())
    values[20] = list(values[20].items())
    schema = pa.schema([pa.field(n, f) for n, f in zip(NAMES, fields, strict=True)])
    table = pa.Table.from_pylist([dict(zip(NAMES, values, strict=True))], schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx", "parquet"])
def test_complex_values_load_from_every_format(
    emulator_client: httpx.Client, file_format: str
) -> None:
    _create(emulator_client)
    content = {"csv": _csv, "json": _json, "xlsx": _xlsx, "parquet": _parquet}[file_format]()
    _upload(emulator_client, content, file_format)
    assert _query(emulator_client) == [EXPECTED]


@pytest.mark.parametrize(
    ("column_type", "message"),
    [
        ("array<", "ends too early"),
        ("map<string>", "expected ','"),
        ("struct<a int,>", "expected a field name"),
        ("interval year to month", "Delta Lake does not store INTERVAL"),
        ("array<void>", "VOID is not allowed"),
    ],
)
def test_malformed_types_are_400(
    emulator_client: httpx.Client, column_type: str, message: str
) -> None:
    make_catalog(emulator_client)
    body = {"tenant_id": TENANT, "name": "t", "schema": [{"name": "a", "type": column_type}]}
    problem = assert_problem(
        emulator_client.post("/databricks/datasets", json=body), 400, "INVALID_ARGUMENT"
    )
    assert message in problem["detail"]


@pytest.mark.parametrize(
    ("value", "column_type"),
    [
        ([1, 2], "array<float>"),  # fine: ints widen into floats
        ("not json", "array<float>"),
        ({"a": 1}, "array<int>"),
        ([[1]], "array<int>"),
        ({"x": 1}, "struct<a:int>"),
        ({"a": None}, "struct<a:int not null>"),
        ("abcdef", "varchar(3)"),
        ("2026-01-02T03:04:05+02:00", "timestamp_ntz"),
        (1, "void"),
    ],
)
def test_values_that_do_not_fit_are_400(
    emulator_client: httpx.Client, value: Any, column_type: str
) -> None:
    make_catalog(emulator_client)
    body = {
        "tenant_id": TENANT,
        "name": "t",
        "schema": [{"name": "a", "type": column_type}],
        "data": [[value]],
    }
    if column_type == "void":
        body["schema"].insert(0, {"name": "id", "type": "int"})
        body["data"] = [[1, value]]
    response = emulator_client.post("/databricks/datasets", json=body)
    if value == [1, 2]:
        ok(response, 201)
        return
    assert_problem(response, 400, "INVALID_ARGUMENT")


def test_struct_evolves_in_place_and_element_types_do_not(emulator_client: httpx.Client) -> None:
    c = emulator_client
    make_catalog(c)
    schema = [{"name": "s", "type": "struct<a:int>"}, {"name": "v", "type": "array<float>"}]
    body = {"tenant_id": TENANT, "name": "t", "schema": schema, "data": [[{"a": 1}, [0.5]]]}
    ok(c.post("/databricks/datasets", json=body), 201)
    wider = [{"name": "s", "type": "struct<a:bigint, b:string>"}, schema[1]]
    ok(c.patch(f"/databricks/datasets/{TENANT}/t", json={"columns": wider}))
    query = {"tenant_id": TENANT, "dataset_name": "t", "sql": "SELECT s, v FROM t"}
    assert ok(c.post("/databricks/datasets/query", json=query))["rows"] == [
        {"s": {"a": 1, "b": None}, "v": [0.5]}
    ]
    element = [wider[0], {"name": "v", "type": "array<double>"}]
    problem = assert_problem(
        c.patch(f"/databricks/datasets/{TENANT}/t", json={"columns": element}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "element type changed float → double" in problem["detail"]
    moved = [{"name": "s", "type": "struct<b:string, a:bigint>"}, schema[1]]
    problem = assert_problem(
        c.patch(f"/databricks/datasets/{TENANT}/t", json={"columns": moved}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "field `a` moved" in problem["detail"]
