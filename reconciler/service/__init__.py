"""``reconciler serve``: the continuous GitOps controller.

=================  ==========================================================
``config``         the settings (options, tokens, webhook secret, overrides)
``source``         the documents: a folder, or a branch of a git repository
``controller``     one tenant's reconcile under its lease; the commit in force
``scheduler``      APScheduler jobs per tenant: interval, jitter, backoff
``breaker``        the connector's circuit breaker
``runtime``        everything above, started and stopped together
``app``            the FastAPI app (health, metrics, routers; where others mount)
``api``            the tenants API; ``webhook``: the git webhook
``auth``           read and admin tokens
``metrics``        the Prometheus metrics
``logs``           text or JSON log lines, secrets scrubbed
=================  ==========================================================

Status (sync and health) lives in the state database (:mod:`reconciler.status`,
:mod:`reconciler.state.status`), so every replica, the CLI and other faces
read the same.
"""
