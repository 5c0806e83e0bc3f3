"""Sync windows: when ``serve`` may change a tenant's resources.

A window is a Quartz cron expression (when it opens: seconds first, as in
job schedules), a duration (how long it stays open: ``90m``, ``1h30m``,
``2h``, ``1d``) and a time zone. ``allow`` windows say when changes may be
made, ``deny`` windows when they may not (Argo CD's rules):

- a deny window that is open blocks changes;
- when the tenant has allow windows, changes are made only while one is open;
- with no windows, changes are always allowed.

Outside the permitted times the service still observes and plans, records
status and drift, and says why nothing was applied. ``reconciler plan`` and
``apply`` ignore windows (they are a person's explicit request).

The cron is evaluated with APScheduler's ``CronTrigger``; Quartz's ``?`` is
"any", day-of-week numbers follow Quartz (1 = Sunday … 7 = Saturday), and
``L``, ``W`` and ``#`` are refused with a message (not supported here).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_QUARTZ_DAYS = {
    str(n): day for n, day in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"), 1)
}
MAX_DURATION = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """``1h30m`` → 90 minutes; raises ValueError saying the accepted form."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"duration {text!r} is not like 30m, 1h30m, 2h or 1d")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    length = timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )  # fmt: skip
    if not timedelta(0) < length <= MAX_DURATION:
        raise ValueError(f"duration {text!r} must be more than 0 and at most 366 days")
    return length


def check_zone(name: str) -> str:
    """``name`` if it is an IANA time zone, else ValueError."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA id like 'Europe/Paris')"
        ) from exc
    return name


def quartz_trigger(cron: str, timezone: str = "UTC") -> CronTrigger:
    """An APScheduler trigger for a Quartz expression; ValueError when it cannot be one."""
    from apscheduler.triggers.cron import CronTrigger

    fields = cron.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"a Quartz cron expression has 6 or 7 fields (seconds first), got {len(fields)}"
        )
    if any(ch in f for f in fields for ch in "LW#"):
        raise ValueError(f"cron {cron!r}: L, W and # are not supported in sync windows")
    second, minute, hour, day, month, dow, *year = [f.replace("?", "*") for f in fields]
    dow = re.sub(r"\d", lambda m: _QUARTZ_DAYS.get(m.group(0), m.group(0)), dow.lower())
    try:
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month.lower(),
            day_of_week=dow, year=year[0] if year else None, timezone=check_zone(timezone),
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"cron {cron!r} is not valid: {exc}") from exc


@dataclass(frozen=True)
class Window:
    """One sync window (the validated form of a policy entry)."""

    kind: str  # "allow" | "deny"
    schedule: str
    duration: timedelta
    timezone: str = "UTC"

    def is_open(self, at: datetime) -> bool:
        """True when a start of this window lies in ``(at - duration, at]``."""
        trigger = quartz_trigger(self.schedule, self.timezone)
        start = trigger.get_next_fire_time(None, at - self.duration)
        return start is not None and start <= at

    def describe(self) -> str:
        return f"{self.kind} window `{self.schedule}` ({self.timezone}) for {self.duration}"


def blocked_by(windows: Sequence[Window], at: datetime) -> str | None:
    """Why changes are not allowed at ``at`` (None when they are)."""
    for window in windows:
        if window.kind == "deny" and window.is_open(at):
            return f"a {window.describe()} is open: no changes are made"
    allows = [w for w in windows if w.kind == "allow"]
    if allows and not any(w.is_open(at) for w in allows):
        return "outside every allow window: no changes are made until one opens"
    return None
