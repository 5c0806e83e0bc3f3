"""In-memory state of the emulated workspace, optionally persisted to a JSON file.

State is one dict per collection (``catalogs``, ``datasets``, ``notebooks``,
``jobs``, ``runs``, ``endpoints``, ``indexes``), each mapping a string key to
a *record*: a plain JSON-able dict holding the object's public fields plus
internal fields whose names start with ``_`` (creation sequence, dataset rows,
notebook content, timestamps that drive readiness). Routers turn records into
public objects by dropping the ``_`` fields and computing the time-dependent
parts (see :func:`public`).

Every mutation happens inside :meth:`Store.mutate`, which holds the store's
lock and, when a state file is configured, rewrites the whole file atomically
(write to a temporary file, then ``os.replace``) before releasing it. The file
is loaded at start, so everything, dataset rows included, survives a restart.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COLLECTIONS: tuple[str, ...] = (
    "catalogs",
    "datasets",
    "notebooks",
    "jobs",
    "runs",
    "endpoints",
    "indexes",
)

Record = dict[str, Any]

FORMAT_VERSION = 1


def now() -> float:
    """Seconds since the epoch (the one clock every router uses)."""
    return time.time()


def to_ms(seconds: float) -> int:
    """Epoch seconds as the contract's epoch milliseconds."""
    return int(seconds * 1000)


def public(record: Record) -> Record:
    """A deep copy of ``record`` without its internal ``_`` fields."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


ETAG_SKIPPED = frozenset({"_rows", "_content"})
"""Internal fields left out of the ETag digest (their public summaries are in it)."""


def etag_of(record: Record) -> str:
    """The object's entity tag: a digest of its stored fields.

    Any change to the stored object changes it; reading does not. Time-driven
    progress that is computed on read (an endpoint settling, a run finishing)
    does not change it either, so a client can read, wait, and still update.
    """
    stored = {k: v for k, v in record.items() if k not in ETAG_SKIPPED}
    digest = hashlib.sha256(json.dumps(stored, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def view(record: Record) -> Record:
    """The public object with its ``etag``."""
    return {**public(record), "etag": etag_of(record)}


class Store:
    """All objects of the emulated workspace, guarded by one re-entrant lock."""

    def __init__(self, state_file: Path | None = None, ready_delay: float = 1.0) -> None:
        self.state_file = state_file
        self.ready_delay = ready_delay
        self.lock = threading.RLock()
        self.data: dict[str, dict[str, Record]] = {}
        self.counters: dict[str, int] = {}
        self._owned: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._clear()
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # ---- life cycle -------------------------------------------------------------------

    def _clear(self) -> None:
        self.data = {name: {} for name in COLLECTIONS}
        self.counters = {"seq": 0, "job_id": 0, "run_id": 0, "object_id": 0}
        self._owned = {}

    def _load(self, path: Path) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        for name in COLLECTIONS:
            self.data[name] = dict(raw.get("data", {}).get(name, {}))
        self.counters.update(raw.get("counters", {}))
        for name in COLLECTIONS:
            for key, record in sorted(self.data[name].items(), key=lambda kv: kv[1]["_seq"]):
                self._index(name, key, record)

    def save(self) -> None:
        """Write the whole state to the state file atomically (no-op without one)."""
        if self.state_file is None:
            return
        payload = {"format": FORMAT_VERSION, "counters": self.counters, "data": self.data}
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".emulator-", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, separators=(",", ":"))
            os.replace(tmp, self.state_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def reset(self) -> None:
        """Forget every object (and persist the empty state)."""
        with self.mutate():
            self._clear()

    @contextlib.contextmanager
    def mutate(self) -> Iterator[Store]:
        """Hold the lock for a change, then persist it.

        When the change raises, nothing is written; routers validate before they mutate.
        """
        with self.lock:
            yield self
            self.save()

    # ---- ids and access ---------------------------------------------------------------

    def next(self, counter: str) -> int:
        """The next value of a monotonically increasing counter (``seq``, ``job_id``...)."""
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return self.counters[counter]

    def table(self, collection: str) -> dict[str, Record]:
        return self.data[collection]

    def insert(self, collection: str, key: str, record: Record) -> Record:
        """Add a record, stamping its creation sequence (used for stable list order)."""
        record["_seq"] = self.next("seq")
        self.data[collection][key] = record
        self._index(collection, key, record)
        return record

    # ---- listing by tenant ------------------------------------------------------------

    def _index(self, collection: str, key: str, record: Record) -> None:
        tenant = record.get("tenant_id")
        if isinstance(tenant, str):
            self._owned.setdefault((collection, tenant), []).append((record["_seq"], key))

    def owned_page(
        self, collection: str, tenant_id: str, after: int, size: int
    ) -> tuple[list[Record], bool]:
        """Up to ``size`` records of the tenant with ``_seq > after``, in creation order,
        and whether more follow.

        The per-tenant index is appended to on insert and never updated on
        delete; stale entries (deleted or re-created keys) are skipped here and
        compacted away when they outnumber the live ones. A page therefore
        costs O(page size + recently deleted), not O(objects in the workspace).
        """
        with self.lock:
            entries = self._owned.get((collection, tenant_id), [])
            table = self.data[collection]
            start = bisect.bisect_right(entries, (after, "\U0010ffff"))
            found: list[Record] = []
            stale = 0
            for seq, key in entries[start:]:
                record = table.get(key)
                if record is None or record["_seq"] != seq:
                    stale += 1
                    continue
                if len(found) == size:
                    return found, True
                found.append(record)
            if stale > len(found) and stale > 64:
                self._compact(collection, tenant_id)
            return found, False

    def _compact(self, collection: str, tenant_id: str) -> None:
        table = self.data[collection]
        self._owned[(collection, tenant_id)] = [
            (seq, key)
            for seq, key in self._owned.get((collection, tenant_id), [])
            if key in table and table[key]["_seq"] == seq
        ]
