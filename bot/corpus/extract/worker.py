"""Reading uploaded files in a worker process with a wall-time budget per file.

A file that parses slowly (whatever the format's own limits missed) must cost its uploader a refusal and
nobody else anything: in a thread of the bot's process it would hold the GIL between C calls and slow every
reader's search, and nothing could stop it. In a separate process it runs on the other core, and once it
overruns `Limits.max_extract_seconds` the process is killed and replaced at the next upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem
from bot.corpus.extract.dispatch import extract_bytes

Extracted = list[RawItem | ExtractFailure]


class ExtractionWorker:
    """`await worker.extract(name, data, limits)`: the file's items, read in a worker process, one file at
    a time; `await worker.close()` ends the process. The process starts with the first file."""

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    async def extract(self, name: str, data: bytes, limits: Limits) -> Extracted:
        async with self._lock:
            try:
                # Started outside the budget: the file is not to blame for the worker's start-up.
                conn = await self._ready()
                return await asyncio.wait_for(
                    self._exchange(conn, name, data, limits), limits.max_extract_seconds
                )
            except TimeoutError:
                await self._stop()
                error = UploadError(UploadReason.EXTRACT_TIMEOUT, limit=_seconds(limits.max_extract_seconds))
                return [ExtractFailure(name, error)]
            except (EOFError, OSError):
                # The worker died (out of memory, killed): this file's failure; a new one serves the next.
                await self._stop()
                return [ExtractFailure(name, UploadError(UploadReason.INTERNAL))]

    async def _ready(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        await self._stop()
        return await asyncio.to_thread(self._start)

    @staticmethod
    async def _exchange(conn: Connection, name: str, data: bytes, limits: Limits) -> Extracted:
        # Threads, since a 20 MB file fills the pipe; a thread stuck in recv() ends when the worker is killed.
        await asyncio.to_thread(conn.send, (name, data, limits))
        result: Extracted = await asyncio.to_thread(conn.recv)
        return result

    def _start(self) -> Connection:
        # spawn, not fork: the parent runs an event loop and database threads that must not be copied.
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_serve, args=(child_end, os.getpid()), name="extraction-worker", daemon=True
        )
        process.start()
        child_end.close()
        self._process, self._conn = process, parent_end
        parent_end.recv()  # "ready": the worker has imported the readers
        return parent_end

    async def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            await asyncio.to_thread(process.join, 5)

    async def close(self) -> None:
        async with self._lock:
            await self._stop()


def _seconds(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _serve(conn: Connection, parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watchdog", daemon=True).start()
    conn.send("ready")
    while True:
        try:
            name, data, limits = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: Extracted = list(extract_bytes(name, data, limits))
        except Exception:  # extract_bytes reports bad input as failures; anything else is a bug
            result = [ExtractFailure(name, UploadError(UploadReason.INTERNAL))]
        with contextlib.suppress(OSError):
            conn.send(result)


def _exit_with_parent(parent: int) -> None:
    """A parent killed with -9 tells its worker nothing; once re-parented, the worker ends."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
