"""What several processes of the bot share through Redis (REDIS_URL): dialogs (aiogram's RedisStorage),
one update per user at a time (RedisEventIsolation), the flood throttle's buckets, the collection of an
album whose files reach different web workers, and the news that the corpus changed, so that every process
reads its term statistics and typo vocabulary again. Every key and channel starts with REDIS_PREFIX.

Built once per process by the container (Services.redis) and closed with it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as redis
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

from bot.corpus.ingest import Corpus
from handlers.admin.albums import AlbumFile

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0  # an unreachable Redis fails an update (or delays a shutdown) this long at most
RETRY_SECONDS = 2.0  # between attempts to subscribe to the corpus channel again

# The bucket of one user, refilled by the time passed (Redis's clock: processes' clocks need not agree).
# Returns {allowed, warn}; the same arithmetic as bot.throttle.MemoryBuckets.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'warned')
local tokens = tonumber(held[1]) or burst
local last = tonumber(held[2]) or now
local warned = held[3] == '1'
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed, warn = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
  warned = false
else
  if not warned then warn = 1 end
  warned = true
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'last', string.format('%.17g', now),
  'warned', warned and '1' or '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, warn}
"""


class RedisBuckets:
    """The throttle's buckets shared by every process: one hash per user, updated by one atomic script,
    gone once it would be full again anyway."""

    def __init__(self, client: redis.Redis, prefix: str, rate: float, burst: int = 5) -> None:
        self._client = client
        self._prefix = f"{prefix}:throttle:"
        self._args = (rate, burst, math.ceil(burst / rate * 1000) + 1000)
        self._script = client.register_script(_TAKE)

    async def take(self, user_id: int) -> tuple[bool, bool]:
        allowed, warn = await self._script(keys=[f"{self._prefix}{user_id}"], args=self._args)
        return bool(allowed), bool(warn)


class RedisAlbums:
    """The files of an album collected across processes: each file is pushed to a list under the album's
    key and renews a short "still arriving" key; the first caller (SET NX) waits until that key expires
    (`quiet` seconds without a file), then takes the whole list; the others return None at once."""

    def __init__(self, client: redis.Redis, prefix: str, quiet: float) -> None:
        self._client = client
        self._prefix = f"{prefix}:album:"
        self.quiet = quiet
        # An album whose first caller died leaves its keys behind for this long only.
        self._keep_ms = int(quiet * 1000) * 10 + 60_000

    async def gather(self, key: str, item: AlbumFile) -> list[AlbumFile] | None:
        base = self._prefix + key
        items, arriving, leader = f"{base}:items", f"{base}:arriving", f"{base}:leader"
        quiet_ms = max(1, int(self.quiet * 1000))
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.rpush(items, json.dumps([item.file_id, item.file_name, item.size]))
            pipe.pexpire(items, self._keep_ms)
            pipe.set(arriving, "1", px=quiet_ms)
            pipe.set(leader, "1", nx=True, px=self._keep_ms)
            *_, first = await pipe.execute()
        if not first:
            return None
        # No event crosses processes: sleep until the "still arriving" key would expire, then look again
        # (a file that came meanwhile renewed it).
        while True:
            left_ms = await self._client.pttl(arriving)
            if left_ms <= 0:
                break
            await asyncio.sleep(left_ms / 1000)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.lrange(items, 0, -1)
            pipe.delete(items, leader)
            raw, _ = await pipe.execute()
        return [AlbumFile(*json.loads(entry)) for entry in raw]


