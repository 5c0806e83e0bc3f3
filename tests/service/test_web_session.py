"""The status page's door, over HTTP without a browser: login, sessions, CSRF, hostile input.

A forged, edited or expired session cookie is a login form again; a login
never redirects to another site; a wrong token is refused without echoing
it; bad names are 404 pages, never tracebacks; every page sends a strict
Content-Security-Policy.
"""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from reconciler.service.web import session as sessions
from tests.service.conftest import ADMIN, READ

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def _log_in(client: TestClient, token: str, next_path: str = "/") -> TestClient:
    form = client.get("/login", params={"next": next_path})
    answer = client.post(
        "/login",
        data={"token": token, "csrf": _csrf(form.text), "next": next_path},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def test_pages_ask_for_a_login_and_a_session_is_not_the_token(service: TestClient) -> None:
    first = service.get("/tenants/acme/drift", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/tenants/acme/drift"
    _log_in(service, READ)
    cookie = service.cookies[sessions.COOKIE]
    assert READ not in cookie and cookie.startswith("v1.read.")
    page = service.get("/")
    assert page.status_code == 200 and "acme" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_a_login_never_sends_you_to_another_site(service: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        service.cookies.clear()
        form = service.get("/login", params={"next": target})
        answer = service.post(
            "/login",
            data={"token": ADMIN, "csrf": _csrf(form.text), "next": target},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/", target


def test_a_wrong_token_is_refused_without_echoing_it(service: TestClient) -> None:
    form = service.get("/login")
    typed = "guess-<b>1234</b>"
    answer = service.post("/login", data={"token": typed, "csrf": _csrf(form.text)})
    assert answer.status_code == 401
    assert "not valid" in answer.text and "guess" not in answer.text
    assert service.get("/", follow_redirects=False).status_code == 303


def test_login_without_its_csrf_token_is_refused(service: TestClient) -> None:
    service.get("/login")
    answer = service.post("/login", data={"token": ADMIN}, follow_redirects=False)
    assert answer.status_code == 403 and "CSRF" in answer.text


def test_forged_edited_and_expired_sessions_are_a_login_again(service: TestClient) -> None:
    _log_in(service, READ)
    read = service.cookies[sessions.COOKIE]
    _, _role, expires, nonce, mac = read.split(".")
    config = service.app.state.config  # type: ignore[attr-defined]
    stale = sessions.encode(config, sessions.Session("admin", "n", int(time.time()) - 5))
    for forged in (
        f"v1.admin.{expires}.{nonce}.{mac}",  # a read session that says admin
        f"v1.read.{int(expires) + 3600}.{nonce}.{mac}",  # a longer life
        "v1.admin.9999999999.x." + "0" * 64,
        stale,
        "garbage",
        "x" * 5000,
    ):
        service.cookies.clear()
        service.cookies.set(sessions.COOKIE, forged)
        answer = service.get("/", follow_redirects=False)
        assert answer.status_code == 303, forged[:40]
        posted = service.post("/tenants/acme/reconcile", data={"csrf": "0" * 64})
        assert posted.status_code == 403


BAD_PATHS = [
    "/tenants/nope",
    "/tenants/ACME",
    "/tenants/acme/jobs/%3Cscript%3E",
    "/tenants/acme/jobs/no-such-job",
    "/tenants/acme/whatever/x",
    "/static/../app.py",
    "/static/app.py",
]


def test_bad_names_are_404_pages_without_a_traceback(service: TestClient) -> None:
    _log_in(service, ADMIN)
    for path in BAD_PATHS:
        answer = service.get(path)
        assert answer.status_code == 404, path
        assert "Traceback" not in answer.text and "<script>" not in answer.text
