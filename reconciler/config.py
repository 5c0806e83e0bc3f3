"""Settings, read from the environment.

=================  ==========================================================
MCP_SERVER_URL     base URL of the MCP server (e.g. http://127.0.0.1:8085)
MCP_API_KEY        Bearer key for the connector
MCP_ENABLED        "false" turns every connector call into a clear error
DATABASE_URL       state database; default ``sqlite:///.reconciler/state.db``;
                   ``postgresql://user@host:5432/db`` and SQLAlchemy URLs work
=================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from reconciler.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///.reconciler/state.db"
"""The state database when ``DATABASE_URL`` is not set (``reconciler.state`` re-exports it)."""


class Settings(BaseModel):
    """Where the connector and the state database are."""

    model_config = ConfigDict(frozen=True)

    mcp_server_url: str | None = Field(None, description="Base URL of the MCP server.")
    mcp_api_key: SecretStr = Field(SecretStr(""), description="Bearer key for the connector.")
    mcp_enabled: bool = Field(True, description="Whether connector calls are allowed at all.")
    database_url: str = Field(DEFAULT_DATABASE_URL, description="State database URL.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        enabled = env.get("MCP_ENABLED", "true").strip().lower()
        if enabled not in {"true", "false", "1", "0", "yes", "no"}:
            raise ConfigError(f"MCP_ENABLED={enabled!r} is not a boolean", hint="use true or false")
        return cls(
            mcp_server_url=env.get("MCP_SERVER_URL") or None,
            mcp_api_key=SecretStr(env.get("MCP_API_KEY", "")),
            mcp_enabled=enabled in {"true", "1", "yes"},
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        )

    def connector(self) -> tuple[str, str]:
        """URL and key of the connector, or a ConfigError saying how to get one."""
        if not self.mcp_enabled:
            raise ConfigError(
                "the connector is disabled (MCP_ENABLED=false)",
                hint="unset MCP_ENABLED to let the reconciler talk to Databricks",
            )
        if not self.mcp_server_url:
            raise ConfigError(
                "MCP_SERVER_URL is not set",
                hint="point it at the MCP server, or start the local one with "
                "`reconciler emulator --port 8085` and export "
                "MCP_SERVER_URL=http://127.0.0.1:8085 MCP_API_KEY=dev-key",
            )
        if not self.mcp_server_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"MCP_SERVER_URL={self.mcp_server_url!r} is not an http(s) URL",
                hint="write it like http://127.0.0.1:8085",
            )
        return self.mcp_server_url, self.mcp_api_key.get_secret_value()
