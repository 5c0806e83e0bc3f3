"""Work done in a forked copy of this process, its answer sent back pickled.

Loading thousands of documents is pure Python work that one core does alone;
:func:`in_fork` runs part of it in a child made with ``fork()`` (which shares
everything read so far without copying it) while the caller does the rest.
The child's answer comes back through a pipe. Fork is used only where it is
safe: on a POSIX system, from a process with one thread (a thread holding a
lock at the moment of the fork would leave the lock held forever in the
child), and with more than one core to run on. Anywhere else, and when the
child fails in any way, the caller gets None and does the work itself.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

log = logging.getLogger("reconciler")


def can_fork() -> bool:
    """Whether :func:`in_fork` would fork here: POSIX, one thread, two cores or more."""
    return hasattr(os, "fork") and threading.active_count() == 1 and (os.cpu_count() or 1) > 1


class Child:
    """A forked child computing one answer; :meth:`result` waits for it."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid, self.pipe = pid, pipe
        self._done = False

    def result(self) -> Any | None:
        """The child's answer, or None when it failed (the caller then does the work).

        The answer is unpickled as it streams in, never held whole as bytes first.
        """
        pipe, self.pipe = self.pipe, -1  # the reader owns it now (closes it)
        answer: Any = None
        readable = False
        with os.fdopen(pipe, "rb") as reader:
            try:
                answer, readable = pickle.load(reader), True
            except Exception:  # nothing, or a truncated answer: the child failed
                log.debug("the forked child's answer could not be read", exc_info=True)
        _, status = os.waitpid(self.pid, 0)
        self._done = True
        if os.waitstatus_to_exitcode(status) != 0 or not readable:
            log.debug("the forked child failed (status %s); doing its work here", status)
            return None
        return answer

    def abandon(self) -> None:
        """Stop a child whose answer is no longer wanted (the caller failed)."""
        if self._done:
            return
        self._done = True
        if self.pipe >= 0:
            os.close(self.pipe)
        with suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@contextmanager
def in_fork(work: Callable[[], Any]) -> Iterator[Child | None]:
    """Run ``work()`` in a forked child (None when forking is not safe here).

    The child sends the pickled answer and exits at once (``os._exit``: no
    buffered output flushed twice, no exit handlers run). Call
    :meth:`Child.result` inside the block; leaving it any other way stops the child.
    """
    if not can_fork():
        yield None
        return
    read, write = os.pipe()
    # Until the child has answered, no collection (here or there) walks the objects
    # both share: it would write to their pages, and each write copies a page.
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:  # no process to spare (a limit, a sandbox): do the work here
        log.debug("cannot fork; doing the work here", exc_info=True)
        if thaw:
            gc.unfreeze()
        os.close(read)
        os.close(write)
        yield None
        return
    if pid == 0:  # the child
        os.close(read)
        code = 1
        try:
            answer = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as writer:
                writer.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child = Child(pid, read)
    try:
        yield child
    finally:
        child.abandon()
        if thaw:
            gc.unfreeze()
