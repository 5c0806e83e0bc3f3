"""A real `reconciler serve` following a git repository made in the test.

- a commit adding a job is applied within one interval, its SHA in the apply history;
- an invalid commit leaves the last good one in force for that tenant (others move on);
- a deny window blocks changes and the API says why;
- the webhook applies a push in seconds with the poll interval at an hour, and
  re-plans only the tenant whose files changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator
from tests.service.process import (
    HOOK,
    JOB,
    Repo,
    Serve,
    job_names,
    running_serve,
    serve_env,
    wait_for,
)

pytestmark = pytest.mark.slow
INTERVAL = 2.0


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    made = Repo(tmp_path / "repo")
    made.copy_examples()
    made.commit("the examples")
    return made


@pytest.fixture
def api(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    base = emulator.url + "/agentprovision/v1/databricks"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        yield client


def _synced(serve: Serve, tenant: str, commit: str) -> bool:
    status = serve.tenant(tenant)
    return status["commit"] == commit and status["sync"] == "Synced" and not status["last_error"]


def test_commits_invalid_commits_and_deny_windows(
    repo: Repo, emulator: RunningEmulator, api: httpx.Client, sqlite_url: str, tmp_path: Path
) -> None:
    first = repo.git("rev-parse", "HEAD")
    env = serve_env(emulator.url, emulator.api_key, sqlite_url)
    with running_serve(repo.url, env, tmp_path, interval=INTERVAL) as serve:
        for tenant in ("acme", "globex"):
            wait_for(f"{tenant} synced", lambda t=tenant: _synced(serve, t, first), 30, serve)

        (repo.path / "acme" / "weekly.yaml").write_text(JOB.format(name="weekly"))
        added = repo.commit("a weekly job")
        committed = time.monotonic()
        wait_for("the weekly job", lambda: "weekly" in job_names(api, "acme"), 3 * INTERVAL, serve)
        assert time.monotonic() - committed <= 2 * INTERVAL + 2, "applied within one interval"
        applies = serve.get("/api/v1/tenants/acme/history")["applies"]
        assert applies[0]["git_commit"] == added and applies[0]["outcome"] == "succeeded"

        broken = repo.path / "globex" / "assistant.yaml"
        broken.write_text(broken.read_text().replace("spec:", "spek:", 1))
        tenant_doc = repo.path / "acme" / "tenant.yaml"
        tenant_doc.write_text(
            tenant_doc.read_text()
            + "  policy:\n    windows:\n"
            + "      - {kind: deny, schedule: '0 * * * * ?', duration: 2h}\n"
        )
        (repo.path / "acme" / "monthly.yaml").write_text(JOB.format(name="monthly"))
        bad = repo.commit("globex broken; acme frozen by a deny window")

        globex = wait_for(
            "globex to report the invalid commit",
            lambda: (s := serve.tenant("globex"))["message"] and s,
            4 * INTERVAL,
            serve,
        )
        assert (
            f"{bad[:12]} is invalid" in globex["message"] and "assistant.yaml" in globex["message"]
        )
        assert globex["commit"] == added, "the last good commit stays in force"
        acme = wait_for(
            "acme to say why nothing changes",
            lambda: "deny window" in (s := serve.tenant("acme"))["message"] and s,
            4 * INTERVAL,
            serve,
        )
        assert acme["commit"] == bad and acme["sync"] == "OutOfSync"
        time.sleep(INTERVAL)
        assert "monthly" not in job_names(api, "acme"), "nothing is changed in a deny window"


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(HOOK.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


def test_webhook_applies_a_push_in_seconds_and_replans_only_its_tenant(
    repo: Repo, emulator: RunningEmulator, api: httpx.Client, sqlite_url: str, tmp_path: Path
) -> None:
    first = repo.git("rev-parse", "HEAD")
    env = serve_env(emulator.url, emulator.api_key, sqlite_url)
    with running_serve(repo.url, env, tmp_path, interval=3600) as serve:
        for tenant in ("acme", "globex"):
            wait_for(f"{tenant} synced", lambda t=tenant: _synced(serve, t, first), 30, serve)
        globex_before = serve.tenant("globex")["last_reconcile_at"]

        (repo.path / "acme" / "weekly.yaml").write_text(JOB.format(name="weekly"))
        pushed = repo.commit("a weekly job")
        body = json.dumps({"ref": "refs/heads/main", "after": pushed, "commits": []}).encode()
        started = time.monotonic()
        answer = serve.post("/api/v1/webhooks/git", token="", content=body, headers=_signed(body))
        assert answer.status_code == 202, answer.text
        assert answer.json()["tenants"] == ["acme"], "only the tenant whose files changed"
        wait_for("the weekly job", lambda: "weekly" in job_names(api, "acme"), 10, serve)
        assert time.monotonic() - started < 10
        assert serve.tenant("globex")["last_reconcile_at"] == globex_before
        assert serve.tenant("acme")["commit"] == pushed
