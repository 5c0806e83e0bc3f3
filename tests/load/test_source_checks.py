"""What the connector would refuse in a notebook or an uploaded source file stops the plan."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reconciler.emulator.server import RunningEmulator
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan
from reconciler.reconcile import plan_tenants
from reconciler.sourcecheck import ENVELOPE_BYTES, MAX_BODY_BYTES
from reconciler.state import StateStore
from tests.load.helpers import HEADER, load_ok, problem_lines, tenant

COLUMNS = (
    "  columns:\n    - {name: id, type: int, nullable: false}\n    - {name: city, type: string}\n"
)


def _tree(tmp_path: Path, source: str, body: bytes) -> Path:
    (tmp_path / "acme" / "data").mkdir(parents=True)
    (tmp_path / "acme" / "tenant.yaml").write_text(tenant())
    (tmp_path / "acme" / "data" / source).write_bytes(body)
    (tmp_path / "acme" / "sales.yaml").write_text(
        f"{HEADER}kind: Dataset\nmetadata: {{name: sales}}\nspec:\n{COLUMNS}"
        f"  source: {{path: data/{source}}}\n"
    )
    return tmp_path


def _source_line(root: Path, emulator: RunningEmulator, sqlite_url: str) -> str:
    """What planning ``root`` says about the dataset (the plan uploads its new source)."""

    async def plan() -> Plan:
        with StateStore.open(sqlite_url) as store:
            async with ConnectorClient(emulator.url, emulator.api_key) as client:
                return await plan_tenants(load_ok(root), store=store, client=client)

    [failure] = asyncio.run(plan()).failed
    assert failure.error.startswith("acme/sales.yaml:1:1: Dataset sales: "), failure.error
    return failure.error


def test_a_csv_header_that_does_not_match_the_columns(
    tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> None:
    line = _source_line(_tree(tmp_path, "s.csv", b"id,town\n1,Oslo\n"), emulator, sqlite_url)
    assert "line 1: the file's header (id, town) does not match the declared columns" in line
    assert "lacks city and adds town" in line


def test_a_csv_value_that_does_not_fit_its_column(
    tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> None:
    body = b"city,id\nOslo,1\nBergen,two\n"
    line = _source_line(_tree(tmp_path, "s.csv", body), emulator, sqlite_url)
    assert "line 3: column 'id' (int): cannot use 'two'" in line


def test_a_csv_without_a_value_for_a_not_null_column(
    tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> None:
    line = _source_line(_tree(tmp_path, "s.csv", b"id,city\n,Oslo\n"), emulator, sqlite_url)
    assert "line 2: column 'id' is NOT NULL but has no value" in line


def test_a_corrupt_parquet_file(tmp_path: Path, emulator: RunningEmulator, sqlite_url: str) -> None:
    line = _source_line(_tree(tmp_path, "s.parquet", b"PAR1 not really"), emulator, sqlite_url)
    assert "not a readable Parquet file" in line


def test_a_parquet_file_with_other_columns(
    tmp_path: Path, emulator: RunningEmulator, sqlite_url: str
) -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1], "town": ["Oslo"]}), out)
    line = _source_line(_tree(tmp_path, "s.parquet", out.getvalue()), emulator, sqlite_url)
    assert "does not match the declared columns" in line


def test_matching_files_plan(tmp_path: Path, emulator: RunningEmulator, sqlite_url: str) -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "city": ["Oslo", None]}), out)
    for name, body in (("s.csv", b"\xef\xbb\xbfcity,id\nOslo,1\n,2\n"), ("s.pq", out.getvalue())):
        root = _tree(tmp_path / name, "s.parquet" if name == "s.pq" else name, body)

        async def plan(root: Path = root) -> Plan:
            with StateStore.open(sqlite_url) as store:
                async with ConnectorClient(emulator.url, emulator.api_key) as client:
                    return await plan_tenants(load_ok(root), store=store, client=client)

        assert not asyncio.run(plan()).failed


def test_a_notebook_over_the_connector_body_limit(tmp_path: Path) -> None:
    (tmp_path / "acme" / "nb").mkdir(parents=True)
    (tmp_path / "acme" / "tenant.yaml").write_text(tenant())
    size = MAX_BODY_BYTES - ENVELOPE_BYTES + 1
    (tmp_path / "acme" / "nb" / "big.py").write_bytes(b"#" * size)
    (tmp_path / "acme" / "nb.yaml").write_text(
        f"{HEADER}kind: Notebook\nmetadata: {{name: big}}\n"
        "spec:\n  language: python\n  source: nb/big.py\n"
    )
    lines = problem_lines(tmp_path)
    assert any(
        line.startswith("acme/nb.yaml:6:")
        and "spec.source" in line
        and "the connector accepts at most" in line
        for line in lines
    ), lines
