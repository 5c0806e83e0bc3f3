"""API authorisation: read tokens read, admin tokens do everything.

``Authorization: Bearer <token>``. :func:`require_read` accepts the read or
the admin token, :func:`require_admin` only the admin token; anything else is
401 (no token, a wrong one, a read token on a mutating path).
:func:`require_admin_forbid_read` (the action routes) answers a read token
403 instead: it is known, it just may not act. When the
server runs without any token (loopback only, see
:meth:`~reconciler.service.config.ServiceConfig.check`) every path is open.
Tokens are compared in constant time and never logged. Health, readiness and
metrics are open; the git webhook checks its own signature.

Other routers protect their paths the same way::

    router = APIRouter(dependencies=[Depends(require_read)])
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from reconciler.service.config import ServiceConfig

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="reconciler"'}


def _config(request: Request) -> ServiceConfig:
    config: ServiceConfig = request.app.state.config
    return config


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _matches(presented: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def role_of(request: Request) -> str | None:
    """ "admin", "read", or None (no or a wrong token); "admin" when no tokens are set."""
    config = _config(request)
    if not config.has_tokens:
        return "admin"
    token = _presented(request)
    if token is None:
        return None
    if _matches(token, config.admin_token.get_secret_value()):
        return "admin"
    if _matches(token, config.read_token.get_secret_value()):
        return "read"
    return None


def require_read(request: Request) -> str:
    role = role_of(request)
    if role is None:
        raise HTTPException(401, "a valid read or admin Bearer token is needed", CHALLENGE)
    return role


def require_admin(request: Request) -> str:
    role = role_of(request)
    if role != "admin":
        raise HTTPException(401, "a valid admin Bearer token is needed", CHALLENGE)
    return role


def require_admin_forbid_read(request: Request) -> str:
    """The admin token; a read token is 403 (known, but not allowed), no valid token 401."""
    role = require_read(request)
    if role != "admin":
        raise HTTPException(403, "this action needs the admin token; the read token only reads")
    return role
