"""Who may see and post what on the status page: the session, the CSRF token, the role."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from reconciler.document import is_name
from reconciler.errors import ReconcilerError
from reconciler.service.web import render
from reconciler.service.web import session as sessions


class Refused(Exception):
    """Answer the request with ``response`` instead (a login redirect or an error page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def error_page(
    request: Request, status: int, message: str, hint: str | None = None
) -> HTMLResponse:
    return render.page(
        request,
        "error.html",
        status_code=status,
        title=f"{status}: {message[:60]}",
        message=message,
        hint=hint,
    )


def failure(request: Request, exc: ReconcilerError, status: int = 502) -> HTMLResponse:
    return error_page(request, status, exc.message, exc.hint)


def viewer(request: Request) -> sessions.Session:
    """The signed-in session of a page view; otherwise off to the login form."""
    found = sessions.current(request)
    if found is not None and found.signed_in:
        return found
    if request.headers.get(render.LIVE_HEADER) == "1":
        raise Refused(Response("log in again", status_code=401, headers=render.SECURITY_HEADERS))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise Refused(render.redirect(f"/login?next={quote(render.local_path(target), safe='/')}"))


def poster(request: Request, form: Mapping[str, object], *, admin: bool) -> sessions.Session:
    """The session of a form post: signed in, carrying its CSRF token, admin when it must be."""
    found = sessions.current(request)
    config = request.app.state.config
    if found is None or not sessions.csrf_ok(config, found, form.get("csrf")):
        raise Refused(
            error_page(
                request,
                403,
                "this form was refused: its CSRF token is missing or does not match your session",
                "reload the page and send the form again",
            )
        )
    if not found.signed_in:
        raise Refused(error_page(request, 403, "log in first", "open /login"))
    if admin and not found.admin:
        raise Refused(
            error_page(
                request,
                403,
                "a read token can look but not run, cancel, test or reconcile",
                "log in with the admin token to do that",
            )
        )
    return found


def name(request: Request, value: str, what: str) -> str:
    """``value`` when it can be a document name, else a 404 page."""
    if is_name(value):
        return value
    raise Refused(
        error_page(request, 404, f"no {what} of that name", "names are lowercase a-z, 0-9, - and _")
    )
