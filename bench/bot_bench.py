"""Bot throughput, CPU and memory through the full stack: the real `python -m bot` process polling the Bot API
emulator over HTTP, a stream of search queries from several users, update sent → reply received.

The baseline, in the same run against the same emulator, is a bare aiogram echo bot (bench/echo_bot.py) in
its own process: the difference is what our handlers, search and rendering add to aiogram and HTTP. The
emulator and the simulated users live in this process, the bot in another, as they would in production.

The emulator runs with `fast_text` (HTML stripped, not validated; parses cached): Telegram's servers do not
share our two cores, and the strict parser would cost the harness more than the echo bot costs altogether.
Each round starts a fresh echo process then a fresh bot process; figures are the min and the median of the
rounds. CPU time per update (from /proc/<pid>/stat, the bot process only) is steadier than updates/s on a
shared machine. Memory is the bot process's RSS when idle after start-up and after `searches` searches. The
bot builds aiogram's models as it first uses them (bot/app/lazy_models.py); the echo bot, bare aiogram,
builds all ~630 at import: that is most of the difference between their RSS.

The users cycle through the 16 queries of bench/corpus_gen.py: after the warm-up the search cache answers
them, so this measures what the bot adds around a search (dispatch, logging, saving the query for its
paging buttons the first time a user makes it, rendering, HTTP), not the search itself (bench/run.py's
corpus benchmark does that).

    python -m bench --only bot                                   # 10k documents, built in a temp folder
    python -m bench.bot_bench --docs 100000 --corpus-dir /tmp/c  # corpora kept there and reused
    BOT_PROFILE=/tmp/bot.prof python -m bench.bot_bench --rounds 1   # cProfile of the bot process
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpus_gen import QUERIES, generate
from emulator import BotAPIEmulator, EmulatedUser

_TICK = os.sysconf("SC_CLK_TCK")
# Searches per user in the measured phase: 800 updates a round. CPU time is counted in ticks (10 ms), and a
# longer phase is less at the mercy of what else the machine does for a few seconds.
PER_USER = 100


async def _build_corpus(path: Path, n: int) -> None:
    from bot.corpus.ingest import Corpus, TextInput
    from bot.text.morph import Morphology
    from storage.db import Database

    morph = Morphology()
    async with Database(path) as db:
        corpus = Corpus(db, morph, min_chars=20)
        items = (
            TextInput(text=t, title=h, date=d.isoformat(), source="bench")
            for h, t, d in generate(n, morph=morph)
        )
        async for _ in corpus.ingest_many(items):
            pass


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15 of proc(5)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class ProcessRun:
    """One process (echo or bot) through one round."""

    updates: int
    seconds: float
    cpu_seconds: float  # the bot process, over the loaded phase
    harness_cpu_seconds: float  # this process (emulator + simulated users), over the same phase
    loaded: list[float]  # ms, every user at once
    alone: list[float]  # ms, one user alone
    rss_idle_mb: float
    rss_after_mb: float
    searches: int  # answered by the process when rss_after_mb was read

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / self.updates

    @property
    def harness_cpu_ms(self) -> float:
        return self.harness_cpu_seconds * 1000 / self.updates


async def _drive(users: list[EmulatedUser], per_user: int, texts: list[str], start: int = 0) -> list[float]:
    latencies: list[float] = []

    async def one(user: EmulatedUser, k: int) -> None:
        for i in range(per_user):
            text = texts[(start + k * per_user + i) % len(texts)]
            t = time.perf_counter()
            await user.send_text(text)
            await user.chat.wait_for_message(timeout=60)
            latencies.append((time.perf_counter() - t) * 1000)

    await asyncio.gather(*(one(u, k) for k, u in enumerate(users)))
    return latencies


@contextmanager
def _gc_quiet() -> Iterator[None]:
    """The emulator keeps every chat's messages; a full collection over them would stall the harness."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _with_process(
    emulator: BotAPIEmulator,
    args: list[str],
    env: dict[str, str],
    users: list[EmulatedUser],
    per_user: int,
    searches: int,
) -> ProcessRun:
    since = len(emulator.calls)
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env={**os.environ, **env})
    texts = [q for q in QUERIES if not q.startswith("-")]
    try:
        await emulator.wait_for_call("getUpdates", since=since, finished=False, timeout=120)
        await asyncio.sleep(1.0)  # start-up hooks (digest scheduler, menus) settle
        rss_idle = _rss_mb(proc.pid)
        done = 0
        warm = await _drive(users, 2, texts)  # caches, SQLite pages, first-use imports
        done += len(warm)
        spy = await _start_sampling(proc.pid, args)
        with _gc_quiet():
            cpu0, harness0, t0 = _cpu_seconds(proc.pid), time.process_time(), time.perf_counter()
            loaded = await _drive(users, per_user, texts, start=done)
            seconds = time.perf_counter() - t0
            cpu = _cpu_seconds(proc.pid) - cpu0
            harness = time.process_time() - harness0
        await _stop_sampling(spy)
        done += len(loaded)
        alone = await _drive(users[:1], per_user, texts, start=done)
        done += len(alone)
        rest = max(0, searches - done)
        if rest:
            more = await _drive(users, -(-rest // len(users)), texts, start=done)
            done += len(more)
        return ProcessRun(
            len(loaded), seconds, cpu, harness, loaded, alone, rss_idle, _rss_mb(proc.pid), done
        )
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _start_sampling(pid: int, args: list[str]) -> asyncio.subprocess.Process | None:
    """BOT_PYSPY=FILE (and py-spy on PATH or in PYSPY): a sampling profile of the bot process over the
    loaded phase, as collapsed stacks (flamegraph.pl or speedscope read them). Unlike cProfile, it does not
    slow the bot down."""
    out = os.environ.get("BOT_PYSPY")
    if not out or "bot" not in args:
        return None
    spy = os.environ.get("PYSPY", "py-spy")
    proc = await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--output", out, "--nonblocking"
    )
    await asyncio.sleep(1.0)
    return proc


async def _stop_sampling(proc: asyncio.subprocess.Process | None) -> None:
    if proc is not None:
        proc.send_signal(signal.SIGINT)
        await proc.wait()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Rounds:
    echo: list[ProcessRun] = field(default_factory=list)
    bot: list[ProcessRun] = field(default_factory=list)


def _mm(values: list[float], fmt: str) -> str:
    """'min / median' of the rounds."""
    return f"{min(values):{fmt}} / {statistics.median(values):{fmt}}"


def _report(docs: int, users_n: int, r: Rounds) -> None:
    n = len(r.bot)
    print(
        f"(min / median of {n} round{'s' if n > 1 else ''}; each round a fresh echo process, then a fresh bot)"
    )
    rows = (
        ("updates/s, loaded", lambda p: p.rate, ".1f"),
        ("CPU ms per update", lambda p: p.cpu_ms, ".2f"),
        ("harness CPU ms/update", lambda p: p.harness_cpu_ms, ".2f"),
        (f"p50 ms, {users_n} users", lambda p: _pct(p.loaded, 50), ".1f"),
        (f"p95 ms, {users_n} users", lambda p: _pct(p.loaded, 95), ".1f"),
        ("p50 ms, one user", lambda p: _pct(p.alone, 50), ".1f"),
        ("p95 ms, one user", lambda p: _pct(p.alone, 95), ".1f"),
        ("RSS MB idle", lambda p: p.rss_idle_mb, ".0f"),
        (f"RSS MB after {r.bot[0].searches:,}", lambda p: p.rss_after_mb, ".0f"),
    )
    print(f"{'':24s} {'echo':>17s} {'search':>17s}")
    for label, get, fmt in rows:
        print(
            f"{label:24s} {_mm([get(p) for p in r.echo], fmt):>17s} {_mm([get(p) for p in r.bot], fmt):>17s}"
        )
    rate_ratio = [b.rate / e.rate for e, b in zip(r.echo, r.bot, strict=True)]
    cpu_ratio = [e.cpu_ms / b.cpu_ms for e, b in zip(r.echo, r.bot, strict=True)]
    print(
        f"search ÷ echo, updates/s: {_mm(rate_ratio, '.2f')} (target ≥ 0.7);  echo CPU ÷ search CPU per update: "
        f"{_mm(cpu_ratio, '.2f')} (target ≥ 0.7);  RSS after searches at {docs:,} documents: "
        f"{max(p.rss_after_mb for p in r.bot):.0f} MB at most (target ≤ 200)"
    )


async def _run(docs: int, users_n: int, per_user: int, rounds: int, searches: int, corpus_dir: Path) -> None:
    db_path = corpus_dir / f"bot-{docs}.db"
    if not db_path.exists():
        t0 = time.perf_counter()
        building = db_path.with_suffix(".building")
        await _build_corpus(building, docs)
        building.rename(db_path)
        print(f"\n(corpus of {docs:,} documents built in {time.perf_counter() - t0:.0f} s: {db_path})")
    print(f"\n== bot over the emulator, {docs:,} documents, {users_n} users × {per_user} searches ==")
    results = Rounds()
    # BENCH_STRICT_HTML=1: the emulator as the tests run it, to see what the harness costs.
    async with BotAPIEmulator(fast_text=not os.environ.get("BENCH_STRICT_HTML")) as emulator:
        users = [
            emulator.create_user(f"u{i}", id=10_000 + i, language_code="ru", started=True)
            for i in range(users_n)
        ]
        env = {"TELEGRAM_API_URL": emulator.base_url, "BOT_TOKEN": emulator.token, "LOG_LEVEL": "WARNING"}
        bot_env = {
            **env,
            "DATABASE_PATH": str(db_path),
            "LOAD_SAMPLE_CORPUS": "false",
            "THROTTLE_RATE": "10000",
            "ADMIN_IDS": "",
        }
        profile = os.environ.get("BOT_PROFILE")
        bot_args = ["-m", "cProfile", "-o", profile, "-m", "bot"] if profile else ["-m", "bot"]
        for _ in range(rounds):
            results.echo.append(
                await _with_process(emulator, ["-m", "bench.echo_bot"], env, users, per_user, searches)
            )
            results.bot.append(await _with_process(emulator, bot_args, bot_env, users, per_user, searches))
    _report(docs, users_n, results)


def run(
    docs: int = 10_000,
    users: int = 8,
    per_user: int = PER_USER,
    rounds: int = 3,
    searches: int = 1000,
    corpus_dir: Path | None = None,
) -> None:
    """`corpus_dir`: where the corpus is kept (`bot-<docs>.db`) and reused; a temporary folder if None."""
    if corpus_dir is not None:
        corpus_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(_run(docs, users, per_user, rounds, searches, corpus_dir))
        return
    with tempfile.TemporaryDirectory(prefix="alatau-botbench-") as tmp:
        asyncio.run(_run(docs, users, per_user, rounds, searches, Path(tmp)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_bench")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--per-user", type=int, default=PER_USER)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--searches", type=int, default=1000, help="searches before the second RSS reading")
    parser.add_argument("--corpus-dir", type=Path, help="keep the corpus here (bot-<docs>.db) and reuse it")
    args = parser.parse_args()
    run(args.docs, args.users, args.per_user, args.rounds, args.searches, args.corpus_dir)


if __name__ == "__main__":
    main()
