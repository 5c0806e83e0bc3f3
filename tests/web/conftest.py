"""Browser fixtures: a real `reconciler serve` over a git repository and the emulator, and
headless Chromium (Debian's, driven by Playwright; browsers are never downloaded).

Without ``/usr/bin/chromium`` the browser tests are skipped, or fail when
``REQUIRE_BROWSER=1`` (as CI sets it). The site is started once per module:
both example tenants, applied, with every tenant on ``sync: manual`` (the
service plans every two seconds and applies only when someone presses
Reconcile), so an out-of-band edit stays visible until then.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator, running_emulator
from tests.service.process import ADMIN, READ, Repo, Serve, running_serve, serve_env, wait_for

CHROMIUM = Path(os.environ.get("RECONCILER_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".reconciler" / "screenshots"
AXE = "axe_playwright_python"  # the PyPI package that ships axe-core's axe.min.js
HOSTILE = "<script>alert(1)</script>"
INTERVAL = 2.0
RUN_PACE = {"pending": 0.3, "task": 0.4, "retry": 0.1, "terminating": 0.2}


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
        "(the browser tests drive the system Chromium)"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Site:
    serve: Serve
    emulator: RunningEmulator
    api: httpx.Client  # the connector API of the emulator, with its key

    @property
    def url(self) -> str:
        return self.serve.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _browser_or_skip()
    base = tmp_path_factory.mktemp("site")
    repo = Repo(base / "repo")
    repo.copy_examples()
    tenant = repo.path / "globex" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("team: logistics", f"team: '{HOSTILE}'"))
    repo.commit("the examples")
    with running_emulator(api_key="web-key", ready_delay=0.2) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        with httpx.Client(base_url=emulator.api_url, headers=headers, timeout=10) as api:
            api.post(emulator.url + "/_emulator/runs", json={"pace": RUN_PACE}).raise_for_status()
            env = serve_env(emulator.url, emulator.api_key, f"sqlite:///{base / 'state.db'}")
            with running_serve(repo.url, env, base, "--sync", "manual", interval=INTERVAL) as serve:
                for name in ("acme", "globex"):
                    wait_for(f"{name} applied", lambda n=name: _applied(serve, n), 60, serve)
                yield Site(serve, emulator, api)


def _applied(serve: Serve, tenant: str) -> bool:
    """Reconcile ``tenant`` (a person's request applies a manual tenant); True once Synced."""
    answer = serve.post(f"/api/v1/tenants/{tenant}/reconcile?wait=true")
    status = answer.json().get("status") or {}
    if status.get("sync") == "Synced" and not status.get("last_error"):
        return True
    time.sleep(0.3)
    return False


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    # The page's Content-Security-Policy would also stop an injected script; it is bypassed
    # here so that axe-core can be injected and the escaping alone is what the XSS test sees.
    made = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    made.set_default_timeout(40_000)  # generous: the machine may be busy
    try:
        yield made
    finally:
        made.close()


def log_in(context: Any, site: Site, token: str = ADMIN, path: str = "/") -> Any:
    """A page of ``context`` signed in through the login form, at ``path``."""
    page = context.new_page()
    page.goto(site.url + path)
    assert "/login" in page.url, "a page asks for the token first"
    page.get_by_label("Token").fill(token)
    page.get_by_label("Token").press("Enter")
    page.wait_for_url(site.url + path)
    return page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations of the page as it is now."""
    import importlib.util

    spec = importlib.util.find_spec(AXE)
    assert spec is not None and spec.origin, f"{AXE} (a dev dependency) is not installed"
    script = Path(spec.origin).with_name("axe.min.js")
    page.add_script_tag(path=str(script))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in result["violations"]
    ]


def assert_accessible(page: Any, *, dark: bool = False) -> None:
    """No axe-core violation in the light colour scheme (and the dark one, when asked)."""
    for scheme in ("light", "dark") if dark else ("light",):
        page.emulate_media(color_scheme=scheme)
        found = axe_violations(page)
        assert found == [], f"{page.url} ({scheme}): {found}"
    page.emulate_media(color_scheme="light")


__all__ = ["ADMIN", "HOSTILE", "READ", "Site", "assert_accessible", "log_in", "screenshot"]
