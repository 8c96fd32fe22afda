"""The deployment of issue 11 as real OS processes: two `web` workers behind a load balancer (updates posted
to them alternately) and two `worker` processes, all on one fresh PostgreSQL database and one Redis prefix,
with the Bot API emulator as Telegram. Readers get answers from both web workers, a search opened on one
pages on the other, a dialog started on one continues on the other, a text ingested with the CLI reaches
every instant subscriber exactly once — and still does when the active worker is killed mid-broadcast.

Everything is asserted through the emulator's record of what the bot sent. Without PostgreSQL or Redis the
test skips and says why; with REQUIRE_SERVICES=1 (CI) it fails instead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.container import Services
from bot.app.settings import Settings
from emulator import BotAPIEmulator, EmulatedUser, StoredMessage
from storage.models import Frequency, Kind, NewSubscription, State
from storage.postgres.scratch import reachable, scratch_database, server_url_for_tests
from tests.e2e.helpers import button
from tests.e2e.test_redis import prefix, redis_url

__all__ = ["prefix", "redis_url"]  # the Redis fixtures of test_redis.py, shared

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "deploy-Secret_1"
WAIT = 90.0  # generous: only a hung or broken process reaches it (2 cores, many processes)
# Slow enough that a broadcast to the crowd below lasts many seconds: time to kill the sender mid-way.
RATE = 3.0
READERS = 12
CROWD = 45


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _news(i: int) -> str:
    return (
        f"date 2025-{10 + i // 28:02d}-{i % 28 + 1:02d}\nНовость номер {i} о развитии Алатау\n"
        f"В Алатау обсудили проект номер {i}. Власти города рассказали о строительстве и инвестициях. "
        "Жители Алатау смогут оценить изменения уже в следующем году, отметили в акимате."
    )


ORCHARD = (
    "date 2026-03-01\nВиноградники Жетысу дали рекордный урожай\n"
    "Фермеры Жетысу собрали втрое больше ягод, чем в прошлом сезоне, и открыли новый винный завод."
)
GLACIER = (
    "date 2026-03-02\nЛедник Туюксу отступил на сорок метров\n"
    "Гляциологи измерили ледник Туюксу над Алматы: за год он отступил на сорок метров, сообщили учёные."
)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test's processes, dropped afterwards."""
    server = server_url_for_tests()
    why = await reachable(server)
    if why is not None:
        message = f"PostgreSQL at TEST_DATABASE_URL ({server}) is unreachable: {why}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (REQUIRE_SERVICES=1)")
        pytest.skip(message)
    async with scratch_database(server, prefix="alatau_deploy") as url:
        yield url


@dataclass
class Web:
    url: str


