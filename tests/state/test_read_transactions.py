"""Reads never wait for a writer on SQLite (WAL + plain BEGIN); writes still queue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reconciler.state import StateStore
from reconciler.state.db import sqlite_file


def test_a_read_does_not_wait_for_an_open_write_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.open(url) as store:
        store.begin_apply("acme", expected_serial=0, actor="t", git_commit=None, summary={})
        path = sqlite_file(url)
        assert path is not None
        writer = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock until rolled back
        writer.execute("UPDATE tenants SET serial = 5 WHERE name = 'acme'")
        try:
            # With BEGIN IMMEDIATE on reads these would wait 30 s and then fail.
            assert store.read_tenant("acme").serial == 1, "the read sees the last commit"
            assert store.tenants() == ["acme"]
            assert [a.tenant for a in store.history()] == ["acme"]
            assert store.tenant_statuses() == []
        finally:
            writer.execute("ROLLBACK")
            writer.close()
