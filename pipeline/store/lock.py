"""One writer per log: the daemon, ``once`` and ``process`` hold an advisory lock on ``<log>.lock``
while they run; a second writer is refused at once, naming the holder. The lock is the kernel's
(``flock``): it ends with the process that holds it, however that process ends, so a killed
daemon never leaves it behind. Readers (``events``, ``status``, ``serve``, ``backup``) take no lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..dates import iso, utcnow
from ..errors import TradewireError


class LogBusy(TradewireError):
    """Another process writes to this log."""

    stage = "store"
    reason = "log_busy"


class WriterLock:
    def __init__(self, db_path: str) -> None:
        self.path = None if db_path == ":memory:" else Path(str(db_path) + ".lock")
        self.fd: int | None = None

    def acquire(self, holder: str) -> WriterLock:
        """Take the lock, writing who holds it (``holder``, with the pid and time) into the file."""
        if self.path is None or self.fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "a process"
            os.close(fd)
            raise LogBusy(
                f"{self.path.with_suffix('')} is in use by {holder}: one writer per log (stop it "
                "first; events, status and serve read beside it)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({holder}, since {iso(utcnow())})\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
