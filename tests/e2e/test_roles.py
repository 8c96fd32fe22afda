"""Roles as real processes against the Bot API emulator: a `web` process answers updates and never schedules,
sends or registers the webhook; `worker` processes send digests another process queued, one at a time,
and a standby takes over when the active one is killed; `python -m bot webhook set|info|delete`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app.container import Services
from bot.app.settings import Settings
from emulator import BotAPIEmulator
from storage.leases import LeaseRepository
from storage.models import Frequency, Kind, NewDigest, NewSubscription, Rendered, State, Target
from storage.postgres.scratch import scratch_schema
from tests.unit.test_delivery import received

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "roles-Secret_1"
WAIT = 60.0  # generous: only a hung or broken process reaches it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(emulator: BotAPIEmulator, db: Path, **extra: str) -> dict[str, str]:
    drop = {
        "BOT_TOKEN",
        "DATABASE_PATH",
        "DATABASE_URL",
        "ADMIN_IDS",
        "TELEGRAM_API_URL",
        "BOT_MODE",
        "BOT_ROLE",
    }
    return {
        **{k: v for k, v in os.environ.items() if k not in drop and not k.startswith("WEBHOOK_")},
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_PATH": str(db),
        "LOAD_SAMPLE_CORPUS": "false",
        "HEALTH_PORT": "0",
        "SOURCES_ENABLED": "false",
        **extra,
    }


@contextlib.asynccontextmanager
async def _process(*args: str, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=WAIT)
        assert "Traceback" not in err.decode(), err.decode()


async def _until(what: str, condition: Callable[[], object], timeout: float = WAIT) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        # Another process's work shows only in the database and the emulator: nothing to wait on but a poll.
        while not await _value(condition()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _value(result: object) -> object:
    return await result if asyncio.iscoroutine(result) else result


async def _prepared(db: Path, chats: list[int]) -> Services:
    """The database the processes share: subscribers whose digests are not due (only what a test queues
    is sent)."""
    services = await Services.open(Settings(database_path=db, load_sample_corpus=False))
    later = datetime.now(UTC) + timedelta(days=2)
    await services.subscriptions.add_many(
        [NewSubscription(c, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, later) for c in chats]
    )
    # Their cursor is past everything, so a scheduler finds nothing new for them either.
    return services


async def test_a_web_process_answers_updates_and_schedules_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    port = _free_port()
    async with BotAPIEmulator() as emulator:
        user = emulator.create_user("Айгерим", language_code="ru", started=True)
        services = await _prepared(db, [user.id])
        # A subscription that is due: a scheduler would queue it at once.
        await services.subscriptions.add_many(
            [NewSubscription(777, Kind.PERSON, "ru", Frequency.INSTANT, "09:00", "UTC", -1, None)]
        )
        try:
            env = _env(emulator, db, WEBHOOK_SECRET=SECRET, WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port))
            async with _process("--role", "web", env=env), aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/webhook"

                async def listening() -> bool:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                            return r.status < 500
                    return False

                await _until("the web server", listening)
                await user.send_text("/help")
                update = emulator.pending_updates[-1]
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
                reply = await user.chat.wait_for_message(timeout=WAIT)
                assert "/latest" in (reply.text or "")
                async with http.post(url, json=update) as response:
                    assert response.status == 401, "the secret is checked on every request"
                # Its start-up is long over (it answered): had it started the digests, an engine would
                # have beaten and a lease been taken, and the due subscription been queued.
                assert await services.deliveries.counts() == {}
                assert await services.deliveries.engines_on(socket.gethostname()) == {}
                assert await LeaseRepository(services.db).holder("worker", datetime.now(UTC)) is None
            methods = {c.method for c in emulator.calls}
            assert "setWebhook" not in methods, "a web worker never registers the webhook"
            assert "getUpdates" not in methods and "deleteWebhook" not in methods
        finally:
            await services.close()


# Each run waits out a lease takeover; PostgreSQL's goes with the slow tests (its lease is also tested in
# tests/unit/test_many_processes.py).
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The settings that put every process of a test on one database."""
    if request.param == "sqlite":
        yield {"DATABASE_PATH": str(tmp_path / "bot.db")}
        return
    async with scratch_schema(request.getfixturevalue("postgres_database")) as url:
        yield {"DATABASE_URL": url, "DATABASE_PATH": str(tmp_path / "unused.db")}


