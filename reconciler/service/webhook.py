"""``POST /api/v1/webhooks/git``: a push makes the service fetch now, not at the next poll.

GitHub signs the body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=…``);
GitLab sends the secret itself (``X-Gitlab-Token``). Both are checked in
constant time against ``RECONCILER_WEBHOOK_SECRET`` (without it, only a
request carrying the admin token is accepted). A push to another branch is
acknowledged and ignored. The payload only *triggers* a fetch: which tenants
are re-planned comes from ``git diff`` between the commit in force and the
fetched one, never from the file lists a payload claims.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from reconciler.errors import ReconcilerError
from reconciler.service.auth import CHALLENGE, role_of
from reconciler.service.runtime import Runtime, runtime_of

MAX_BODY = 5 * 1024 * 1024

router = APIRouter(tags=["webhook"])


class WebhookAnswer(BaseModel):
    accepted: bool
    reason: str
    commit: str | None = None
    tenants: list[str] = []


def signed(body: bytes, secret: str, request: Request) -> bool:
    """Whether the request carries a valid GitHub signature or GitLab token."""
    if not secret:
        return False
    github = request.headers.get("x-hub-signature-256", "")
    if github.startswith("sha256="):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(github[len("sha256=") :].strip().lower(), expected)
    gitlab = request.headers.get("x-gitlab-token")
    return gitlab is not None and hmac.compare_digest(gitlab.encode(), secret.encode())


def pushed_branch(payload: Any) -> str | None:
    """``main`` for a GitHub or GitLab push to refs/heads/main; None otherwise."""
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    return None


@router.post(
    "/api/v1/webhooks/git",
    status_code=202,
    response_model=WebhookAnswer,
    responses={401: {"description": "bad or missing signature"}, 400: {"description": "bad body"}},
)
async def git_webhook(
    request: Request, runtime: Annotated[Runtime, Depends(runtime_of)]
) -> WebhookAnswer:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"the payload is larger than {MAX_BODY} bytes")
    secret = runtime.config.webhook_secret.get_secret_value()
    if not signed(body, secret, request) and not (
        runtime.config.has_tokens and role_of(request) == "admin"
    ):
        raise HTTPException(401, "the webhook signature (or token) is missing or wrong", CHALLENGE)
    event = request.headers.get("x-github-event") or request.headers.get("x-gitlab-event") or ""
    if event == "ping":
        return WebhookAnswer(accepted=False, reason="ping")
    try:
        payload = json.loads(body or b"{}")
    except ValueError as exc:
        raise HTTPException(400, "the payload is not JSON") from exc
    branch = pushed_branch(payload)
    if branch is None:
        raise HTTPException(400, "not a push payload: it has no `ref` of a branch")
    if branch != runtime.config.branch:
        return WebhookAnswer(
            accepted=False, reason=f"a push to {branch}, not {runtime.config.branch}"
        )
    try:
        touched = await runtime.controller.refresh()
    except ReconcilerError as exc:
        raise HTTPException(502, f"fetching the source failed: {exc}") from exc
    runtime.scheduler.sync_jobs()
    for name in sorted(touched):
        runtime.scheduler.run_now(name, forced=True)
    return WebhookAnswer(
        accepted=True, reason="fetched", commit=runtime.controller.commit, tenants=sorted(touched)
    )
