"""A start that cannot succeed stops cleanly: one line on stderr naming the setting and the fix, a non-zero
exit code, no traceback, and a process that really ends. Real processes against real files and servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from emulator import BotAPIEmulator
from storage.db import Database
from storage.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHsecretsecretsecretsecretsecret_12"
# Far above what a clean stop needs; only a hung process reaches it.
HANG = 90


def _env(**extra: str) -> dict[str, str]:
    drop = {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS", "TELEGRAM_API_URL", "BOT_MODE", "WEBHOOK_SECRET"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "LOAD_SAMPLE_CORPUS": "false", **extra}


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=HANG,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- databases that cannot be used -------------------------------------------------------------------------


def _random(path: Path) -> Path:
    path.write_bytes(os.urandom(20_000))
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _under_a_file(path: Path) -> Path:
    (path.parent / "a-file").write_text("x")
    return path.parent / "a-file" / "sub" / "bot.db"


def _newer(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    return path


def _another_programs(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    return path


def _truncated(path: Path) -> Path:
    async def create() -> None:
        async with Database(path):
            pass

    asyncio.run(create())
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


BAD_DATABASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "random bytes": (_random, "not an SQLite database"),
    "truncated": (_truncated, "not an SQLite database"),
    "a directory": (_directory, "cannot be opened"),
    "a path under a file": (_under_a_file, "cannot be opened"),
    "a newer schema": (_newer, "newer version"),
    "another program's": (_another_programs, "another program"),
}


@pytest.mark.parametrize("kind", list(BAD_DATABASES))
def test_the_cli_stops_with_one_line_on_a_database_it_cannot_use(tmp_path: Path, kind: str) -> None:
    make, says = BAD_DATABASES[kind]
    db = make(tmp_path / "bot.db")
    assert_one_line(run("--db", str(db), "stats"), "DATABASE_PATH", says)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["search", "указ"], ["ingest", "README.md"], ["summary", "--latest", "3"]]
)
def test_every_cli_command_stops_with_one_line(tmp_path: Path, command: list[str]) -> None:
    db = _random(tmp_path / "bot.db")
    assert_one_line(run("--db", str(db), *command), "DATABASE_PATH", "not an SQLite database")


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Root writes to files without write permission; an immutable file (chattr +i) stops even root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is not allowed: no way to make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_database_is_read_but_not_written(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    asyncio.run(_create(db))
    with _read_only(db):
        stats = run("--db", str(db), "stats")
        ingest = run("--db", str(db), "ingest", "README.md")
    assert stats.returncode == 0, stats.stderr
    assert "documents: 0" in stats.stdout
    assert_one_line(ingest, "DATABASE_PATH", "read-only")


async def _create(path: Path) -> None:
    async with Database(path):
        pass


@pytest.mark.slow
async def test_the_bot_stops_with_one_line_on_a_database_it_cannot_use(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        db = _random(tmp_path / "bot.db")
        result = await asyncio.to_thread(
            run, BOT_TOKEN=emulator.token, TELEGRAM_API_URL=emulator.base_url, DATABASE_PATH=str(db)
        )
    assert_one_line(result, "DATABASE_PATH", "not an SQLite database")


# -- a Bot API server that is not there, or refuses -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _serve(handler: Callable[[web.Request], web.Response]) -> AsyncIterator[str]:
    app = web.Application()

    async def answer(request: web.Request) -> web.Response:
        return handler(request)

    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _unauthorized(request: web.Request) -> web.Response:
    return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)


def _echoes_the_path(request: web.Request) -> web.Response:
    # A server that quotes the path back puts the token into the error text.
    description = f"Not Found: no such route {request.path}"
    return web.json_response({"ok": False, "error_code": 404, "description": description}, status=404)


def _a_web_page(request: web.Request) -> web.Response:
    return web.Response(text=f"<html>nothing at {request.path}</html>", status=404, content_type="text/html")


SERVERS = {
    "401 Unauthorized": (_unauthorized, "refused BOT_TOKEN"),
    "404 echoing the path": (_echoes_the_path, "404"),
    "a web page": (_a_web_page, "TELEGRAM_API_URL"),
}


@pytest.mark.parametrize(
    "kind", [k if k == "404 echoing the path" else pytest.param(k, marks=pytest.mark.slow) for k in SERVERS]
)
async def test_a_refusing_bot_api_stops_the_bot_with_one_line(tmp_path: Path, kind: str) -> None:
    handler, says = SERVERS[kind]
    async with _serve(handler) as url:
        result = await asyncio.to_thread(
            run, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url, DATABASE_PATH=str(tmp_path / "bot.db")
        )
    assert_one_line(result, says)
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"http://127.0.0.1:{_free_port()}", id="refused"),
        pytest.param("http://no-such-host.invalid", id="dns", marks=pytest.mark.slow),
    ],
)
def test_an_unreachable_bot_api_stops_the_bot_with_one_line(tmp_path: Path, url: str) -> None:
    result = run(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url, DATABASE_PATH=str(tmp_path / "bot.db"))
    assert_one_line(result, "cannot reach", "TELEGRAM_API_URL")
    assert TOKEN not in result.stderr


def test_webhook_mode_without_a_secret_does_not_start(tmp_path: Path) -> None:
    result = run(
        BOT_TOKEN=TOKEN,
        BOT_MODE="webhook",
        WEBHOOK_URL="https://bot.example.kz",
        WEBHOOK_SECRET="",  # not set, even if a .env sets it
        DATABASE_PATH=str(tmp_path / "bot.db"),
    )
    assert result.returncode == 2
    assert_one_line(result, "WEBHOOK_SECRET")


# -- one bot per database --------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_second_bot_on_the_same_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with BotAPIEmulator() as emulator:
        env = _env(BOT_TOKEN=emulator.token, TELEGRAM_API_URL=emulator.base_url, DATABASE_PATH=str(db))
        first = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await emulator.wait_for_call("getUpdates", finished=False, timeout=HANG)
            second = await asyncio.to_thread(
                run, BOT_TOKEN=emulator.token, TELEGRAM_API_URL=emulator.base_url, DATABASE_PATH=str(db)
            )
            assert_one_line(second, "another bot process", "DATABASE_PATH")
            # The shell tools still read the database the bot is running on.
            stats = await asyncio.to_thread(run, "--db", str(db), "stats")
            assert stats.returncode == 0, stats.stderr
            assert "documents: 0" in stats.stdout
            assert first.returncode is None, "the first bot stopped"
        finally:
            if first.returncode is None:
                first.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(first.communicate(), timeout=HANG)
        assert first.returncode == 0, err.decode()


# -- kill -9 leaves no process behind --------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid …"; comm may contain spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended; only its entry waits for a reaper


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_an_ingest_leaves_no_worker_behind(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    with feed.open("w", encoding="utf-8") as out:
        for n in range(4000):
            text = f"Новость номер {n}. " + " ".join(f"слово{n}_{k} Алатау совет" for k in range(60))
            out.write(json.dumps({"text": text, "url": f"https://example.kz/{n}"}, ensure_ascii=False) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "bot.db"), "ingest", str(feed)],
        cwd=ROOT,
        env=_env(MIN_TEXT_CHARS="20"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + HANG
        children: set[int] = set()
        # The analysis worker and multiprocessing's resource tracker.
        while len(children) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            children = _children(proc.pid)
        assert len(children) >= 2, "the ingest never started its worker"
    finally:
        proc.kill()
        proc.wait(timeout=HANG)
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if _alive(c)]
