"""What an orchestrator and Prometheus ask of a running bot: /healthz, /readyz and /metrics.

- /healthz: the process is alive, i.e. its event loop answers a request (200).
- /readyz: it can do its work: the database answers a trivial query, Redis pings (when REDIS_URL is set),
  and the Bot API answers getMe (the answer is kept a few seconds, so a probe every second does not call
  Telegram every second). 200 or 503, with a JSON body naming each check and why one failed.
- /metrics: Prometheus' text format (bot/app/metrics.py).

In webhook mode the routes are added to the webhook's own aiohttp app; in any other mode `ops_server`
serves them on HEALTH_HOST:HEALTH_PORT (0: not at all).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiohttp import web

from bot.app.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.app.redaction import Redactor
from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

# How long one check may take before it counts as failed: a probe must answer well within its own timeout.
CHECK_SECONDS = 3.0
# How long a getMe answer (either way) is reused.
BOT_API_CACHE_SECONDS = 5.0

Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok} if self.ok else {"ok": False, "error": self.error}


async def _run(check: Check) -> CheckResult:
    try:
        await asyncio.wait_for(check(), CHECK_SECONDS)
    except TimeoutError:
        return CheckResult(False, f"no answer within {CHECK_SECONDS:g} s")
    except Exception as exc:
        log.debug("readiness check failed", exc_info=True)
        # The class and the first line only: enough to act on, and nothing long or secret in a probe's body.
        text = Redactor().redact(str(exc).splitlines()[0][:200]) if str(exc) else ""
        return CheckResult(False, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    return CheckResult(True)


class BotApiCheck:
    """getMe, its outcome remembered for `cache_seconds` (the monotonic clock of `clock`)."""

    def __init__(self, bot: Bot, clock: Clock, cache_seconds: float = BOT_API_CACHE_SECONDS) -> None:
        self.bot = bot
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._last: tuple[float, CheckResult] | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> CheckResult:
        async with self._lock:  # concurrent probes share one request
            now = self.clock.monotonic()
            if self._last is not None and now - self._last[0] < self.cache_seconds:
                return self._last[1]
            result = await _run(self._get_me)
            self._last = (self.clock.monotonic(), result)
            return result

    async def _get_me(self) -> None:
        await self.bot.get_me(request_timeout=int(CHECK_SECONDS))


class Readiness:
    """The checks of /readyz. `database` runs a trivial query; `redis` pings, when there is one."""

    def __init__(
        self,
        database: Check,
        bot: Bot,
        *,
        redis_url: str | None = None,
        clock: Clock | None = None,
        cache_seconds: float = BOT_API_CACHE_SECONDS,
    ) -> None:
        self.database = database
        self.bot_api = BotApiCheck(bot, clock or SystemClock(), cache_seconds)
        self._redis_url = redis_url
        self._redis: Any = None

    async def _ping_redis(self) -> None:
        if self._redis is None and self._redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(self._redis_url, socket_connect_timeout=CHECK_SECONDS)
        await self._redis.ping()

    async def check(self) -> dict[str, CheckResult]:
        checks: dict[str, Awaitable[CheckResult]] = {
            "database": _run(self.database),
            "bot_api": self.bot_api(),
        }
        if self._redis_url:
            checks["redis"] = _run(self._ping_redis)
        results = await asyncio.gather(*checks.values())
        return dict(zip(checks, results, strict=True))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


def add_ops_routes(app: web.Application, readiness: Readiness, metrics: Metrics) -> None:
    """/healthz, /readyz and /metrics on `app`."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        results = await readiness.check()
        failed = [name for name, result in results.items() if not result.ok]
        body = {
            "status": "failed" if failed else "ready",
            "failed": failed,
            "checks": {name: result.as_json() for name, result in results.items()},
        }
        return web.json_response(body, status=503 if failed else 200)

    async def metrics_page(request: web.Request) -> web.Response:
        body = await metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


class OpsServerError(OSError):
    """HEALTH_HOST/HEALTH_PORT cannot be listened on."""


@asynccontextmanager
async def ops_server(
    host: str, port: int, readiness: Readiness, metrics: Metrics
) -> AsyncIterator[int | None]:
    """Serve the ops routes on host:port while inside; yields the port (None when `port` is 0: disabled)."""
    if port == 0:
        yield None
        return
    app = web.Application()
    add_ops_routes(app, readiness, metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise OpsServerError(exc.errno, exc.strerror) from None
        log.info("health and metrics on http://%s:%d (/healthz, /readyz, /metrics)", host, port)
        yield port
    finally:
        await runner.cleanup()
