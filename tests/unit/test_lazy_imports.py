"""What `python -m bot` loads before its first update: nothing that only an upload, a chart or a feed needs.
pypdf, lxml and the Word reader serve admins' uploads (read in a worker process), matplotlib only /stats,
feedparser and trafilatura only the feed poller, numpy only MinHash signatures (an ingest), asyncpg only
PostgreSQL, redis only REDIS_URL; each costs the bot's memory for the whole of its life."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What `python -m bot` imports (bot/__main__.py runs bot.app.cli) and what its start-up builds on SQLite
# without Redis (the container, the Dispatcher and its services), without polling.
_PROBE = """
import asyncio, json, os, sys, tempfile
import bot.app.cli, bot.app.runners, bot.app.dispatcher, handlers
from bot.app.container import Services
from bot.app.dispatcher import BotApp
from bot.app.runners import make_bot
from bot.app.settings import Settings

async def start() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, bot_token="123:abc", database_path=os.path.join(tmp, "bot.db"),
            database_url=None, redis_url=None, load_sample_corpus=False,
        )
        services = await Services.open(settings)
        bot = make_bot(settings, "123:abc")
        try:
            BotApp.build(services, bot)
        finally:
            await bot.session.close()
            await services.close()

asyncio.run(start())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "module",
    ["pypdf", "docx", "lxml", "matplotlib", "feedparser", "trafilatura", "PIL", "numpy", "asyncpg", "redis"],
)
def test_the_bot_does_not_load_at_start(loaded: set[str], module: str) -> None:
    assert module not in loaded


def test_the_probe_sees_what_is_loaded(loaded: set[str]) -> None:
    assert {"aiogram", "bot", "handlers", "storage"} <= loaded
