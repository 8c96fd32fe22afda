"""The red team's case, end to end: the real bot process, an admin's file whose download fails (404), and
the bot's own stderr, which logs that failure at ERROR with its traceback, shows no token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from emulator import BotAPIEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7301234567:AAE-secret_secret-secret_secret-secret1"
SECRET_PART = TOKEN.split(":")[1]


@pytest.mark.slow
async def test_a_failed_download_logs_no_token(tmp_path: Path) -> None:
    async with BotAPIEmulator(token=TOKEN) as emulator:
        admin = emulator.create_user("Админ", language_code="ru", started=True)
        # The file never gets a path on the file server: its download gets a 404.
        emulator.state.assign_file_path = lambda stored: "documents/gone.txt"  # type: ignore[method-assign]
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.db"),
            "ADMIN_IDS": str(admin.id),
            "LOAD_SAMPLE_CORPUS": "false",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await emulator.wait_for_call("getUpdates", finished=False, timeout=90)
            await admin.send_document("news.txt", ("Новость об Алатау. " * 30).encode())
            await admin.chat.wait_for_message(timeout=60)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    log = err.decode()
    assert "ClientResponseError: 404" in log, log  # the failure was logged, with its URL…
    assert "/file/bot" in log
    assert SECRET_PART not in log  # …but not the token in it
