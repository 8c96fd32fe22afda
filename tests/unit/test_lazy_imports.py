"""What `python -m bot` loads before its first update: nothing that only an upload, a chart or a feed needs.
pypdf, lxml and the Word reader serve admins' uploads (read in a worker process), matplotlib only /stats,
feedparser and trafilatura only the feed poller; each costs the bot's memory for the whole of its life."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Importing what `python -m bot` imports (bot/__main__.py runs bot.app.cli), without running it.
_PROBE = """
import json, sys
import bot.app.cli, bot.app.runners, bot.app.dispatcher, handlers
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize(
    "module", ["pypdf", "docx", "lxml", "matplotlib", "feedparser", "trafilatura", "PIL"]
)
def test_the_bot_does_not_load_at_start(loaded: set[str], module: str) -> None:
    assert module not in loaded


def test_the_probe_sees_what_is_loaded(loaded: set[str]) -> None:
    assert {"aiogram", "bot", "handlers", "storage"} <= loaded
