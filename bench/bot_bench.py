"""Bot throughput and latency through the full stack: the real `python -m bot` process polling the Bot API
emulator over HTTP, a stream of search queries from several users, update sent → reply received.

The baseline, in the same run against the same emulator, is a bare aiogram echo bot (bench/echo_bot.py) in
its own process: the difference is what our handlers, search and rendering add to aiogram and HTTP. The
emulator and the simulated users live in this process, the bot in another, as they would in production.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus_gen import QUERIES, generate
from bot.corpus.ingest import Corpus, TextInput
from bot.text.morph import Morphology
from emulator import BotAPIEmulator, EmulatedUser
from storage.db import Database


async def _build_corpus(path: Path, n: int) -> None:
    morph = Morphology()
    async with Database(path) as db:
        corpus = Corpus(db, morph, min_chars=20)
        items = (
            TextInput(text=t, title=h, date=d.isoformat(), source="bench")
            for h, t, d in generate(n, morph=morph)
        )
        async for _ in corpus.ingest_many(items):
            pass


async def _drive(users: list[EmulatedUser], per_user: int, texts: list[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(user: EmulatedUser, k: int) -> None:
        for i in range(per_user):
            text = texts[(k * per_user + i) % len(texts)]
            start = time.perf_counter()
            await user.send_text(text)
            await user.chat.wait_for_message(timeout=60)
            latencies.append((time.perf_counter() - start) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(u, k) for k, u in enumerate(users)))
    return time.perf_counter() - t0, latencies


async def _with_process(
    emulator: BotAPIEmulator, args: list[str], env: dict[str, str], users: list[EmulatedUser], per_user: int
) -> tuple[float, list[float], list[float]]:
    """(seconds, latencies) of the loaded run with every user at once, and the latencies of one user
    alone: the first is throughput with queueing, the second the reply time a person sees."""
    since = len(emulator.calls)
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env={**os.environ, **env})
    try:
        await emulator.wait_for_call("getUpdates", since=since, finished=False, timeout=60)
        texts = [q for q in QUERIES if not q.startswith("-")]
        await _drive(users, 2, texts)  # warm-up: caches, SQLite pages, first-use imports
        seconds, loaded = await _drive(users, per_user, texts)
        _, alone = await _drive(users[:1], per_user, texts)
        return seconds, loaded, alone
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _run(docs: int, users_n: int, per_user: int) -> None:
    with tempfile.TemporaryDirectory(prefix="alatau-botbench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        await _build_corpus(db_path, docs)
        print(
            f"\n== bot over the emulator, {docs:,} documents (corpus built in {time.perf_counter() - t0:.0f} s) =="
        )
        async with BotAPIEmulator() as emulator:
            users = [
                emulator.create_user(f"u{i}", id=10_000 + i, language_code="ru", started=True)
                for i in range(users_n)
            ]
            env = {"TELEGRAM_API_URL": emulator.base_url, "BOT_TOKEN": emulator.token, "LOG_LEVEL": "WARNING"}
            echo_s, echo_lat, echo_one = await _with_process(
                emulator, ["-m", "bench.echo_bot"], env, users, per_user
            )
            bot_env = {
                **env,
                "DATABASE_PATH": str(db_path),
                "LOAD_SAMPLE_CORPUS": "false",
                "THROTTLE_RATE": "10000",
                "ADMIN_IDS": "",
            }
            bot_args = (
                ["-m", "cProfile", "-o", os.environ["BOT_PROFILE"], "-m", "bot"]
                if os.environ.get("BOT_PROFILE")
                else ["-m", "bot"]
            )
            search_s, search_lat, search_one = await _with_process(
                emulator, bot_args, bot_env, users, per_user
            )
    n = users_n * per_user
    echo_rate, search_rate = n / echo_s, n / search_s
    for name, rate, loaded, alone in (
        ("echo", echo_rate, echo_lat, echo_one),
        ("search", search_rate, search_lat, search_one),
    ):
        print(
            f"{name:7s} {rate:7.1f} updates/s with {users_n} users at once (p50 {_pct(loaded, 50):5.1f} ms, "
            f"p95 {_pct(loaded, 95):5.1f} ms);  one user alone: p50 {_pct(alone, 50):5.1f} ms, "
            f"p95 {_pct(alone, 95):5.1f} ms"
        )
    print(
        f"search/echo throughput {search_rate / echo_rate:.2f} (target ≥ 0.5); search p95 one user "
        f"{_pct(search_one, 95):.1f} ms, loaded {_pct(search_lat, 95):.1f} ms (target < 50 ms); "
        f"mean loaded {statistics.mean(search_lat):.1f} ms"
    )


def run(docs: int = 10_000, users: int = 8, per_user: int = 40) -> None:
    asyncio.run(_run(docs, users, per_user))