class CorpusChanges:
    """Tells the bot's other processes that this one changed the corpus (after the write ended), and makes
    this one read its statistics again when another did. A lost message (Redis restarted) only delays the
    refresh: cached search results are checked against the database anyway (bot/search.py)."""

    def __init__(self, client: redis.Redis, prefix: str, corpus: Corpus) -> None:
        self._client = client
        self.channel = f"{prefix}:corpus"
        self._corpus = corpus
        self._me = secrets.token_hex(8)  # our own news is not news
        self._sending: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        corpus.on_changed.append(self.changed)

    def changed(self) -> None:
        task = asyncio.get_running_loop().create_task(self._publish())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self) -> None:
        try:
            await self._client.publish(self.channel, self._me)
        except redis.RedisError as exc:
            log.warning("could not tell the other processes that the corpus changed: %s", exc)

    async def listen(self) -> None:
        """Subscribes (returns once subscribed, so that no change made after start-up is missed) and
        refreshes the corpus on each change made elsewhere. An unreachable Redis does not stop the start
        (/readyz tells): the subscription is retried in the background."""
        if self._listener is not None:
            return
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except (OSError, redis.RedisError) as exc:
            log.warning("cannot subscribe to %s (%s); retrying in the background", self.channel, exc)
        self._listener = asyncio.create_task(self._receive(pubsub))

    async def _receive(self, pubsub: Any) -> None:
        try:
            while True:
                try:
                    if not pubsub.subscribed:
                        await pubsub.subscribe(self.channel)
                        # What changed while nobody listened is unknown: read everything again.
                        self._corpus.refresh()
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and message["data"] != self._me.encode():
                            self._corpus.refresh()
                except (OSError, redis.RedisError) as exc:
                    log.warning("no corpus channel (%s); subscribing again", exc)
                    # Forget the subscription: the next one is a fresh start, followed by a refresh.
                    with contextlib.suppress(OSError, redis.RedisError):
                        await pubsub.aclose()
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            with contextlib.suppress(OSError, redis.RedisError):
                await pubsub.aclose()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def close(self) -> None:
        await self.stop()
        with contextlib.suppress(ValueError):
            self._corpus.on_changed.remove(self.changed)
        # A CLI ingest exits right after its write: its news must still go out (but not hold the exit).
        if self._sending:
            await asyncio.wait(self._sending, timeout=CONNECT_SECONDS)


class AdminsUnlocked(RedisEventIsolation):
    """One update per user at a time across processes — except admins': the files of an album arrive as
    separate updates, and the first one's handler waits for the others (RedisAlbums), which a lock held for
    the same user would keep out."""

    def __init__(self, client: redis.Redis, prefix: str, admin_ids: frozenset[int]) -> None:
        super().__init__(client, key_builder=DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_bot_id=True))
        self._admins = admin_ids

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        if key.user_id in self._admins:
            yield None
            return
        async with super().lock(key):
            yield None


class RedisShared:
    """The process's Redis connection pool and what is built on it."""

    def __init__(self, url: str, prefix: str, corpus: Corpus, admin_ids: frozenset[int]) -> None:
        self.prefix = prefix
        # Named: CLIENT LIST tells the bot's connections from others'.
        self.client: redis.Redis = redis.from_url(
            url, socket_connect_timeout=CONNECT_SECONDS, client_name=f"{prefix}-bot"
        )
        # Its own pool: aiogram closes the FSM storage's connection on the Dispatcher's shutdown, and the
        # container may outlive a Dispatcher (tests build several on one set of services).
        self._admin_ids = admin_ids
        self._url = url
        self.corpus_changes = CorpusChanges(self.client, prefix, corpus)

    def fsm(self) -> tuple[RedisStorage, RedisEventIsolation]:
        """A storage and an isolation for one Dispatcher, which closes them on its shutdown."""
        own = redis.from_url(self._url, socket_connect_timeout=CONNECT_SECONDS)
        keys = DefaultKeyBuilder(prefix=f"{self.prefix}:fsm", with_bot_id=True)
        return RedisStorage(own, key_builder=keys), AdminsUnlocked(own, self.prefix, self._admin_ids)

    def buckets(self, rate: float, burst: int = 5) -> RedisBuckets:
        return RedisBuckets(self.client, self.prefix, rate, burst)

    def albums(self, quiet: float) -> RedisAlbums:
        return RedisAlbums(self.client, self.prefix, quiet)

    async def close(self) -> None:
        await self.corpus_changes.close()
        await self.client.aclose()
