"""Jinja2 rendering for the status page: autoescaped templates, strict response headers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from reconciler.service.web import session as sessions

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
LIVE_HEADER = "x-reconciler-live"
"""Sent by the page's script when it polls: the answer is the live part of the page only."""

_LOCAL_PATH = re.compile(r"^/(?![/\\])[-A-Za-z0-9_./~%?=&]*$")


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(value: datetime | str | None) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value or ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


def _value(value: Any) -> str:
    """A drift or result value as text (JSON for anything but a string)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "—"


ENV = Environment(
    loader=PackageLoader("reconciler.service.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(when=_when, iso=_iso, duration=_duration, value=_value, short=_short)


def local_path(value: object, default: str = "/") -> str:
    """``value`` when it is a path of this site (never another origin), else ``default``."""
    if isinstance(value, str) and len(value) < 500 and _LOCAL_PATH.match(value):
        return value
    return default


def page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    session: sessions.Session | None = None,
    live: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template``, or its live part ``live`` when the page's script polls."""
    polled = live is not None and request.headers.get(LIVE_HEADER) == "1"
    config = request.app.state.config
    context.setdefault("title", "AgentProvision reconciler")
    context.setdefault("error", None)
    context.setdefault("notice", None)
    chosen = session or sessions.current(request)
    body = ENV.get_template(live if polled and live else template).render(
        request_path=request.url.path,
        session=chosen,
        csrf=sessions.csrf_token(config, chosen) if chosen else "",
        **context,
    )
    response = HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
    if chosen is not None and request.cookies.get(sessions.COOKIE) != sessions.encode(
        config, chosen
    ):
        sessions.set_cookie(request, response, chosen)
    return response


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=SECURITY_HEADERS)
