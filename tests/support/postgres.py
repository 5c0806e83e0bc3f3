"""Finding a PostgreSQL server for the tests.

In order of preference:

1. ``TEST_DATABASE_URL`` when set (CI points it at a service container);
2. a throwaway cluster started from the server binaries on PATH (or under
   ``/usr/lib/postgresql/*/bin``) in a temporary directory on a free port,
   run as an unprivileged user when the tests run as root (PostgreSQL refuses
   to run as root), and deleted at the end of the session;
3. otherwise a *reason* string, which the fixtures turn into a skip, or into
   a failure when ``REQUIRE_POSTGRES=1``.

Each test then gets its own database on that server (see
``tests/support/postgres_fixtures.py``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from reconciler.state.db import redact_database_url

UNPRIVILEGED_USERS = ("postgres", "nobody")
START_TIMEOUT_SECONDS = 30


@dataclass
class PostgresServer:
    """A reachable server: ``url`` connects as a superuser to its maintenance database."""

    url: str
    stop: Callable[[], None] = field(default=lambda: None)


# ---- deciding what to do when there is no server -----------------------------------------


def unavailable_outcome(reason: str, env: Mapping[str, str]) -> tuple[str, str]:
    """``("fail", reason)`` when ``REQUIRE_POSTGRES=1`` is set, else ``("skip", reason)``."""
    if env.get("REQUIRE_POSTGRES", "").strip() == "1":
        return "fail", f"{reason} (REQUIRE_POSTGRES=1 is set, so this is a failure)"
    return "skip", reason


# ---- finding or starting a server ---------------------------------------------------------


def find_server(env: Mapping[str, str]) -> PostgresServer | str:
    """A running server, or the reason there is none."""
    url = env.get("TEST_DATABASE_URL", "").strip()
    if url:
        problem = check_reachable(url)
        return problem if problem else PostgresServer(url=url)
    bindir = find_binaries()
    if bindir is None:
        return (
            "no PostgreSQL server: set TEST_DATABASE_URL or install the server binaries "
            "(initdb, pg_ctl) on PATH"
        )
    return start_cluster(bindir)


def check_reachable(url: str) -> str | None:
    """None when ``url`` accepts connections, else why not (password hidden)."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        password = make_url(url).password
        if password:
            first = first.replace(str(password), "***")
        return f"TEST_DATABASE_URL {redact_database_url(url)} is unreachable: {first}"


def find_binaries(path_dirs: list[str] | None = None) -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    initdb = shutil.which("initdb", path=os.pathsep.join(path_dirs) if path_dirs else None)
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).parent)):
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def start_cluster(bindir: Path) -> PostgresServer | str:
    """Start a throwaway cluster; a reason string if it will not start."""
    user = _run_as_user()
    if isinstance(user, str):
        return user
    root = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = _Cluster(bindir, root, user)
    try:
        cluster.start()
    except (OSError, subprocess.SubprocessError) as exc:
        log = cluster.log_tail()
        cluster.remove()
        return f"could not start a throwaway PostgreSQL cluster from {bindir}: {exc}{log}"
    return PostgresServer(url=cluster.url, stop=cluster.stop)


def _run_as_user() -> pwd.struct_passwd | str | None:
    """None when not root; otherwise an unprivileged account to run the server as."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return "running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as"


@dataclass
class _Cluster:
    """One ``initdb`` + ``pg_ctl`` cluster under ``root``, listening on 127.0.0.1 only."""

    bindir: Path
    root: Path
    user: pwd.struct_passwd | None
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        data = self.root / "data"
        init = ["--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"]
        self._run("initdb", f"--pgdata={data}", *init, "--no-sync")
        self.port = free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.root / "server.log"
        wait = f"--timeout={START_TIMEOUT_SECONDS}"
        self._run(
            "pg_ctl",
            f"--pgdata={data}",
            f"--log={log}",
            f"--options={options}",
            "--wait",
            wait,
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        log = self.root / "server.log"
        if not log.exists():
            return ""
        lines = log.read_text(errors="replace").strip().splitlines()[-3:]
        return "; server log: " + " | ".join(lines) if lines else ""

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.user is not None:
            command = [
                "setpriv",
                f"--reuid={self.user.pw_uid}",
                f"--regid={self.user.pw_gid}",
                "--clear-groups",
                "--",
                *command,
            ]
        result = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()
            raise subprocess.SubprocessError(f"{program} failed: {' '.join(output[-2:])}")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- one database per test ----------------------------------------------------------------


def libpq_url(url: str) -> str:
    """The ``postgresql://`` form libpq (psycopg) understands, from any PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server_url: str) -> str:
    """Create a database with a unique name; return its URL in plain ``postgresql://`` form."""
    name = f"reconciler_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(libpq_url(server_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop a test database, ending any connection still open on it first."""
    name = make_url(database_url).database
    if not name:
        raise ValueError(f"{redact_database_url(database_url)} names no database to drop")
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
