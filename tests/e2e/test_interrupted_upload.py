"""A bulk upload interrupted by kill -9: after the restart its progress message says it was interrupted and
how many texts were saved (exactly: the count is committed with the texts), instead of staying stale."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from emulator import BotAPIEmulator
from tests.e2e.test_full_disk import news
from tests.files import make_zip

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ADMIN_ID = 42
TEXTS = 600  # a few seconds of work: the kill lands in the middle


async def start_bot(emulator: BotAPIEmulator, db: Path) -> asyncio.subprocess.Process:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS"}},
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_PATH": str(db),
        "ADMIN_IDS": str(ADMIN_ID),
        "UPLOAD_PROGRESS_SECONDS": "0",
        "MIN_TEXT_CHARS": "100",
        "LOAD_SAMPLE_CORPUS": "false",
    }
    since = len(emulator.calls)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    await emulator.wait_for_call("getUpdates", since=since, finished=False, timeout=60)
    return proc


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        return (
            int(conn.execute("SELECT count(*) FROM documents").fetchone()[0]),
            int(conn.execute("SELECT count(*) FROM audit_log WHERE action = 'add'").fetchone()[0]),
            int(conn.execute("SELECT count(*) FROM bulk_uploads").fetchone()[0]),
        )


@pytest.mark.slow
async def test_after_kill_9_the_progress_message_says_the_upload_was_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with BotAPIEmulator() as emulator:
        admin = emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
        first = await start_bot(emulator, db)
        try:
            members = [(f"{i:03d}.txt", news(i).encode()) for i in range(TEXTS)]
            await admin.send_document("big.zip", make_zip(members))
            progress = await admin.chat.wait_for_message(timeout=60)
            await admin.chat.wait_for_edit(
                progress,
                timeout=60,
                predicate=lambda m: (
                    re.search(rf"Saving texts: \d+ of {TEXTS}", m.text or "") is not None
                    and not (m.text or "").startswith(f"⏳ Saving texts: 0 of {TEXTS}")
                ),
            )
        finally:
            first.kill()
            await first.wait()
        stale = progress.text or ""
        assert stale.startswith("⏳ Saving texts:"), "the upload finished before the kill; make it longer"
        documents, audited, unfinished = counts(db)
        assert 0 < documents < TEXTS
        assert audited == documents  # each saved text has its audit row, even after kill -9
        assert unfinished == 1

        second = await start_bot(emulator, db)
        try:
            await admin.chat.wait_for_edit(
                progress, timeout=30, predicate=lambda m: "Upload interrupted" in (m.text or "")
            )
        finally:
            second.terminate()
            await second.wait()
    closed = progress.text or ""
    assert "big.zip" in closed
    assert f"Saved: {documents} of {TEXTS} items" in closed
    assert "Send the file again" in closed
    assert counts(db) == (documents, documents, 0)  # closed once: the record is gone
