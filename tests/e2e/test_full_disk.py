"""A full disk (or a read-only database) during a bulk upload: the upload stops at the first refused write
with a true report, the progress message is final, readers keep searching, the CLI exits non-zero with one
line per item that was not saved.

Two ways to fill the disk: SQLite's `PRAGMA max_page_count` on the bot's own connection (deterministic,
works anywhere: inserts fail with SQLITE_FULL, "database or disk is full"), and a real tmpfs of a few MB
(skipped where mounting is not allowed). `PRAGMA query_only` makes every write fail as a read-only
database does ("attempt to write a readonly database").
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.playground import LocalBot
from bot.corpus.ingest import BATCH_SIZE, TextInput
from emulator import BotAPIEmulator, EmulatedUser, StoredMessage
from storage.db import Database, StorageWriteError, WriteFailure
from tests.e2e.helpers import REPLY_TIMEOUT, local_bot, say
from tests.files import make_zip

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
ADMIN_ID = 42
READER_ID = 501
NEWCOMER_ID = 777
SEEDED = 12
UPLOADED = 150  # three steps of a chat upload (64, 64, 22), no worker process
# The CLI stores the corpus engine's batches: three of them (the disk fills in the second).
CLI_UPLOADED = 2 * BATCH_SIZE + 22
EXTRA_PAGES = 640  # room for about one and a half of those batches (all of them take ~1,100 pages)


def news(i: int) -> str:
    """Texts different enough to stay separate, long enough to be news."""
    rng = random.Random(i)
    topics = ["школа", "больница", "парк", "дорога", "мост", "вокзал", "стадион", "библиотека", "театр"]
    picked = rng.sample(topics, 3)
    return (
        f"date 2025-10-{i % 28 + 1:02d}\nСводка номер {i} из Алатау\n"
        f"В Алатау обсудили {picked[0]} и {picked[1]}: проект номер {i} оценили в {rng.randint(2, 900)} "
        f"миллионов тенге. Жители спрашивали про {picked[2]}, в акимате пообещали ответить до конца месяца."
    )


# --- the storage: a typed error, nothing half-written -------------------------------------------------------


async def test_a_refused_write_is_typed_and_leaves_nothing(tmp_path: Path) -> None:
    async with Database(tmp_path / "t.db") as db:
        await db.execute("CREATE TABLE t (x BLOB)")
        await db.execute("INSERT INTO t VALUES (zeroblob(100))")
        await db.conn.execute(f"PRAGMA max_page_count = {await db.int_scalar('PRAGMA page_count')}")
        with pytest.raises(StorageWriteError) as full:
            async with db.transaction():
                await db.execute("INSERT INTO t VALUES (zeroblob(100))")
                async with db.transaction():  # a savepoint: the failure below must not hide behind it
                    await db.execute("INSERT INTO t VALUES (zeroblob(100000))")
        assert full.value.reason is WriteFailure.DISK_FULL
        assert "database or disk is full" in str(full.value)
        assert isinstance(full.value, sqlite3.OperationalError)  # still what older callers catch
        assert await db.int_scalar("SELECT count(*) FROM t") == 1
        with pytest.raises(StorageWriteError):  # outside a transaction as well
            await db.execute("INSERT INTO t VALUES (zeroblob(100000))")
        await db.conn.execute("PRAGMA query_only = 1")
        with pytest.raises(StorageWriteError) as read_only:
            await db.atomic(lambda conn: conn.execute("DELETE FROM t"))
        assert read_only.value.reason is WriteFailure.READ_ONLY
        assert await db.int_scalar("SELECT count(*) FROM t") == 1  # and reading works throughout


# --- the bot, through the emulator ----------------------------------------------------------------------------


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBot]:
    emulator = BotAPIEmulator()
    emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
    emulator.create_user("Reader", id=READER_ID, language_code="en", started=True)
    emulator.create_user("Newcomer", id=NEWCOMER_ID, language_code="en", started=True)
    settings: dict[str, Any] = {
        "admin_ids": frozenset({ADMIN_ID}),
        "min_text_chars": 100,
        "upload_progress_seconds": 0,
    }
    async with local_bot(tmp_path, emulator=emulator, **settings) as running:
        for i in range(SEEDED):
            result = await running.services.corpus.ingest(TextInput(news(i), source=f"seed-{i}"))
            assert result.id is not None
        yield running


async def count(local: LocalBot, sql: str) -> int:
    return await local.services.db.int_scalar(sql)


async def pragma(local: LocalBot, statement: str) -> None:
    # The bot's own connection: the limit applies to everything the bot writes from now on.
    await local.services.db.conn.execute(f"PRAGMA {statement}")


async def fill_to_the_last_page(local: LocalBot) -> None:
    """No new page, and no room left in the search log's pages: its next entry cannot be written."""
    await pragma(local, f"max_page_count = {await count(local, 'PRAGMA page_count')}")
    db = local.services.db
    for size in (200, 20, 0):  # big entries first, then the smallest: every last byte is taken
        with pytest.raises(StorageWriteError) as full:
            for _ in range(100_000):
                await db.execute(
                    "INSERT INTO search_log (at, user_id, query, results, via) VALUES ('', 0, ?, 0, '')",
                    ("x" * size,),
                )
        assert full.value.reason is WriteFailure.DISK_FULL


