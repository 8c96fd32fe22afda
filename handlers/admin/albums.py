"""Albums: Telegram delivers the files of one album as separate messages, so the first file's handler
waits for the rest and uploads them together, with one report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class AlbumFile:
    """A file of an album, to be fetched when the whole album is in."""

    file_id: str
    file_name: str
    size: int | None


class Albums(Protocol):
    """Collects the files of an album: this process's Gatherer, or one shared by every process of the bot
    (bot/app/redis_app.py), since a load balancer spreads an album's messages over the web workers."""

    async def gather(self, key: str, item: AlbumFile) -> list[AlbumFile] | None: ...


class Gatherer(Generic[T]):
    """Collects items that arrive one by one under a key (the files of one album) until none has come
    for `quiet` seconds; the first caller for a key gets them all, the later ones get None."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self._items: dict[str, list[T]] = {}
        self._arrived: dict[str, asyncio.Event] = {}

    async def gather(self, key: str, item: T) -> list[T] | None:
        if key in self._items:
            self._items[key].append(item)
            self._arrived[key].set()
            return None
        self._items[key] = [item]
        arrived = self._arrived[key] = asyncio.Event()
        try:
            while True:
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), self.quiet)
                except TimeoutError:
                    break
            return self._items[key]
        finally:
            self._items.pop(key, None)
            self._arrived.pop(key, None)
