"""Mask by value: the last line of defence behind the path-based masks.

Every secret's clear text is registered here the moment it is read (see
``TenantResolver._secret``). :func:`scrub` removes each registered value from
a text, in its plain, JSON-escaped, URL-escaped and Python-repr forms, and
:func:`scrub_data` does the same to every string of a JSON-like document.
Everything that leaves the process goes through one of them: the terminal
(:class:`ScrubbedStream`), plan files, state writes, log records
(:func:`install_log_scrub`), the service's and the MCP server's answers.

Values shorter than :data:`MIN_LENGTH` characters are not registered: cutting
every ``"ab"`` out of every output would make it unreadable (they are still
masked by path like any other secret).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO, TypeVar
from urllib.parse import quote, quote_plus

REDACTED = "(sensitive)"
MIN_LENGTH = 4

T = TypeVar("T")

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_log_scrub_installed = False


def register(*values: str) -> None:
    """Remember secret clear texts for the rest of the process (short ones are ignored)."""
    global _pattern
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH} - _values
    if not fresh:
        return
    with _lock:
        _values.update(fresh)
        _pattern = None
    install_log_scrub()


def registered() -> frozenset[str]:
    """The clear texts known so far."""
    return frozenset(_values)


def forget_all() -> None:
    """Forget every registered value (for a fresh start in tests)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def forms(value: str) -> set[str]:
    """The ways ``value`` can be written in an output: plain, JSON, URL and repr escaped."""
    json_form = json.dumps(value)[1:-1]
    found = {
        value,
        json_form,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(json_form)[1:-1],  # a JSON text inside a JSON string
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        repr(value)[1:-1],
    }
    return {f for f in found if f}


@functools.lru_cache(maxsize=64)
def _compile(values: frozenset[str]) -> re.Pattern[str] | None:
    every = {f for v in values for f in forms(v)}
    if not every:
        return None
    alternatives = sorted(every, key=lambda f: (-len(f), f))
    return re.compile("|".join(re.escape(f) for f in alternatives))


def _registered_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _values:
            _pattern = _compile(frozenset(_values))
        return _pattern


def scrub(text: str, extra: Iterable[str] = (), *, replacement: str = REDACTED) -> str:
    """``text`` with every registered secret (and each of ``extra``, any length) replaced."""
    if not isinstance(text, str) or not text:
        return text
    pattern = _pattern  # compiled already: no lock to read it
    if pattern is None and _values:
        pattern = _registered_pattern()
    if pattern is not None:
        text = pattern.sub(replacement, text)
    if not extra:
        return text
    more = frozenset(v for v in extra if isinstance(v, str) and v)
    if more:
        pattern = _compile(more)
        if pattern is not None:
            text = pattern.sub(replacement, text)
    return text


def scrub_data(value: T, extra: Iterable[str] = ()) -> T:
    """A copy of a JSON-like value with every string (values, not keys) scrubbed."""
    more = tuple(extra)
    if not _values and not more:
        return value
    return _scrub_data(value, more)  # type: ignore[no-any-return]


def _scrub_data(value: Any, extra: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return scrub(value, extra)
    if isinstance(value, Mapping):
        return {k: _scrub_data(v, extra) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_data(v, extra) for v in value]
    return value


class ScrubbedStream:
    """A text stream that scrubs what is written to it (everything else is the stream's)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def scrubbed(stream: TextIO) -> TextIO:
    """``stream`` wrapped in a :class:`ScrubbedStream` (once)."""
    if isinstance(stream, ScrubbedStream):
        return stream
    return ScrubbedStream(stream)  # type: ignore[return-value]


def scrub_record(
    record: logging.LogRecord, extra: Iterable[str] = (), *, replacement: str = REDACTED
) -> None:
    """Format the record's message now and scrub it, and its exception text."""
    message = record.getMessage()
    clean = scrub(message, extra, replacement=replacement)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text, extra, replacement=replacement)


class LogScrub(logging.Filter):
    """A logging filter that scrubs each record (and drops nothing)."""

    def __init__(self, extra: Iterable[str] = (), *, replacement: str = REDACTED) -> None:
        super().__init__()
        self.extra = [s for s in extra if s and len(s) >= MIN_LENGTH]
        self.replacement = replacement

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, self.extra, replacement=self.replacement)
        return True


def install_log_scrub() -> None:
    """Scrub every log record as it is made, whichever handler it later reaches."""
    global _log_scrub_installed
    with _lock:
        if _log_scrub_installed:
            return
        _log_scrub_installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _values:
            scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
