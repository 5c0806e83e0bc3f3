"""StateStore.open: creating the SQLite directory, and clear errors when it cannot open."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import DEFAULT_DATABASE_URL, StateStore
from tests.support.postgres import free_port

SECRET = "n0t-F0r-Y0ur-Eyes"


def test_default_url_creates_the_directory_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with StateStore.open(DEFAULT_DATABASE_URL) as store:
        assert store.tenants() == []
        assert "SQLite file .reconciler/state.db" in repr(store)
    assert (tmp_path / ".reconciler" / "state.db").is_file()


def test_plain_path_opens_a_nested_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    StateStore.open(str(path)).close()
    assert path.is_file()


@pytest.mark.postgres
def test_unreachable_postgres_is_one_clear_line_without_password() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://reconciler:{SECRET}@127.0.0.1:{port}/state?connect_timeout=3"
    with pytest.raises(StateError) as caught:
        StateStore.open(url)
    error = caught.value
    assert error.message.startswith(
        f"cannot open the state database (PostgreSQL database 'state' at 127.0.0.1:{port} "
        "as user 'reconciler'): "
    )
    assert "refused" in error.message.lower()
    assert "\n" not in str(error)
    assert "PostgreSQL server is running" in (error.hint or "")
    for text in (str(error), repr(error), error.hint or "", str(error.__cause__)):
        assert SECRET not in text


@pytest.mark.postgres
def test_missing_postgres_database_names_it(pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StateError, match='database "no_such_database" does not exist'):
        StateStore.open(url)


def test_unwritable_sqlite_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot create the directory") as caught:
        StateStore.open(f"sqlite:///{blocker}/sub/state.db")
    assert "writable" in (caught.value.hint or "")


def test_a_newer_schema_is_refused(sqlite_url: str) -> None:
    from sqlalchemy import create_engine, text

    StateStore.open(sqlite_url).close()
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StateError, match="schema this version does not know") as caught:
        StateStore.open(sqlite_url)
    assert "upgrade the reconciler" in (caught.value.hint or "")
