"""Process-wide settings of the interpreter for the reconciler's own processes."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 10)
"""Collect the youngest generation every 50,000 allocations instead of CPython's 700.

Plans hold millions of small objects (documents, observed objects, records).
With the default thresholds a plan of 10,100 resources ran 4,700 young and 13
full collections, 3.1 s of its 11.7 s of CPU, each full collection walking
every object alive; with these it runs about 140 young ones, 11 middle ones
and one full one (1.1 s). Cycles are still collected, in larger batches.
See ``bench/profiles/gc-2026-12-05.txt``.
"""


def tune_gc() -> None:
    """Apply :data:`GC_THRESHOLDS` (a command's process, the service, the benchmark)."""
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_loaded() -> None:
    """Keep what is alive now (the loaded documents, the imported modules) out of every
    later collection of this command (``gc.freeze``).

    A command's loaded tenants live until it ends, yet each middle-generation
    collection walked them again: a plan of 10,100 resources spent about 0.4 s in
    the collector, 0.2 s with them frozen. Only one-shot commands call it, after
    loading; :func:`thaw` undoes it when the command returns (the tests run many
    commands in one process), and a long-running ``serve`` never freezes.
    """
    gc.freeze()


def thaw() -> None:
    """Give the frozen objects back to the collector (see :func:`freeze_loaded`)."""
    gc.unfreeze()
