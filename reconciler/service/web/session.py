"""The status page's login session and its CSRF tokens.

The login form asks for the read or admin token once; the answer is a
session cookie (HttpOnly, SameSite=Strict) that says which role it carries,
when it expires and a random nonce, signed with HMAC-SHA256 under a key
derived from that role's token. The token itself is never stored in the
cookie; every replica that has the same tokens accepts the same sessions, and
changing a token ends every session made with it.

Every form carries a CSRF token bound to the session (an HMAC of its nonce);
a POST whose token is missing or does not match is refused. Before the login
there is an anonymous session, so the login form carries one too.

Without any token configured (loopback only, see
:meth:`~reconciler.service.config.ServiceConfig.check`) every visitor is
admin, as on the API; sessions are still made (with a key of this process),
so the CSRF check holds there too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response

from reconciler.service.config import ServiceConfig

Role = Literal["admin", "read", "anon"]
COOKIE = "reconciler_session"
LIFETIME = 12 * 3600  # seconds a login lasts
ANON_LIFETIME = 3600
_PROCESS_KEY = secrets.token_bytes(32)  # signs sessions when no token is configured
_VERSION = "v1"


@dataclass(frozen=True)
class Session:
    role: Role
    nonce: str
    expires: int

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def signed_in(self) -> bool:
        return self.role != "anon"


def _config(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def _key(config: ServiceConfig, role: Role) -> bytes | None:
    """The signing key of ``role``'s sessions (None: that role cannot exist here)."""
    if not config.has_tokens:
        return _PROCESS_KEY if role == "admin" else None
    admin = config.admin_token.get_secret_value()
    read = config.read_token.get_secret_value()
    if role == "admin":
        secret = admin
    elif role == "read":
        secret = read
    else:
        secret = hashlib.sha256(f"{admin}\0{read}".encode()).hexdigest()
    if not secret:
        return None
    return hmac.new(secret.encode(), f"reconciler web session {role}".encode(), "sha256").digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), "sha256").hexdigest()


def encode(config: ServiceConfig, session: Session) -> str:
    key = _key(config, session.role)
    if key is None:
        raise ValueError(f"no {session.role} token is configured")
    body = f"{_VERSION}.{session.role}.{session.expires}.{session.nonce}"
    return f"{body}.{_mac(key, body)}"


def decode(config: ServiceConfig, value: str | None, *, now: float | None = None) -> Session | None:
    """The session a cookie carries, or None when it is absent, forged, stale or expired."""
    if not value or len(value) > 300:
        return None
    parts = value.split(".")
    if len(parts) != 5 or parts[0] != _VERSION or parts[1] not in ("admin", "read", "anon"):
        return None
    _, role_text, expires_text, nonce, mac = parts
    role: Role = role_text  # type: ignore[assignment]  # checked just above
    key = _key(config, role)
    if key is None or not expires_text.isdigit():
        return None
    body = f"{_VERSION}.{role}.{expires_text}.{nonce}"
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    if int(expires_text) < (time.time() if now is None else now):
        return None
    return Session(role, nonce, int(expires_text))


def new_session(role: Role) -> Session:
    lifetime = ANON_LIFETIME if role == "anon" else LIFETIME
    return Session(role, secrets.token_urlsafe(18), int(time.time()) + lifetime)


def csrf_token(config: ServiceConfig, session: Session) -> str:
    """The CSRF token of every form shown to ``session``."""
    key = _key(config, session.role) or _PROCESS_KEY
    return _mac(key, f"csrf.{session.nonce}")


def csrf_ok(config: ServiceConfig, session: Session, presented: object) -> bool:
    return isinstance(presented, str) and hmac.compare_digest(
        presented.encode(), csrf_token(config, session).encode()
    )


def current(request: Request) -> Session | None:
    """The request's session (when no token is configured, a fresh admin one if it has none)."""
    config = _config(request)
    found = decode(config, request.cookies.get(COOKIE))
    if found is None and not config.has_tokens:
        return new_session("admin")
    return found


def role_for_token(request: Request, token: str) -> Role | None:
    """The role a token typed into the login form gives (compared in constant time)."""
    config = _config(request)
    if not config.has_tokens:
        return "admin"
    typed = token.strip().encode()
    for role, expected in (("admin", config.admin_token), ("read", config.read_token)):
        value = expected.get_secret_value().encode()
        if typed and value and hmac.compare_digest(typed, value):
            return role  # type: ignore[return-value]  # a Role literal
    return None


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        encode(_config(request), session),
        max_age=max(0, session.expires - int(time.time())),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
