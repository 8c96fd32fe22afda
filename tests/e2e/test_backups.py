"""`python -m bot backup` and `restore`, as an operator runs them: real processes on real files."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.backup import backup, restore
from bot.app.container import Services
from bot.app.failures import StartupFailure
from bot.app.lock import instance_lock
from bot.app.settings import Settings
from bot.corpus.ingest import TextInput
from tests.corpus_texts import ALL
from tests.e2e.helpers import settings_for

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def bot_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    drop = {"BOT_TOKEN", "DATABASE_PATH", "DATABASE_URL", "TELEGRAM_API_URL"}
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**environ, "LOAD_SAMPLE_CORPUS": "false", **env},
        capture_output=True,
        text=True,
        timeout=90,
    )


def consistent(path: Path) -> int:
    """The number of documents, after checking that every table agrees with the others."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM doc_fts").fetchone()[0]
        features = conn.execute("SELECT count(*) FROM doc_features").fetchone()[0]
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'test-save'").fetchone()[0]
    finally:
        conn.close()
    # Each document is written with its index, its features and an audit row in one transaction.
    assert documents == indexed == features == audited
    return int(documents)


def numbered(n: int) -> TextInput:
    return TextInput(f"Текст номер {n}. " + ALL[n % len(ALL)].split("\n", 2)[-1], source=f"t{n}")


async def test_backup_while_the_bot_writes_is_a_consistent_database(tmp_path: Path) -> None:
    """The backup runs on a thread of its own (its own connection, as another process would have) while
    this task goes on saving documents, each with its index, features and an audit row."""
    settings = settings_for(tmp_path)
    services = await Services.open(settings, load_sample=False)
    stop = asyncio.Event()
    progress = asyncio.Condition()
    written = 0

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            async with services.backend.transactions.transaction():
                result = await services.corpus.ingest(numbered(written))
                assert result.id is not None, result
                await services.audit.record(1, "test-save", result.id)
            async with progress:
                written += 1
                progress.notify_all()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(writer())
    try:
        counts = []
        for n in range(3):
            async with progress:
                await progress.wait_for(lambda n=n: written >= 5 * (n + 1))
            copy = tmp_path / f"backup-{n}.db"
            assert await asyncio.to_thread(backup, settings, copy) == 0
            counts.append(await asyncio.to_thread(consistent, copy))
        assert written > counts[0] > 0  # taken while writing went on
        assert counts == sorted(counts)
    finally:
        stop.set()
        await task
        await services.close()


async def test_the_commands_as_an_operator_runs_them(tmp_path: Path) -> None:
    """The entry points themselves, in a process of their own: backup, then restore refused while a bot
    holds the database, and PostgreSQL's guidance."""
    db = (await make_database(tmp_path, 1)).database_path
    copy = tmp_path / "copy.db"
    result = await asyncio.to_thread(bot_cli, "--db", str(db), "backup", str(copy))
    assert result.returncode == 0, result.stderr
    assert "integrity checked" in result.stdout and consistent_documents(copy) == 1
    with instance_lock(db):  # what a running bot holds
        refused = await asyncio.to_thread(bot_cli, "--db", str(db), "restore", str(copy))
    assert refused.returncode == 1
    assert "another bot process" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "bot.db.bak").exists()
    pg = await asyncio.to_thread(
        bot_cli, "backup", str(tmp_path / "x"), DATABASE_URL="postgresql://alatau:pw@db.example:5432/alatau"
    )
    assert pg.returncode == 2
    assert "pg_dump" in pg.stdout and ":pw@" not in pg.stdout


async def make_database(tmp_path: Path, documents: int) -> Settings:
    settings = settings_for(tmp_path)
    services = await Services.open(settings, load_sample=False)
    try:
        for n in range(documents):
            await services.corpus.ingest(numbered(n))
    finally:
        await services.close()
    return settings


async def test_backup_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    settings = await make_database(tmp_path, 1)
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    with pytest.raises(StartupFailure, match="--force"):
        backup(settings, target)
    assert target.read_text() == "keep me"
    assert backup(settings, target, force=True) == 0
    assert consistent_documents(target) == 1


def consistent_documents(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    finally:
        conn.close()


async def test_restore_replaces_the_database_and_keeps_the_old_one(tmp_path: Path) -> None:
    settings = await make_database(tmp_path, 2)
    saved = tmp_path / "two.db"
    assert backup(settings, saved) == 0
    services = await Services.open(settings, load_sample=False)
    try:
        await services.corpus.ingest(numbered(2))
        # Restoring under an open connection (a shell command reading) is refused, not done half-way.
        with pytest.raises(StartupFailure, match="open in another process"):
            restore(settings, saved)
    finally:
        await services.close()
    assert consistent_documents(settings.database_path) == 3

    assert restore(settings, saved) == 0
    assert consistent_documents(settings.database_path) == 2
    assert consistent_documents(tmp_path / "bot.db.bak") == 3
    assert not (tmp_path / "bot.db.restoring").exists()
    services = await Services.open(settings, load_sample=False)  # the bot starts on it as on any
    try:
        assert await services.corpus.repo.count() == 2
    finally:
        await services.close()


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("not ours", "not a database of this bot"),
        ("damaged", "damaged"),
        ("too new", "newer version"),
        ("missing", "cannot be opened"),
    ],
)
async def test_restore_refuses_a_file_that_is_not_a_database_of_ours(
    tmp_path: Path, kind: str, why: str
) -> None:
    settings = await make_database(tmp_path, 1)
    before = settings.database_path.read_bytes()
    source = tmp_path / "source.db"
    if kind == "not ours":
        conn = sqlite3.connect(source)
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        conn.close()
    elif kind == "damaged":
        source.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    elif kind == "too new":
        assert backup(settings, source) == 0
        conn = sqlite3.connect(source)
        conn.execute("PRAGMA user_version = 999")
        conn.close()
    with pytest.raises(StartupFailure) as refused:
        restore(settings, source)
    assert why in str(refused.value) and "\n" not in str(refused.value)
    assert settings.database_path.read_bytes() == before
    assert not (tmp_path / "bot.db.bak").exists()
