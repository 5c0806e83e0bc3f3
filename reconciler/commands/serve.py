"""``reconciler serve --source PATH_OR_GIT_URL``: reconcile every tenant continuously.

Runs until SIGTERM/SIGINT, then stops taking work, lets in-flight steps finish
within ``--grace`` seconds, releases its leases and exits 0. The connector and
the database come from the usual settings; API tokens from
``RECONCILER_READ_TOKEN`` / ``RECONCILER_ADMIN_TOKEN``; the webhook secret from
``RECONCILER_WEBHOOK_SECRET``. See :mod:`reconciler.service`.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("serve", help="reconcile continuously; serve status, API and metrics")
    parser.add_argument("--source", required=True, help="a folder of tenants, or a git URL")
    parser.add_argument("--branch", default="main", help="git branch to follow (default main)")
    parser.add_argument("--subdir", help="folder of the repository holding the tenants")
    parser.add_argument(
        "--interval", type=float, default=180.0, help="seconds between reconciles of a tenant"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--workdir", default=".reconciler/serve", help="where git sources are cloned"
    )
    parser.add_argument("--sync", choices=("auto", "manual"), help="override every tenant's sync")
    parser.add_argument(
        "--drift", choices=("revert", "report"), help="override every tenant's drift policy"
    )
    parser.add_argument(
        "--prune",
        choices=("true", "false"),
        help="override every tenant's prune (default: only tenants that set prune: true)",
    )
    parser.add_argument(
        "--grace", type=float, default=25.0, help="seconds in-flight work gets on SIGTERM"
    )
    parser.add_argument(
        "--max-backoff", type=float, default=600.0, help="longest wait after failures (s)"
    )
    parser.add_argument("--parallelism", type=int, default=10, help="steps at once per tenant")
    parser.add_argument(
        "--circuit-max-wait",
        type=float,
        default=60.0,
        help="longest pause (s) before trying a failing connector again",
    )


def run(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from reconciler.config import Settings
    from reconciler.service.app import create_app
    from reconciler.service.config import PolicyOverride, ServiceConfig
    from reconciler.service.logs import configure
    from reconciler.state.db import make_url, normalize_database_url

    override = PolicyOverride(
        sync=args.sync,
        drift=args.drift,
        prune=None if args.prune is None else args.prune == "true",
    )
    config = ServiceConfig(
        source=args.source, branch=args.branch, subdir=args.subdir, interval=args.interval,
        host=args.host, port=args.port, log_format=args.log_format, workdir=args.workdir,
        max_backoff=args.max_backoff, parallelism=args.parallelism, grace=args.grace,
        circuit_max_wait=args.circuit_max_wait,
        policy=override,
    ).with_env()  # fmt: skip
    config.check()
    settings = Settings.from_env()
    settings.connector()
    password = make_url(normalize_database_url(settings.database_url)).password
    secrets = [
        config.read_token.get_secret_value(),
        config.admin_token.get_secret_value(),
        config.webhook_secret.get_secret_value(),
        settings.mcp_api_key.get_secret_value(),
        str(password or ""),
    ]
    _check_reachable(config, settings)
    configure(config.log_format, secrets, debug=args.debug)
    app = create_app(config, settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=int(config.grace) + 5,
            access_log=False,
        )
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; a no-op handler to fall back to
    # makes a stop on SIGTERM what it is here: a clean exit with status 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    server.run()
    return 0 if server.started else 1


def _check_reachable(config: object, settings: object) -> None:
    """Fail with one clear line before the server starts: the source and the database."""
    from pathlib import Path

    from reconciler.config import Settings
    from reconciler.service.config import ServiceConfig
    from reconciler.service.source import open_source
    from reconciler.state import StateStore

    assert isinstance(config, ServiceConfig) and isinstance(settings, Settings)
    open_source(
        config.source, branch=config.branch, subdir=config.subdir, workdir=Path(config.workdir)
    )
    StateStore.open(settings.database_url).close()