async def upload(admin: EmulatedUser, name: str, data: bytes, final: str) -> StoredMessage:
    await admin.send_document(name, data)
    progress = await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    await admin.chat.wait_for_edit(progress, timeout=60, predicate=lambda m: final in (m.text or ""))
    return progress


def figure(text: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}: (\d+)", text)
    assert found, (label, text)
    return int(found.group(1))


async def test_a_full_disk_stops_a_bulk_upload_with_a_true_report(local: LocalBot) -> None:
    admin = local.emulator.user(ADMIN_ID)
    # Room for about one batch of the upload (a batch of 64 such texts takes ~50 pages), not for two.
    await pragma(local, f"max_page_count = {await count(local, 'PRAGMA page_count') + 80}")
    members = [(f"news/{i:03d}.txt", news(SEEDED + i).encode()) for i in range(UPLOADED)]
    progress = await upload(admin, "archive.zip", make_zip(members), "Upload stopped")

    report = progress.text or ""
    added, not_saved = figure(report, "Added"), figure(report, "⛔ Not saved")
    duplicates, failed = figure(report, "Duplicates skipped"), figure(report, "Failed")
    assert added > 0 and not_saved > 0, report
    assert added + not_saved + duplicates + failed == UPLOADED, report
    assert "the disk is full" in report
    assert f"from archive.zip:news/{added:03d}.txt to archive.zip:news/{UPLOADED - 1:03d}.txt" in report
    # What it says was saved is exactly what is stored: each text with its audit row, nothing half-saved.
    assert await count(local, "SELECT count(*) FROM documents") == SEEDED + added
    assert await count(local, "SELECT count(*) FROM audit_log WHERE action = 'add'") == added
    orphans = await count(
        local,
        f"SELECT count(*) FROM documents d WHERE d.id > {SEEDED} "
        "AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.doc_id = d.id AND a.action = 'add')",
    )
    assert orphans == 0
    for table in ("doc_fts", "doc_features"):
        assert await count(local, f"SELECT count(*) FROM {table}") == SEEDED + added, table
    # The progress message is the report: never left at "⏳ … of 150".
    assert not report.startswith("⏳")
    assert "⏳" not in (progress.versions[-1].text or "")
    assert len(admin.chat.bot_messages) == 1, "the report replaced the progress message; no apology"
    assert await count(local, "SELECT count(*) FROM bulk_uploads") == 0

    # Reading needs no space: a search answers while the disk is full, though its log entry is lost.
    await fill_to_the_last_page(local)
    logged = await count(local, "SELECT count(*) FROM search_log")
    reader = local.emulator.user(READER_ID)
    found = await say(reader, "сводка номер 3")
    assert "Сводка номер 3 из Алатау" in (found.text or "")
    await local.services.search_log.flush()  # refused: the entry is lost, the reply was not
    assert await count(local, "SELECT count(*) FROM search_log") == logged

    # Sending the same archive again once there is room saves the rest; the saved ones are duplicates.
    await pragma(local, "max_page_count = 1073741823")
    again = await upload(admin, "archive.zip", make_zip(members), "Upload finished")
    assert figure(again.text or "", "Added") == not_saved
    assert figure(again.text or "", "Duplicates skipped") == added
    assert await count(local, "SELECT count(*) FROM audit_log WHERE action = 'add'") == UPLOADED


async def test_a_read_only_database_refuses_uploads_clearly_and_readers_still_search(
    local: LocalBot,
) -> None:
    admin, newcomer = local.emulator.user(ADMIN_ID), local.emulator.user(NEWCOMER_ID)
    await pragma(local, "query_only = 1")  # every write now fails: "attempt to write a readonly database"
    try:
        members = [(f"{i}.txt", news(SEEDED + i).encode()) for i in range(5)]
        progress = await upload(admin, "five.zip", make_zip(members), "Upload stopped")
        report = progress.text or ""
        assert "Added: 0" in report
        assert "⛔ Not saved: 5" in report
        assert "read-only" in report
        assert "five.zip:0.txt to five.zip:4.txt" in report

        # One text: a refusal that says why, not "Sorry, something went wrong".
        await admin.send_document("one.txt", news(999).encode())
        refusal = await admin.chat.wait_for_message(timeout=REPLY_TIMEOUT)
        assert "read-only" in (refusal.text or "")

        # Someone the bot never saw (registering them is a write) searches and gets an answer.
        found = await say(newcomer, "сводка номер 7")
        assert "Сводка номер 7 из Алатау" in (found.text or "")
        await local.services.search_log.flush()
    finally:
        await pragma(local, "query_only = 0")
    assert await count(local, "SELECT count(*) FROM documents") == SEEDED
    assert await count(local, "SELECT count(*) FROM search_log") == 0


