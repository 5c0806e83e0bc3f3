"""Loading on two cores (a forked child reads and resolves half) gives exactly what one core gives.

Each load runs in a fresh process, as the CLI does (one thread: the only kind
of process that forks). The thresholds are lowered so that a small estate is
split too. The estate has secrets, problems in tenants of both halves and a
broken link; the tenants, the problems with their positions and order, the
warnings and the secrets registered for masking must all be the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.estate import SECRET_NAME, SECRETS_DIR, write_estate
from reconciler import forked

SCRIPT = """
import json, os, sys
import reconciler.load as load
from reconciler import scrub

forks = []
real_fork = os.fork

def counted_fork():
    pid = real_fork()
    if pid:
        forks.append(pid)
    return pid

os.fork = counted_fork
if sys.argv[2] == "one":
    load.PARALLEL_BYTES = load.PARALLEL_DOCUMENTS = 10**12
else:
    load.PARALLEL_BYTES = load.PARALLEL_DOCUMENTS = 1
result = load.load_tenants(sys.argv[1])
print(json.dumps({
    "tenants": [repr(t) for t in result.tenants],
    "failures": [repr(f) for f in result.failures],
    "warnings": [repr(w) for w in result.warnings],
    "secrets": sorted(scrub.registered()),
    "forks": len(forks),
}))
"""


def _load(root: Path, secrets: Path, mode: str) -> dict[str, object]:
    env = {**os.environ, "RECONCILER_SECRETS_DIR": str(secrets)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def _broken_estate(root: Path, secrets: Path) -> None:
    """Six tenants: the first and the last with a bad document, the last with a broken
    link and a secret of its own (read only in the child's half)."""
    write_estate(root, tenants=6, per_tenant=10, seed=7, prefix="par")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    for folder in folders:
        (secrets / folder.name).mkdir(parents=True)
        value = (SECRETS_DIR / folder.name / SECRET_NAME).read_text(encoding="utf-8")
        (secrets / folder.name / SECRET_NAME).write_text(value, encoding="utf-8")
    first, last = folders[0], folders[-1]
    (secrets / last.name / SECRET_NAME).write_text("only-the-last-tenant-reads-this\n")
    with (first / "notebooks.yaml").open("a", encoding="utf-8") as out:
        out.write("---\napiVersion: agentprovision.ai/v1\nkind: Notebook\nmetadata:\n")
        out.write("  name: bad-one\nspec:\n  language: cobol\n  content: x\n")
    with (last / "jobs.yaml").open("a", encoding="utf-8") as out:
        out.write("---\napiVersion: agentprovision.ai/v1\nkind: Job\nmetadata:\n")
        out.write("  name: bad-two\nspec:\n  tasks: 3\n")
    (last / "gone.yaml").symlink_to(last / "missing.yaml")


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork")
def test_two_cores_load_exactly_what_one_core_loads(tmp_path: Path) -> None:
    estate, secrets = tmp_path / "estate", tmp_path / "secrets"
    _broken_estate(estate, secrets)
    one, two = _load(estate, secrets, "one"), _load(estate, secrets, "two")
    assert one["forks"] == 0
    assert two["forks"] == 2  # the files read in two, then the tenants resolved in two
    assert len(one["tenants"]) == 4 and len(one["failures"]) == 2  # type: ignore[arg-type]
    assert one["warnings"]
    assert "only-the-last-tenant-reads-this" in one["secrets"]  # type: ignore[operator]
    for part in ("tenants", "failures", "warnings", "secrets"):
        assert two[part] == one[part], part


def test_a_process_with_threads_does_not_fork() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
        with forked.in_fork(lambda: 1) as child:
            assert child is None  # the caller does the work itself
    finally:
        stop.set()
        thread.join()


CHILD_FAILS = """
import sys
from reconciler import forked

def boom():
    raise RuntimeError("the child fails")

with forked.in_fork(boom) as child:
    assert child is not None, "a one-thread process forks"
    print(child.result())
with forked.in_fork(lambda: {"answer": [1, 2]}) as child:
    print(child.result())
"""


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork")
def test_a_failing_child_answers_none_and_a_working_one_its_value() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD_FAILS], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["None", "{'answer': [1, 2]}"]


def test_when_fork_fails_the_caller_does_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(forked.os, "fork", refused)
    with forked.in_fork(lambda: 1) as child:
        assert child is None
