"""Who may see and do what through the MCP server.

A :class:`Scope` names the tenants a caller may see (``None``: all) and its
rights: ``read`` (status, resources, validate, drift, explain, history, runs)
or ``plan`` (read, plus making plans and applying plans a person approved).
On stdio the scope is the process's own (``--tenant`` limits it); on HTTP it
comes from the caller's bearer token, looked up in a tokens file::

    tokens:
      - name: acme-agent
        sha256: 5e884898da28...      # sha256 of the token (or `token: <clear>`)
        tenants: [acme]              # or ["*"] for every tenant
        rights: plan                 # read | plan

given with ``--tokens FILE``, ``RECONCILER_MCP_TOKENS_FILE``, or inline as
JSON in ``RECONCILER_MCP_TOKENS``. Anything outside the scope is "not found".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.errors import ConfigError, ReconcilerError

Rights = Literal["read", "plan"]
ALL = "*"


class AccessDenied(ReconcilerError):
    """The caller's rights do not allow this."""


@dataclass(frozen=True)
class Scope:
    """The tenants a caller may see (None: every one) and what it may do."""

    tenants: frozenset[str] | None
    rights: Rights
    who: str

    def sees(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants

    def require_plan(self) -> None:
        if self.rights != "plan":
            raise AccessDenied(
                f"{self.who} has read rights only", hint="use a token with plan rights"
            )


class TokenEntry(BaseModel):
    """One token of the tokens file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    sha256: str | None = None
    token: str | None = None
    tenants: list[str]
    rights: Rights = "read"

    def digest(self) -> str:
        if self.sha256:
            return self.sha256.lower()
        if self.token:
            return _sha256(self.token)
        raise ValueError(f"token {self.name} has neither `sha256` nor `token`")

    def scope(self) -> Scope:
        tenants = None if ALL in self.tenants else frozenset(self.tenants)
        return Scope(tenants, self.rights, f"token {self.name}")


class TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[TokenEntry]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_tokens(path: Path | None, environ: Mapping[str, str] = os.environ) -> dict[str, Scope]:
    """Token digest → scope, from ``path``, ``RECONCILER_MCP_TOKENS_FILE`` or the inline JSON."""
    where = path or (
        Path(environ["RECONCILER_MCP_TOKENS_FILE"])
        if environ.get("RECONCILER_MCP_TOKENS_FILE")
        else None
    )
    try:
        if where is not None:
            data: Any = yaml.safe_load(where.read_text())
        elif environ.get("RECONCILER_MCP_TOKENS"):
            data = json.loads(environ["RECONCILER_MCP_TOKENS"])
        else:
            return {}
        parsed = TokensFile.model_validate(data)
        return {entry.digest(): entry.scope() for entry in parsed.tokens}
    except (OSError, ValueError, yaml.YAMLError, ValidationError) as exc:
        source = str(where) if where is not None else "RECONCILER_MCP_TOKENS"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot read the MCP tokens from {source}: {first}",
            hint="see `reconciler mcp --help` for the tokens file format",
        ) from exc


class TokenTable:
    """The SDK's token verifier over the tokens file (constant-time digest comparison)."""

    def __init__(self, scopes: Mapping[str, Scope]) -> None:
        self._scopes = dict(scopes)

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = _sha256(token)
        for known, scope in self._scopes.items():
            if hmac.compare_digest(known, digest):
                tenants = [ALL] if scope.tenants is None else sorted(scope.tenants)
                return AccessToken(
                    token=token,
                    client_id=scope.who,
                    scopes=[scope.rights],
                    claims={"tenants": tenants},
                )
        return None


def request_scope(default: Scope | None) -> Scope:
    """The scope of the request being served: its token's, else the process's own."""
    token = get_access_token()
    if token is not None:
        tenants = (token.claims or {}).get("tenants", [])
        rights: Rights = "plan" if "plan" in token.scopes else "read"
        seen = None if ALL in tenants else frozenset(tenants)
        return Scope(seen, rights, token.client_id)
    if default is None:
        raise AccessDenied("not authenticated", hint="send a bearer token")
    return default
