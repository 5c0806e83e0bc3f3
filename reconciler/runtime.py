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
