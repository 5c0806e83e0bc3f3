"""A real ``reconciler serve`` process for the tests, and a git repository to feed it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.postgres import free_port

READ, ADMIN, HOOK = "read-token-1234", "admin-token-5678", "hook-secret-9012"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T = TypeVar("T")


@dataclass
class Serve:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str, token: str = READ) -> Any:
        answer = httpx.get(
            self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        answer.raise_for_status()
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def post(self, path: str, token: str = ADMIN, **kw: Any) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        headers = {**auth, **kw.pop("headers", {})}
        return httpx.post(self.url + path, headers=headers, timeout=60, **kw)

    def tenant(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/v1/tenants/{name}")
        return result

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float, serve: Serve | None = None
) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        if last:
            return last  # type: ignore[no-any-return]
        time.sleep(0.2)
    tail = serve.output()[-3000:] if serve else ""
    raise AssertionError(
        f"timed out after {timeout:g} s waiting for {what}; last: {last!r}\n{tail}"
    )


def serve_env(emulator_url: str, api_key: str, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MCP_SERVER_URL": emulator_url,
        "MCP_API_KEY": api_key,
        "DATABASE_URL": db_url,
        "RECONCILER_READ_TOKEN": READ,
        "RECONCILER_ADMIN_TOKEN": ADMIN,
        "RECONCILER_WEBHOOK_SECRET": HOOK,
    }


@contextmanager
def running_serve(
    source: str | Path, env: dict[str, str], workdir: Path, *args: str, interval: float = 3600
) -> Iterator[Serve]:
    """Start ``reconciler serve``; wait for /healthz; SIGTERM it at the end."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"serve-{port}.log"
    command = [
        sys.executable, "-m", "reconciler.cli", "serve", "--source", str(source),
        "--interval", str(interval), "--port", str(port), "--workdir", str(workdir / "work"),
        *args,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    serve = Serve(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_for("serve to answer /healthz", lambda: _healthy(serve), 30, serve)
        yield serve
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(serve: Serve) -> bool:
    if serve.proc.poll() is not None:
        raise AssertionError(f"serve exited with {serve.proc.returncode}:\n{serve.output()}")
    try:
        return httpx.get(serve.url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# ---- a git repository made in the test ----------------------------------------------------


class Repo:
    """A local git repository on branch main, committed with a fixed author."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
            cwd=self.path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def copy_examples(self) -> None:
        for tenant in ("acme", "globex"):
            shutil.copytree(EXAMPLES / tenant, self.path / tenant)


JOB = """apiVersion: agentprovision.ai/v1
kind: Job
metadata:
  name: {name}
spec:
  tasks:
    - key: load
      notebook: ${{notebooks.ingest-sales.path}}
"""


def job_names(api: httpx.Client, tenant_id: str) -> set[str]:
    jobs = api.get("/jobs", params={"tenant_id": tenant_id}).json()["jobs"]
    return {j["settings"]["name"] for j in jobs}