# --- the CLI, as a real process -------------------------------------------------------------------------------

# Runs `python -m bot …` with a page limit on the database connection, as a full disk would impose.
LAUNCHER = textwrap.dedent(
    """
    import os, runpy, sys
    from storage.db import Database

    opened = Database.connect

    async def connect(self):
        await opened(self)
        pages = await self.int_scalar("PRAGMA page_count")
        await self.conn.execute(f"PRAGMA max_page_count = {pages + int(os.environ['EXTRA_PAGES'])}")

    Database.connect = connect
    sys.argv = ["bot", *sys.argv[1:]]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
    """
)


def run_cli(
    *args: str, env: dict[str, str] | None = None, launcher: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS"}}
    head = [str(launcher)] if launcher else ["-m", "bot"]
    return subprocess.run(
        [sys.executable, *head, *args],
        cwd=ROOT,
        env={**base, "MIN_TEXT_CHARS": "100", "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_news(folder: Path, first: int, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(first, first + n):
        name = f"{i:04d}.txt"
        (folder / name).write_text(news(i), encoding="utf-8")
        names.append(name)
    return names


def documents_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])


def check_stopped_run(result: subprocess.CompletedProcess[str], names: list[str], db: Path) -> int:
    """The run stopped at a full disk and said so truly: returns how many texts it saved."""
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "Traceback" not in output
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed: ")]
    assert all("not saved: the disk is full" in line for line in failed), failed
    summary = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"added (\d+), near-duplicates (\d+) \(kept, linked\), duplicates 0 \(skipped\), failed 0, "
        r"not saved (\d+) \(the disk is full\)",
        summary,
    )
    assert match, summary
    added, near, not_saved = (int(g) for g in match.groups())
    assert not_saved == len(failed) > 0
    assert added + near + not_saved == len(names)
    # One line per item not saved, each named: together with the saved ones, every file of the folder.
    assert sorted(line.split(": ")[1] for line in failed) == names[added + near :]
    assert documents_in(db) == added + near
    assert "stopped:" in result.stderr
    return added + near


def test_cli_ingest_on_a_full_disk_exits_non_zero_naming_every_item_not_saved(tmp_path: Path) -> None:
    launcher = tmp_path / "full_disk_launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    folder, db = tmp_path / "in", tmp_path / "cli.db"
    names = write_news(folder, 0, CLI_UPLOADED)
    result = run_cli(
        "--db", str(db), "ingest", str(folder), env={"EXTRA_PAGES": str(EXTRA_PAGES)}, launcher=launcher
    )
    saved = check_stopped_run(result, names, db)
    assert 0 < saved < CLI_UPLOADED, saved

    # Reading needs no space: a search of the same database still answers, at the same limit.
    found = run_cli("--db", str(db), "search", "сводка номер 3", env={"EXTRA_PAGES": "0"}, launcher=launcher)
    assert found.returncode == 0, found.stderr
    assert "Сводка номер 3 из Алатау" in found.stdout

    # Once there is room, the same command saves the rest; the saved ones are duplicates.
    again = run_cli("--db", str(db), "ingest", str(folder))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"duplicates {saved} (skipped), failed 0" in again.stdout
    assert documents_in(db) == CLI_UPLOADED


# --- a real full disk: a small tmpfs --------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, unmounted afterwards; skipped where this user may not mount one."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); the max_page_count tests cover the logic")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.slow
def test_cli_ingest_on_a_real_full_tmpfs(tmp_path: Path, small_disk: Path) -> None:
    folder, db = tmp_path / "in", small_disk / "alatau.db"
    names = write_news(folder, 0, CLI_UPLOADED)
    result = run_cli("--db", str(db), "ingest", str(folder))
    saved = check_stopped_run(result, names, db)
    assert 0 < saved < len(names)
    # The file system is full, and a reader's search still answers.
    found = run_cli("--db", str(db), "search", "сводка номер 3")
    assert found.returncode == 0, found.stderr
    assert "Сводка номер 3 из Алатау" in found.stdout
