"""The MCP server's Databricks connector, seen from the reconciler: an httpx client."""

from reconciler.mcp.client import API_PREFIX, ConnectorClient

__all__ = ["API_PREFIX", "ConnectorClient"]
