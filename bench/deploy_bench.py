"""The deployment of issue 11 under load: real `python -m bot --role web|worker` processes on one fresh
PostgreSQL database and one fresh Redis key prefix, the Bot API emulator as Telegram, this process as the
load balancer (updates posted to the web workers' webhooks in turn, with the secret).

(a) Updates/s with ONE and with TWO web workers (a `worker` process runs beside them, as deployed). The
    users search the 16 queries of bench/corpus_gen.py over a generated corpus (after the warm-up each
    worker's search cache answers them: this is the cost around a search, not the search). The baseline,
    in the same run against the same emulator and balancer, is the bare aiogram echo bot of
    bench/echo_bot.py served over a webhook (`--echo-web`, here), one and two processes. Every process
    stays up through the rounds; each measurement starts with a warm-up. CPU per update is read from
    /proc/<pid>/stat of the web processes in use (and, beside it, of this database's PostgreSQL backends
    and of the harness): on a shared 2-core machine it is steadier than updates/s, and it shows why two
    workers cannot double the rate there.
(b) A broadcast by two `--role worker` processes (one active through the lease, one standing by) to a few
    hundred instant subscribers, started by one ingest: achieved rate ÷ BROADCAST_RATE, the busiest second
    and the emulator's self-inflicted 429s (its global limit is BROADCAST_RATE: the limit must hold across
    both workers together), how many messages each worker sent (its /metrics), duplicates and missing
    deliveries (must be 0 / 0). The baseline, in the same run, is the single-process broadcast of
    bench/broadcast_bench.py (SQLite, the engine in one process) at the same size and rate.

The emulator runs with `fast_text` so that the harness is not the limit. Without PostgreSQL or Redis the
benchmark says so and skips.

    python -m bench --only deploy
    python -m bench.deploy_bench --docs 2000 --rounds 3 --users 16 --subscribers 400 --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.bot_bench import _cpu_seconds
from bench.broadcast_bench import _busiest_second, _limits
from bench.corpus_gen import QUERIES, generate
from emulator import BotAPIEmulator, EmulatedUser

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-Deploy_secret1"
WAIT = 120.0  # only a hung or broken process reaches it
FIRST_USER = 30_000_000
HEADER = "X-Telegram-Bot-Api-Secret-Token"


# -- the services -----------------------------------------------------------------------------------------


def default_server_url() -> str:
    from storage.postgres.scratch import server_url_for_tests

    return os.environ.get("BENCH_DATABASE_URL") or server_url_for_tests()


def default_redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


async def services_problem(server_url: str, redis_url: str) -> str | None:
    """Why the benchmark cannot run here (one line), or None."""
    import redis.asyncio as redis

    from storage.postgres.scratch import reachable

    why = await reachable(server_url)
    if why is not None:
        return f"PostgreSQL at {server_url} is unreachable: {why}"
    client = redis.from_url(redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        return f"Redis at {redis_url} is unreachable: {exc}"
    finally:
        await client.aclose()
    return None


async def drop_prefix(redis_url: str, prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the processes ----------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"


class Fleet:
    """The processes started so far (stderr in files: nobody reads a pipe while the benchmark runs)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[Proc] = []
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def start(self, name: str, args: list[str], port: int = 0, **extra: str) -> Proc:
        log = self.logs / f"{len(self.procs)}-{name}.log"
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *args, cwd=ROOT, env={**self.env, **extra}, stderr=err
            )
        proc = Proc(name, process, log, port)
        self.procs.append(proc)
        return proc

    async def web(self, name: str, args: list[str]) -> Proc:
        """A webhook server (a `web` bot or the echo bot), once it answers /healthz."""
        port = _free_port()
        proc = await self.start(name, args, port, WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port))
        await until(f"{name} listening", lambda: self._alive(proc))
        return proc

    async def worker(self, name: str) -> Proc:
        port = _free_port()
        return await self.start(
            name, ["-m", "bot", "--role", "worker"], port, HEALTH_HOST="127.0.0.1", HEALTH_PORT=str(port)
        )

    async def _alive(self, proc: Proc) -> bool:
        if proc.process.returncode is not None:
            raise RuntimeError(f"{proc.name} exited: {proc.log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with self.http.get(f"http://127.0.0.1:{proc.port}/healthz") as r:
                return r.status == 200
        return False

    async def metric(self, proc: Proc, name: str, **labels: str) -> float:
        """One sample of a process's /metrics (0 when absent)."""
        async with self.http.get(f"http://127.0.0.1:{proc.port}/metrics") as r:
            text = await r.text()
        for line in text.splitlines():
            found = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
            if found is None or found.group(1) != name:
                continue
            if dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or "")) == labels:
                return float(found.group(3))
        return 0.0

    async def stop(self) -> list[str]:
        """SIGTERM to every process still running; what went wrong (a hang, a traceback in a log)."""
        for proc in self.procs:
            if proc.process.returncode is None:
                proc.process.send_signal(signal.SIGTERM)
        broken = []
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.process.wait(), timeout=60)
            except TimeoutError:
                proc.process.kill()
                await proc.process.wait()
                broken.append(f"{proc.name} (pid {proc.pid}) did not stop on SIGTERM")
            if "Traceback" in proc.log.read_text(errors="replace"):
                broken.append(f"{proc.name}: a traceback in {proc.log}")
        await self.http.close()
        return broken