class Deployment:
    """The emulator, the shared settings, and the processes started so far (their stderr in files)."""

    def __init__(self, emulator: BotAPIEmulator, env: dict[str, str], logs: Path) -> None:
        self.emulator = emulator
        self.env = env
        self.logs = logs
        self.procs: list[tuple[asyncio.subprocess.Process, Path]] = []
        self.http = aiohttp.ClientSession()

    async def start(self, *args: str, **extra: str) -> asyncio.subprocess.Process:
        log = self.logs / f"proc-{len(self.procs)}.log"
        with log.open("wb") as err:
            # A file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks the process.
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, cwd=ROOT, env={**self.env, **extra}, stderr=err
            )
        self.procs.append((proc, log))
        return proc

    async def web(self) -> Web:
        port = _free_port()
        await self.start("--role", "web", WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port))

        async def listening() -> bool:
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    return r.status < 500
            return False

        await until("a web worker", listening)
        return Web(f"http://127.0.0.1:{port}/webhook")

    async def cli(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=WAIT)
        assert proc.returncode == 0, (out.decode(), err.decode())
        return out.decode()

    async def post(self, web: Web, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.http.post(web.url, json=update, headers=headers) as r:
            assert r.status == 200, await r.text()

    async def say(self, web: Web, user: EmulatedUser, text: str) -> StoredMessage:
        await user.send_text(text)
        await self.post(web, self.emulator.pending_updates[-1])
        return await user.chat.wait_for_message(timeout=WAIT)

    async def press(self, web: Web, user: EmulatedUser, message: StoredMessage, data: str) -> None:
        query = await user.press(message, data)
        await self.post(web, self.emulator.pending_updates[-1])
        await query.wait_answer(timeout=WAIT)

    async def stop(self) -> list[str]:
        """Stop every process still running; the stderr of those that printed a traceback."""
        for proc, _ in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        broken = []
        for proc, log in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=WAIT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                broken.append(f"pid {proc.pid} did not stop on SIGTERM")
            text = log.read_text(errors="replace")
            if "Traceback" in text:
                broken.append(text)
        await self.http.close()
        return broken


async def until(what: str, condition: Callable[[], object], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        # Other processes' work shows only in the emulator and the database: nothing to wait on but a poll.
        while not await _value(condition()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _value(result: object) -> object:
    return await result if asyncio.iscoroutine(result) else result


def digests_of(emulator: BotAPIEmulator, chat_id: int, word: str) -> int:
    """How many digests (📰 …) mentioning `word` the bot sent to this chat."""
    return sum(
        1
        for m in emulator.chat(chat_id).bot_messages
        if (m.text or "").startswith("📰") and word in (m.text or "")
    )


@pytest.fixture
async def deployment(
    tmp_path: Path, database_url: str, redis_url: str, prefix: str
) -> AsyncIterator[Deployment]:
    async with BotAPIEmulator() as emulator:
        drop = {"BOT_TOKEN", "DATABASE_PATH", "DATABASE_URL", "ADMIN_IDS", "TELEGRAM_API_URL"}
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in drop and not k.startswith(("WEBHOOK_", "BOT_", "REDIS_"))
            },
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "DATABASE_PATH": str(tmp_path / "unused.db"),
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix,
            "WEBHOOK_SECRET": SECRET,
            "LOAD_SAMPLE_CORPUS": "false",
            "HEALTH_PORT": "0",
            "SOURCES_ENABLED": "false",
            "MIN_TEXT_CHARS": "20",
            "THROTTLE_RATE": "1000",
            "BROADCAST_RATE": str(RATE),
        }
        running = Deployment(emulator, env, tmp_path)
        broken: list[str] = []
        try:
            yield running
        finally:
            broken = await running.stop()
        assert not broken, "\n\n".join(broken)


async def test_two_web_and_two_workers_on_postgres_and_redis(deployment: Deployment, tmp_path: Path) -> None:
    emulator = deployment.emulator
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(30):
        (corpus / f"news-{i}.txt").write_text(_news(i), encoding="utf-8")
    # The CLI migrates the fresh database and fills it before any bot process starts.
    await deployment.cli("ingest", str(corpus))

    a, b = await deployment.web(), await deployment.web()
    one = await deployment.start("--role", "worker")
    two = await deployment.start("--role", "worker")
    services = await Services.open(
        Settings(database_url=deployment.env["DATABASE_URL"], load_sample_corpus=False)
    )
    try:

        async def active_pid() -> int | None:
            holder = await services.backend.leases.holder("worker", datetime.now(UTC))
            return int(holder.split(":")[1]) if holder else None

        await until("an active worker", active_pid)

        # Readers get answers from both web workers.
        readers = [emulator.create_user(f"R{i}", language_code="ru", started=True) for i in range(READERS)]
        for i, reader in enumerate(readers):
            reply = await deployment.say((a, b)[i % 2], reader, "/help")
            assert "/latest" in (reply.text or "")

        # A search opened on one pages on the other.
        searcher = readers[0]
        results = await deployment.say(a, searcher, "Алатау")
        first_page = results.text
        await deployment.press(b, searcher, results, button(results, "p:s:"))
        page2 = await searcher.chat.wait_for_edit(results, timeout=WAIT)
        assert page2.text != first_page
        assert "6." in (page2.text or "")

        # A dialog started on one continues on the other: /subscribe → another time → a typed time.
        planner = emulator.create_user("Planner", language_code="en", started=True)
        screen = await deployment.say(a, planner, "/subscribe")
        await deployment.press(b, planner, screen, "sf:daily:0:1")
        await deployment.press(a, planner, screen, "st::0:1")
        zone_screen = await deployment.say(b, planner, "7:30")
        await deployment.press(a, planner, zone_screen, "sz:0:0:1")
        await deployment.press(b, planner, zone_screen, "sq:a:0:1")
        planned = await services.subscriptions.get(planner.id)
        assert planned is not None and planned.local_time == "07:30"

        # Every reader subscribes for instant digests, each step on the other worker than the last.
        for i, reader in enumerate(readers):
            first, second = (a, b) if i % 2 else (b, a)
            screen = await deployment.say(first, reader, "/subscribe")
            await deployment.press(second, reader, screen, "sf:instant:0:1")
            await deployment.press(first, reader, screen, "sq:a:0:1")
        subscribed = await services.subscriptions.get_many([r.id for r in readers])
        assert len(subscribed) == READERS
        assert all(s.frequency is Frequency.INSTANT for s in subscribed)

        # A text ingested with the CLI reaches every subscriber exactly once.
        (tmp_path / "orchard.txt").write_text(ORCHARD, encoding="utf-8")
        await deployment.cli("ingest", str(tmp_path / "orchard.txt"))
        await until(
            "the digest for every reader",
            lambda: all(digests_of(emulator, r.id, "Жетысу") >= 1 for r in readers),
        )
        await until("an idle queue", _idle(services))
        assert [digests_of(emulator, r.id, "Жетысу") for r in readers] == [1] * READERS
        assert digests_of(emulator, planner.id, "Жетысу") == 0, "a daily subscriber waits for the morning"

        # A crowd of instant subscribers (made in the database: the dialog is proven above) makes the next
        # broadcast last many seconds at RATE messages a second.
        crowd = [emulator.create_user(f"C{i}", language_code="ru", started=True) for i in range(CROWD)]
        cursor = subscribed[0].cursor
        await services.subscriptions.add_many(
            [
                NewSubscription(c.id, Kind.PERSON, "ru", Frequency.INSTANT, "09:00", "UTC", cursor, None)
                for c in crowd
            ]
        )
        everyone = readers + crowd
        first_active = await active_pid()
        assert first_active in (one.pid, two.pid)

        (tmp_path / "glacier.txt").write_text(GLACIER, encoding="utf-8")
        await deployment.cli("ingest", str(tmp_path / "glacier.txt"))

        def started() -> bool:
            return sum(digests_of(emulator, u.id, "Туюксу") for u in everyone) >= 5

        await until("the broadcast to start", started)
        sent_before_kill = sum(digests_of(emulator, u.id, "Туюксу") for u in everyone)
        assert sent_before_kill < len(everyone), "the broadcast ended before the kill: lower RATE"
        assert first_active is not None
        os.kill(first_active, signal.SIGKILL)

        await until(
            "the standby to finish the broadcast",
            lambda: all(digests_of(emulator, u.id, "Туюксу") >= 1 for u in everyone),
            timeout=2 * WAIT,
        )
        await until("an idle queue", _idle(services))
        second_active = await active_pid()
        assert second_active is not None and second_active != first_active
        counts = {u.id: digests_of(emulator, u.id, "Туюксу") for u in everyone}
        twice = {chat: n for chat, n in counts.items() if n != 1}
        assert not twice, f"digests sent other than once: {twice}"
        assert all(digests_of(emulator, r.id, "Жетысу") == 1 for r in readers)
    finally:
        await services.close()


def _idle(services: Services) -> Callable[[], Any]:
    async def idle() -> bool:
        counts = await services.deliveries.counts()
        return not (set(counts) - {State.SENT, State.FAILED, State.BLOCKED, State.UNKNOWN, State.CANCELLED})

    return idle
