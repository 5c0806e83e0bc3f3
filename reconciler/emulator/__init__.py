"""A local stand-in for the MCP Databricks connector.

The emulator is an ASGI application that keeps the connector contract of
``specs/connector.md``: the same paths, the same object shapes, the same
problem documents. It behaves like Databricks rather than echoing requests
back: the server assigns ids, fills defaults, keeps dataset rows, applies
``ALTER TABLE`` rules, and makes long-running operations (serving endpoints,
vector indexes, job runs) settle only after a short delay.

Modules:

- :mod:`.app` builds the FastAPI application (``create_app``).
- :mod:`.middleware` adds request ids, Bearer auth, body limits and counters.
- :mod:`.store` holds the state in memory, optionally persisted to a JSON file.
- :mod:`.catalogs`, :mod:`.datasets`, :mod:`.notebooks`, :mod:`.jobs`,
  :mod:`.runs`, :mod:`.serving`, :mod:`.vector` are one router per area.
- :mod:`.server` runs it (blocking, or in a background thread for tests).
"""

from __future__ import annotations

API_PREFIX = "/agentprovision/v1"
"""Every connector path lives under this prefix."""

__all__ = ["API_PREFIX"]