async def until(what: str, condition: Callable[[], Awaitable[bool] | bool], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        # Other processes' work shows only in the emulator and the database: nothing to wait on but a poll.
        while True:
            value = condition()
            if await value if isinstance(value, Awaitable) else value:
                return
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise RuntimeError(f"timed out waiting for {what}") from None


def bot_env(
    emulator: BotAPIEmulator, database_url: str, redis_url: str, prefix: str, rate: float
) -> dict[str, str]:
    drop = {"BOT_TOKEN", "DATABASE_PATH", "DATABASE_URL", "ADMIN_IDS", "TELEGRAM_API_URL", "LOG_FORMAT"}
    keep = {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("WEBHOOK_", "BOT_", "REDIS_", "HEALTH_"))
    }
    return {
        **keep,
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "DATABASE_PATH": str(Path(tempfile.gettempdir()) / "alatau-deploy-bench-unused.db"),
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "WEBHOOK_SECRET": SECRET,
        "LOAD_SAMPLE_CORPUS": "false",
        "HEALTH_PORT": "0",
        "SOURCES_ENABLED": "false",
        "MIN_TEXT_CHARS": "20",
        "THROTTLE_RATE": "10000",
        "ADMIN_IDS": "",
        "LOG_LEVEL": "WARNING",
        "BROADCAST_RATE": str(rate),
        "ALLOW_PAID_BROADCAST": "true" if rate > 30 else "false",
    }


# -- what the harness does in this process -----------------------------------------------------------------


async def open_services(database_url: str, redis_url: str, prefix: str) -> Any:
    from bot.app.container import Services
    from bot.app.settings import Settings

    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        load_sample_corpus=False,
        min_text_chars=20,
    )
    return await Services.open(settings)


async def ingest(services: Any, items: list[tuple[str, str, str]]) -> int:
    """(title, text, ISO date) into the corpus, through the same service the bot and the CLI use."""
    from bot.corpus.ingest import TextInput

    inputs = (TextInput(text=t, title=h, date=d, source="bench") for h, t, d in items)
    return sum([1 async for _ in services.corpus.ingest_many(inputs)])


def db_backends(services: Any, database_url: str) -> Callable[[], Awaitable[list[int]]]:
    """The pids of the PostgreSQL backends connected to this benchmark's database (all on this machine)."""
    name = database_url.rsplit("/", 1)[1].split("?")[0]

    async def pids() -> list[int]:
        rows = await services.backend.database.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
        return [int(r[0]) for r in rows]

    return pids


def _cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            found[pid] = _cpu_seconds(pid)
    return found


@contextlib.contextmanager
def gc_quiet() -> Iterator[None]:
    """The emulator keeps every chat's messages; a full collection over them would stall the harness."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class LoopLag:
    """The longest stall of this process's event loop while it runs: the emulator lives here, and requests
    that queue behind a stall reach it in a burst (a 429 then may be the harness's, not the sender's)."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.perf_counter() - t - self.tick)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def _mm(values: list[float], fmt: str) -> str:
    """'min / median' of the rounds."""
    return f"{min(values):{fmt}} / {statistics.median(values):{fmt}}"


# -- (a) updates/s with one and two web workers ------------------------------------------------------------


