"""One bot per database: a second one would fight the first over getUpdates (409 conflicts, lost replies,
twice the digests). The lock is an flock on `<database>.lock`, which the kernel releases when the process
ends however it ends, so a kill -9 leaves no stale lock. The CLI's commands do not take it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bot.app.failures import StartupFailure


@contextlib.contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    if str(database) == ":memory:":
        yield
        return
    path = database.with_name(database.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StartupFailure(
            f"DATABASE_PATH {database} cannot be used ({exc.strerror}: {path}): "
            "use a file path in a folder this user can write."
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StartupFailure(
                f"another bot process already runs on DATABASE_PATH {database} (it holds {path}): "
                "stop it first, or give this one another DATABASE_PATH."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock
