"""Log lines of ``serve``: text or one JSON object per line, with known secrets cut out.

The API tokens, the webhook secret, the connector key and the database
password, and every tenant secret read so far (:mod:`reconciler.scrub`), are
replaced by ``***`` in every message (a last line of defence: none of them is
logged on purpose).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from reconciler.scrub import LogScrub, scrub

STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class Scrubber(LogScrub):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(secrets, replacement="***")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(self._line(record))

    def _line(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in STANDARD})
        if record.exc_info and record.levelno >= logging.ERROR:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, default=str)


def configure(fmt: str, secrets: Iterable[str], *, debug: bool = False) -> None:
    """Log to stderr in ``fmt`` ("text" or "json"); the connector's per-request lines at DEBUG."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Scrubber(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        logging.getLogger("reconciler.mcp").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