class Balancer:
    """What nginx does in the compose file: each update to the next web worker in turn."""

    def __init__(self, http: aiohttp.ClientSession, targets: list[Proc]) -> None:
        self.http = http
        self.urls = [t.webhook for t in targets]
        self.turn = 0

    async def post(self, update: dict[str, Any]) -> None:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        async with self.http.post(url, json=update, headers={HEADER: SECRET}) as r:
            if r.status != 200:
                raise RuntimeError(f"{url} answered {r.status}: {await r.text()}")


async def drive(
    emulator: BotAPIEmulator, balancer: Balancer, users: list[EmulatedUser], per_user: int, start: int
) -> list[float]:
    texts = [q for q in QUERIES if not q.startswith("-")]
    updates = emulator.state.updates
    latencies: list[float] = []

    async def one(user: EmulatedUser, k: int) -> None:
        for i in range(per_user):
            t = time.perf_counter()
            # send_text does not yield: the update it queued is still the last one.
            await user.send_text(texts[(start + k * per_user + i) % len(texts)])
            await balancer.post(updates[-1])
            await user.chat.wait_for_message(timeout=WAIT)
            latencies.append((time.perf_counter() - t) * 1000)

    await asyncio.gather(*(one(u, k) for k, u in enumerate(users)))
    emulator.state.drop_pending_updates()  # nobody confirms them (no getUpdates): keep the list short
    return latencies


@dataclass
class WebRun:
    updates: int
    seconds: float
    cpu: float  # the web processes in use
    db_cpu: float  # this database's PostgreSQL backends
    harness_cpu: float  # this process: emulator, balancer, users
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def per_update(self, seconds: float) -> float:
        return seconds * 1000 / self.updates


async def measure_web(
    emulator: BotAPIEmulator,
    fleet: Fleet,
    targets: list[Proc],
    users: list[EmulatedUser],
    per_user: int,
    backends: Callable[[], Awaitable[list[int]]] | None,
) -> WebRun:
    balancer = Balancer(fleet.http, targets)
    await drive(emulator, balancer, users, 2, start=0)  # each worker's caches, pages, first-use imports
    db_pids = await backends() if backends else []
    with gc_quiet():
        cpu0, db0 = _cpu_of([t.pid for t in targets]), _cpu_of(db_pids)
        harness0, t0 = time.process_time(), time.perf_counter()
        latencies = await drive(emulator, balancer, users, per_user, start=2 * len(users))
        seconds = time.perf_counter() - t0
        harness = time.process_time() - harness0
        cpu1, db1 = _cpu_of([t.pid for t in targets]), _cpu_of(db_pids)
    return WebRun(
        len(latencies),
        seconds,
        sum(cpu1[p] - cpu0[p] for p in cpu1 if p in cpu0),
        sum(db1[p] - db0[p] for p in db1 if p in db0),
        harness,
        latencies,
    )


CONFIGS = (("echo", 1), ("echo", 2), ("bot", 1), ("bot", 2))


async def bench_web(
    server_url: str, redis_url: str, docs: int, users_n: int, per_user: int, rounds: int, logs: Path
) -> dict[tuple[str, int], list[WebRun]]:
    from storage.postgres.scratch import scratch_database

    prefix = f"bench-deploy-{secrets.token_hex(5)}"
    async with scratch_database(server_url, prefix="alatau_bench_deploy") as url:
        services = await open_services(url, redis_url, prefix)
        try:
            t0 = time.perf_counter()
            items = [(h, t, d.isoformat()) for h, t, d in generate(docs)]
            saved = await ingest(services, items)
            print(f"(corpus: {saved:,} generated texts ingested in {time.perf_counter() - t0:.0f} s)")
            await services.backend.database.execute("ANALYZE")
            async with BotAPIEmulator(fast_text=True) as emulator:
                fleet = Fleet(bot_env(emulator, url, redis_url, prefix, 25.0), logs)
                results: dict[tuple[str, int], list[WebRun]] = {c: [] for c in CONFIGS}
                try:
                    procs = {
                        "echo": [
                            await fleet.web("echo-1", ["-m", "bench.deploy_bench", "--echo-web"]),
                            await fleet.web("echo-2", ["-m", "bench.deploy_bench", "--echo-web"]),
                        ],
                        "bot": [
                            await fleet.web("web-1", ["-m", "bot", "--role", "web"]),
                            await fleet.web("web-2", ["-m", "bot", "--role", "web"]),
                        ],
                    }
                    await fleet.worker("worker")
                    users = [
                        emulator.create_user(f"u{i}", id=FIRST_USER + i, language_code="ru", started=True)
                        for i in range(users_n)
                    ]
                    backends = db_backends(services, url)
                    for _ in range(rounds):
                        for kind, n in CONFIGS:
                            run = await measure_web(
                                emulator,
                                fleet,
                                procs[kind][:n],
                                users,
                                per_user,
                                backends if kind == "bot" else None,
                            )
                            results[(kind, n)].append(run)
                finally:
                    for problem in await fleet.stop():
                        print(f"warning: {problem}")
        finally:
            await services.close()
            await drop_prefix(redis_url, prefix)
    return results


def report_web(docs: int, users_n: int, per_user: int, results: dict[tuple[str, int], list[WebRun]]) -> None:
    n = len(results[CONFIGS[0]])
    print(
        f"\n== web workers on PostgreSQL + Redis: {docs:,} texts, {users_n} users × {per_user} searches, "
        f"updates posted to the webhooks in turn; min / median of {n} round(s) =="
    )
    print(f"{'':28s}" + "".join(f"{f'{k} ×{w}':>17s}" for k, w in CONFIGS))
    rows: tuple[tuple[str, Callable[[WebRun], float], str], ...] = (
        ("updates/s", lambda r: r.rate, ".1f"),
        ("CPU ms/update, web procs", lambda r: r.per_update(r.cpu), ".2f"),
        ("CPU ms/update, PostgreSQL", lambda r: r.per_update(r.db_cpu), ".2f"),
        ("CPU ms/update, harness", lambda r: r.per_update(r.harness_cpu), ".2f"),
        ("p50 ms", lambda r: _pct(r.latencies, 50), ".1f"),
        ("p95 ms", lambda r: _pct(r.latencies, 95), ".1f"),
    )
    for label, get, fmt in rows:
        cells = []
        for config in CONFIGS:
            values = [get(r) for r in results[config]]
            cells.append(_mm(values, fmt) if config[0] == "bot" or "PostgreSQL" not in label else "—")
        print(f"{label:28s}" + "".join(f"{c:>17s}" for c in cells))

    def ratio(kind: str, get: Callable[[WebRun], float]) -> str:
        pairs = zip(results[(kind, 2)], results[(kind, 1)], strict=True)
        return _mm([get(two) / get(one) for two, one in pairs], ".2f")

    bot_over_echo = [b.rate / e.rate for b, e in zip(results[("bot", 1)], results[("echo", 1)], strict=True)]
    print(
        f"two workers ÷ one, updates/s: bot {ratio('bot', lambda r: r.rate)}, echo {ratio('echo', lambda r: r.rate)}"
        f";  CPU per update, two ÷ one: bot {ratio('bot', lambda r: r.per_update(r.cpu))}"
    )
    print(
        f"bot ÷ echo (one worker each), updates/s: {_mm(bot_over_echo, '.2f')};  {os.cpu_count()} cores, load "
        f"average {os.getloadavg()[0]:.1f}: every process here (web workers, worker, PostgreSQL, Redis, this "
        "harness) shares them, so a second web worker adds CPU, not cores"
    )


# -- (b) a broadcast by two workers ------------------------------------------------------------------------


@dataclass
class BroadcastRun:
    subscribers: int
    requests: int
    accepted: int
    span: float
    busiest: int
    self_429: int
    duplicates: int
    missing: int
    wait_first: float  # ingest → first send: the worker's tick
    workers_cpu: float  # both worker processes over the round, seconds
    harness_stall: float  # the longest stall of the emulator's event loop while sending, seconds
    sent_by: list[int] = field(default_factory=list)  # per worker, from its /metrics

    @property
    def achieved(self) -> float:
        return (self.accepted - 1) / self.span if self.span > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.workers_cpu * 1000 / max(1, self.requests)