async def _queue(services: Services, chats: list[int], label: str) -> None:
    """A digest for these chats, queued by this process (as a web worker's "send now" would)."""
    found = await services.subscriptions.get_many(chats)
    await services.deliveries.enqueue(
        NewDigest("ru", "", 0, 1, "[]"),
        lambda digest_id: Rendered(f"<b>{label}</b> #{digest_id}", None),
        [Target(s.id, s.chat_id, 1, s.next_due) for s in found],
        datetime.now(UTC),
    )


async def test_workers_send_what_another_process_queued_and_a_standby_takes_over(
    database: dict[str, str],
) -> None:
    async with BotAPIEmulator() as emulator:
        users = [emulator.create_user(f"U{i}", started=True) for i in range(6)]
        chats = [u.id for u in users]
        settings = Settings(
            database_path=Path(database["DATABASE_PATH"]),
            database_url=database.get("DATABASE_URL"),
            load_sample_corpus=False,
        )
        services = await Services.open(settings)
        later = datetime.now(UTC) + timedelta(days=2)
        await services.subscriptions.add_many(
            [NewSubscription(c, Kind.PERSON, "ru", Frequency.DAILY, "09:00", "UTC", 0, later) for c in chats]
        )

        async def active_pid() -> int | None:
            holder = await services.backend.leases.holder("worker", datetime.now(UTC))
            return int(holder.split(":")[1]) if holder else None

        def everyone_has(label: str) -> bool:
            return all(received(emulator, chat, label) == 1 for chat in chats)

        try:
            env = _env(emulator, Path(database["DATABASE_PATH"]), **database)
            async with (
                _process("--role", "worker", env=env) as one,
                _process("run", "--role", "worker", env=env) as two,
            ):
                await _until("an active worker", active_pid)
                # Both are up (each asks getMe at its start check and again as it starts the digests).
                await _until("both workers", lambda: len(emulator.calls_to("getMe")) >= 4)
                first = await active_pid()
                assert first in (one.pid, two.pid)

                # Queued by this process, not by either worker: the active one's engine finds it.
                await _queue(services, chats, "Digest")
                await _until("the first digest everywhere", lambda: everyone_has("Digest"))

                # The active worker dies without a word; the standby takes over and sends the next one.
                os.kill(first, signal.SIGKILL)
                await _queue(services, chats, "Second")
                await _until("the standby's digest", lambda: everyone_has("Second"))
                second = await active_pid()
                assert second is not None and second != first and second in (one.pid, two.pid)
            assert all(
                received(emulator, c, "Digest") == 1 and received(emulator, c, "Second") == 1 for c in chats
            )
            assert set(await services.deliveries.counts()) == {State.SENT}
            assert not emulator.calls_to("getUpdates"), "a worker never fetches updates"
        finally:
            await services.close()


async def test_the_webhook_command_sets_shows_and_deletes_it(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        env = _env(
            emulator,
            tmp_path / "bot.db",
            WEBHOOK_URL="https://bot.example.kz",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_PATH="/hook",
        )

        def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot", "webhook", *args],
                cwd=ROOT,
                env={**env, **extra},
                capture_output=True,
                text=True,
                timeout=WAIT,
            )

        done = await asyncio.to_thread(run, "set")
        assert done.returncode == 0, done.stderr
        assert "https://bot.example.kz/hook" in done.stdout
        assert emulator.state.webhook is not None
        assert (emulator.state.webhook["url"], emulator.state.webhook["secret_token"]) == (
            "https://bot.example.kz/hook",
            SECRET,
        )

        info = await asyncio.to_thread(run, "info")
        assert info.returncode == 0, info.stderr
        assert "url: https://bot.example.kz/hook" in info.stdout
        assert "pending updates: 0" in info.stdout
        assert SECRET not in info.stdout + info.stderr

        gone = await asyncio.to_thread(run, "delete")
        assert gone.returncode == 0, gone.stderr
        assert emulator.state.webhook is None
        assert "webhook deleted" in gone.stdout

        # Without a secret, `set` refuses in one line: the web workers would refuse every update.
        refused = await asyncio.to_thread(run, "set", WEBHOOK_SECRET="")
        assert refused.returncode == 2
        assert "WEBHOOK_SECRET" in refused.stderr and "Traceback" not in refused.stderr
        assert emulator.state.webhook is None
