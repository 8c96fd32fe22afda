"""robots.txt for article pages, per host, cached (RFC 9309: 4xx = no rules, 5xx or unreachable = all
disallowed for now)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from bot.sources.errors import FetchError
from bot.sources.http import Response

_MAX_HOSTS = 1024  # oldest entries dropped past this: a bounded cache whatever the number of sources
_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to handle at least 500 KiB
_ROBOTS_TTL_S = 6 * 3600
_FAILED_TTL_S = 10 * 60  # an unreachable robots.txt is asked again soon: the site may be back


@dataclass(frozen=True)
class _Rules:
    parser: Protego | None  # None: every path allowed
    disallow_all: bool
    expires: float


class RobotsCache:
    def __init__(self, get: Callable[[str, int], Awaitable[Response]], user_agent: str) -> None:
        self._get = get
        self._agent = user_agent.split("/", 1)[0]  # robots.txt groups name the product token
        self._rules: OrderedDict[str, _Rules] = OrderedDict()
        # One robots.txt request per host even when several of its pages ask at once.
        self._loading: dict[str, asyncio.Task[_Rules]] = {}

    async def allowed(self, url: str) -> tuple[bool, float | None]:
        """Whether the page may be fetched, and the host's Crawl-delay for our agent (seconds) if it sets one."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._rules.get(origin)
        if rules is None or rules.expires < time.monotonic():
            task = self._loading.get(origin)
            if task is None:
                task = self._loading[origin] = asyncio.create_task(self._load(origin))
                task.add_done_callback(lambda _: self._loading.pop(origin, None))
            rules = await asyncio.shield(task)
            self._rules[origin] = rules
            while len(self._rules) > _MAX_HOSTS:
                self._rules.popitem(last=False)
        self._rules.move_to_end(origin)
        if rules.disallow_all:
            return False, None
        if rules.parser is None:
            return True, None
        delay = rules.parser.crawl_delay(self._agent)
        return bool(rules.parser.can_fetch(url, self._agent)), float(delay) if delay else None

    async def _load(self, origin: str) -> _Rules:
        now = time.monotonic()
        try:
            response = await self._get(origin + "/robots.txt", _ROBOTS_BYTES)
        except FetchError:
            return _Rules(None, True, now + _FAILED_TTL_S)
        if response.status >= 500:
            return _Rules(None, True, now + _FAILED_TTL_S)
        if response.status >= 400 or response.status < 200:
            return _Rules(None, False, now + _ROBOTS_TTL_S)
        text = response.body.decode("utf-8", errors="replace")
        return _Rules(Protego.parse(text), False, now + _ROBOTS_TTL_S)