async def broadcast_round(
    emulator: BotAPIEmulator,
    fleet: Fleet,
    services: Any,
    users: list[EmulatedUser],
    workers: list[Proc],
    text: tuple[str, str, str],
) -> BroadcastRun:
    from storage.models import State

    since = len(emulator.calls)
    self0 = emulator.stats.self_inflicted_429
    before = {u.id: len(u.chat.bot_messages) for u in users}
    sent0 = [await fleet.metric(w, "alatau_digest_deliveries_total", outcome="sent") for w in workers]
    with gc_quiet():
        cpu0 = _cpu_of([w.pid for w in workers])
        started = time.monotonic()
        await ingest(services, [text])
        with LoopLag() as lag:
            await until(
                "the digest for every subscriber",
                lambda: all(len(u.chat.bot_messages) > before[u.id] for u in users),
            )

        async def idle() -> bool:
            counts = await services.deliveries.counts()
            return not counts.get(State.PENDING) and not counts.get(State.SENDING)

        await until("an idle delivery queue", idle)
        await asyncio.sleep(1.0)  # a duplicate sent late would still show
        cpu1 = _cpu_of([w.pid for w in workers])
    calls = [c for c in emulator.calls[since:] if c.method == "sendMessage"]
    accepted = [c.monotonic for c in calls if c.status == 200]
    received = [len(u.chat.bot_messages) - before[u.id] for u in users]
    span = max(accepted) - min(accepted) if accepted else 0.0
    sent1 = [await fleet.metric(w, "alatau_digest_deliveries_total", outcome="sent") for w in workers]
    return BroadcastRun(
        subscribers=len(users),
        requests=len(calls),
        accepted=len(accepted),
        span=span,
        busiest=_busiest_second(accepted),
        self_429=emulator.stats.self_inflicted_429 - self0,
        duplicates=sum(n - 1 for n in received if n > 1),
        missing=sum(1 for n in received if n == 0),
        wait_first=min(accepted) - started if accepted else 0.0,
        workers_cpu=sum(cpu1[p] - cpu0[p] for p in cpu1 if p in cpu0),
        harness_stall=lag.worst,
        sent_by=[round(b - a) for a, b in zip(sent0, sent1, strict=True)],
    )


async def bench_broadcast(
    server_url: str, redis_url: str, subscribers: int, rate: float, rounds: int, logs: Path
) -> list[BroadcastRun]:
    from storage.models import Frequency, Kind, NewSubscription
    from storage.postgres.scratch import scratch_database

    prefix = f"bench-deploy-{secrets.token_hex(5)}"
    async with scratch_database(server_url, prefix="alatau_bench_deploy") as url:
        services = await open_services(url, redis_url, prefix)
        try:
            # Generated texts differ enough that none is refused as a near duplicate of another.
            texts = [(h, t, d.isoformat()) for h, t, d in generate(20 + rounds)]
            await ingest(services, texts[:20])
            async with BotAPIEmulator(rate_limits=_limits(int(rate)), fast_text=True) as emulator:
                users = [
                    emulator.create_user(f"s{i}", id=FIRST_USER + i, language_code="ru", started=True)
                    for i in range(subscribers)
                ]
                cursor = await services.corpus.repo.latest_visible_id()
                await services.subscriptions.add_many(
                    [
                        NewSubscription(
                            u.id, Kind.PERSON, "ru", Frequency.INSTANT, "09:00", "UTC", cursor, None
                        )
                        for u in users
                    ]
                )
                fleet = Fleet(bot_env(emulator, url, redis_url, prefix, rate), logs)
                results: list[BroadcastRun] = []
                try:
                    workers = [await fleet.worker("worker-1"), await fleet.worker("worker-2")]

                    async def one_active() -> bool:
                        with contextlib.suppress(aiohttp.ClientError):
                            active = [await fleet.metric(w, "alatau_active_worker") for w in workers]
                            return sorted(active) == [0.0, 1.0]
                        return False

                    await until("one active worker", one_active)
                    for text in texts[20:]:
                        results.append(await broadcast_round(emulator, fleet, services, users, workers, text))
                finally:
                    for problem in await fleet.stop():
                        print(f"warning: {problem}")
        finally:
            await services.close()
            await drop_prefix(redis_url, prefix)
    return results


