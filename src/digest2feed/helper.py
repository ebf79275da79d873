"""A second process that renders documents while this one renders others.

A backfill spends two thirds of its time in feedgen and lxml, one archive after another,
on one core. The helper takes every other document rendered whole. It is forked at the
start of the run, while this process holds little more than its modules: a child forked
later would keep the parent's pages as they were at the fork once the parent wrote to
them (a copy of the whole merged history), and a freshly started interpreter imports
everything again. The helper only ever sees what it is sent, pickled: one document and
its entries at a time, one job in flight, so neither side can block the other's pipe.

The helper is only a way to go faster. If it cannot be started, or fails in any way,
the parent renders the document itself and carries on alone: the bytes are the same.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Any

Job = tuple[Any, ...]  # the arguments of the render function


class Helper:
    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid, self.conn = pid, conn
        self.busy = False

    @classmethod
    def start(cls, work: Callable[..., bytes]) -> Helper | None:
        """Fork a helper that answers each job with ``work(*job)``; None where it cannot."""
        if not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2:
            return None  # elsewhere fork is unsafe (macOS) or missing (Windows)
        if "threading" in sys.modules and sys.modules["threading"].active_count() > 1:
            return None  # a caller's threads: a lock one of them holds would stay held in the child
        try:
            ours, theirs = Pipe()
        except OSError:  # out of file descriptors
            return None
        try:
            pid = os.fork()
        except OSError:
            ours.close(), theirs.close()
            return None
        if pid == 0:  # the child: never returns into the caller's code, and leaves through
            # os._exit, which flushes nothing the parent had buffered and prints no traceback
            code = 1
            try:
                ours.close()
                _serve(theirs, work)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        return cls(pid, ours)

    def send(self, job: Job) -> bool:
        """Hand over one job; False if the helper is gone (the caller renders it then)."""
        assert not self.busy
        try:
            self.conn.send(job)
        except (OSError, ValueError):
            self.stop()
            return False
        self.busy = True
        return True

    def result(self) -> bytes | None:
        """The bytes of the job handed over; None if the helper failed on it."""
        self.busy = False
        try:
            ok, data = self.conn.recv()
        except (OSError, EOFError):
            ok = False
        if not ok:
            self.stop()
            return None
        return data

    def stop(self) -> None:
        """Tell the helper to finish, and wait for it (it exits once its pipe is closed)."""
        if self.conn.closed:
            return
        self.conn.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve(conn: Connection, work: Callable[..., bytes]) -> None:
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return  # the parent is done, or gone
        try:
            data = work(*job)
        except Exception:  # the parent renders this one itself, and shows any error it meets
            conn.send((False, None))
            return
        conn.send((True, data))
