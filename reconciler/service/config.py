"""Settings of ``reconciler serve``: options, and the secrets that come from the environment.

=========================  ====================================================
RECONCILER_READ_TOKEN      Bearer token for the read paths of the API
RECONCILER_ADMIN_TOKEN     Bearer token for every path (reconcile, suspend, ...)
RECONCILER_WEBHOOK_SECRET  GitHub HMAC secret / GitLab token of the git webhook
=========================  ====================================================

Without tokens the API is open, so the server then refuses to listen on
anything but a loopback address.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from reconciler.errors import ConfigError

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


@dataclass(frozen=True)
class PolicyOverride:
    """Service-wide policy that wins over the Tenant documents (None: the document decides)."""

    sync: str | None = None  # "auto" | "manual"
    drift: str | None = None  # "revert" | "report"
    prune: bool | None = None


@dataclass(frozen=True)
class ServiceConfig:
    source: str
    branch: str = "main"
    subdir: str | None = None
    interval: float = 180.0
    host: str = "127.0.0.1"
    port: int = 8090
    log_format: str = "text"
    workdir: str = ".reconciler/serve"
    read_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    admin_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    webhook_secret: SecretStr = field(default_factory=lambda: SecretStr(""))
    jitter: float = 0.1  # share of the interval each tenant's run is moved by, at random
    max_backoff: float = 600.0
    parallelism: int = 10
    concurrent_tenants: int = 16
    grace: float = 25.0  # seconds in-flight steps get to finish on SIGTERM
    circuit_max_wait: float = 60.0  # longest pause of the connector's circuit breaker
    policy: PolicyOverride = field(default_factory=PolicyOverride)
    replica: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @property
    def has_tokens(self) -> bool:
        return bool(self.read_token.get_secret_value() or self.admin_token.get_secret_value())

    def with_env(self, env: Mapping[str, str] | None = None) -> ServiceConfig:
        """These settings plus the tokens and the webhook secret of the environment."""
        env = os.environ if env is None else env
        from dataclasses import replace

        return replace(
            self,
            read_token=SecretStr(env.get("RECONCILER_READ_TOKEN", "")),
            admin_token=SecretStr(env.get("RECONCILER_ADMIN_TOKEN", "")),
            webhook_secret=SecretStr(env.get("RECONCILER_WEBHOOK_SECRET", "")),
        )

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work, with what to do."""
        if self.interval < 1:
            raise ConfigError(f"--interval {self.interval:g} is too short", hint="use 1 s or more")
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port {self.port} is not a TCP port", hint="use 1-65535")
        if not self.has_tokens and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to listen on {self.host} without API tokens: anyone who can reach "
                "it could suspend tenants and trigger applies",
                hint="set RECONCILER_READ_TOKEN and RECONCILER_ADMIN_TOKEN, or listen on 127.0.0.1",
            )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