def report_broadcast(rate: float, two: list[BroadcastRun], one: list[Any]) -> None:
    first = two[0]
    print(
        f"\n== broadcast by two workers on PostgreSQL + Redis: {first.subscribers:,} instant subscribers, "
        f"BROADCAST_RATE {rate:g}/s (the emulator's global limit {rate:g}/s, 1/s per chat); one ingest each "
        f"round; min / median of {len(two)} round(s) =="
    )
    print(
        f"achieved ÷ configured  {_mm([r.achieved / rate for r in two], '.3f')}   "
        f"({_mm([r.achieved for r in two], '.1f')} /s over {_mm([r.span for r in two], '.2f')} s of sending; "
        f"single process, same run: {_mm([r.achieved / rate for r in one], '.3f')})"
    )
    print(
        f"busiest second         {max(r.busiest for r in two):6d}   messages accepted in any 1 s window, "
        f"both workers together (limit {rate:g}; single process {max(r.busiest for r in one)})"
    )
    print(
        f"self-inflicted 429s    {', '.join(str(r.self_429) for r in two)}   per round, of "
        f"{', '.join(str(r.requests) for r in two)} requests (single process: "
        f"{', '.join(str(r.self_429) for r in one)}); the emulator's loop stalled up to "
        f"{', '.join(f'{r.harness_stall * 1000:.0f}' for r in two)} ms"
    )
    print(
        f"duplicates / missing   {max(r.duplicates for r in two)} / {max(r.missing for r in two)}   the worst "
        f"round (target 0 / 0; single process {max(r.duplicates for r in one)} / {max(r.losses for r in one)})"
    )
    print(
        "sent by worker 1 / 2   "
        + ", ".join(" / ".join(str(n) for n in r.sent_by) for r in two)
        + "   per round, from each worker's /metrics: only the lease holder sends"
    )
    print(
        f"CPU per message        {_mm([r.cpu_ms for r in two], '.2f')} ms   both worker processes over the round "
        f"(the tick, the digest, the sends; single process: the engine while sending "
        f"{_mm([r.engine_cpu_ms for r in one], '.2f')} ms)"
    )
    print(
        f"ingest → first send    {_mm([r.wait_first for r in two], '.1f')} s   (a text saved by another "
        "process goes out at the active worker's next tick, at most 15 s)"
    )


# -- running it ----------------------------------------------------------------------------------------------


async def _run(
    docs: int,
    users: int,
    per_user: int,
    rounds: int,
    subscribers: int,
    rate: float,
    only: str | None,
    server_url: str,
    redis_url: str,
) -> None:
    why = await services_problem(server_url, redis_url)
    if why is not None:
        print(f"\n(deploy benchmark skipped: {why}; set BENCH_DATABASE_URL / BENCH_REDIS_URL)")
        return
    with tempfile.TemporaryDirectory(prefix="alatau-deploybench-") as tmp:
        if only in (None, "web"):
            results = await bench_web(server_url, redis_url, docs, users, per_user, rounds, Path(tmp))
            report_web(docs, users, per_user, results)
        if only in (None, "broadcast"):
            from bench.broadcast_bench import _round as single_process_round

            two = await bench_broadcast(server_url, redis_url, subscribers, rate, rounds, Path(tmp))
            one = [await single_process_round(subscribers, int(rate), 8) for _ in range(rounds)]
            report_broadcast(rate, two, one)


def run(
    docs: int = 2000,
    users: int = 16,
    per_user: int = 20,
    rounds: int = 3,
    subscribers: int = 400,
    rate: float = 50.0,
    only: str | None = None,
    server_url: str | None = None,
    redis_url: str | None = None,
) -> None:
    asyncio.run(
        _run(
            docs,
            users,
            per_user,
            rounds,
            subscribers,
            rate,
            only,
            server_url or default_server_url(),
            redis_url or default_redis_url(),
        )
    )


# -- the echo bot over a webhook: (a)'s baseline -----------------------------------------------------------


async def echo_web() -> None:
    """bench/echo_bot.py's bot, served as a webhook (WEBHOOK_HOST/PORT, WEBHOOK_SECRET) like a `web` worker."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    from bench.echo_bot import echo_bot

    bot, dp = echo_bot()
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=os.environ["WEBHOOK_SECRET"]).register(
        app, path="/webhook"
    )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, os.environ["WEBHOOK_HOST"], int(os.environ["WEBHOOK_PORT"])).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.deploy_bench")
    parser.add_argument("--docs", type=int, default=2000, help="generated texts in (a)'s corpus")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--per-user", type=int, default=20, help="searches per user per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=400)
    parser.add_argument("--rate", type=float, default=50.0, help="BROADCAST_RATE of (b)")
    parser.add_argument("--only", choices=["web", "broadcast"])
    parser.add_argument("--database-url", help="a PostgreSQL server (a fresh database is made on it)")
    parser.add_argument("--redis-url")
    parser.add_argument("--echo-web", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_web:
        asyncio.run(echo_web())
        return
    run(
        args.docs,
        args.users,
        args.per_user,
        args.rounds,
        args.subscribers,
        args.rate,
        args.only,
        args.database_url,
        args.redis_url,
    )


if __name__ == "__main__":
    main()
