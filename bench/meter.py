"""What a measured phase counts: wall and CPU time, database statements, peak RSS.

Statements are counted with a SQLAlchemy ``before_cursor_execute`` listener
on the state store's engine, by their first SQL word (SELECT, INSERT, UPDATE,
DELETE, ...). "State rows written" is the INSERT + UPDATE + DELETE count.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

WRITES = ("INSERT", "UPDATE", "DELETE")


class StatementCounter:
    """Counts the statements an engine executes, by verb, while attached."""

    def __init__(self, engine: Engine) -> None:
        self.by_verb: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        words = statement.split(None, 1)
        self.by_verb[words[0].upper() if words else "?"] += 1

    def snapshot(self) -> dict[str, int]:
        return dict(self.by_verb)


@dataclass
class Measurement:
    """One measured span; filled when its ``with`` block ends."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    statements: dict[str, int] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(self.statements.get(verb, 0) for verb in WRITES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 4),
            "cpu_s": round(self.cpu_s, 4),
            "statements": self.statements,
            "statements_total": sum(self.statements.values()),
            "state_writes": self.writes,
        }


@contextmanager
def measure(counter: StatementCounter | None = None) -> Iterator[Measurement]:
    """Time the block (wall and this process's CPU) and count its statements."""
    result = Measurement()
    before = Counter(counter.by_verb) if counter else Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result.wall_s = time.perf_counter() - wall
        result.cpu_s = time.process_time() - cpu
        if counter is not None:
            result.statements = dict(counter.by_verb - before)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return round(peak / scale, 1)
