"""`python -m bot …` as operators run it: real processes, real files."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import BotAPIEmulator
from tests.corpus_texts import COUNCIL, CRYPTO, DECREE

ROOT = Path(__file__).resolve().parents[2]


def run_bot(
    *args: str, env: dict[str, str] | None = None, db: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS"}}
    argv = [sys.executable, "-m", "bot", *(["--db", str(db)] if db else []), *args]
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**base, "MIN_TEXT_CHARS": "20", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_token_it_says_what_to_do(tmp_path: Path) -> None:
    result = run_bot(env={"BOT_TOKEN": ""}, db=tmp_path / "x.db")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN" in lines[0]
    assert "make chat" in lines[0]


def test_a_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    result = run_bot("stats", env={"DEFAULT_TIMEZONE": "Nowhere/City"}, db=tmp_path / "x.db")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DEFAULT_TIMEZONE" in result.stderr


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "decree.txt").write_text(DECREE, encoding="utf-8")
    (folder / "crypto-cp1251.txt").write_bytes(CRYPTO.encode("cp1251"))
    lines = [
        json.dumps({"text": COUNCIL, "url": "https://example.kz/council", "extra": 1}, ensure_ascii=False),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": DECREE}, ensure_ascii=False),
    ]
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    return folder


def test_ingest_search_summary_stories_stats(tmp_path: Path, inputs: Path) -> None:
    db = tmp_path / "cli.db"
    result = run_bot("ingest", str(inputs), "--json", db=db)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"id", "url", "status", "reason"} <= set(rows[0])
    by_status: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_status.setdefault(str(row["status"]), []).append(row)
    assert len(by_status["added"]) == 3
    assert len(by_status["duplicate"]) == 1  # the DECREE line of the jsonl
    assert len(by_status["failed"]) == 3  # bad json, no text, png
    assert all(r["reason"] for r in by_status["failed"])
    assert any(r["url"] == "https://example.kz/council" for r in by_status["added"])

    human = run_bot("ingest", str(inputs), db=db)
    assert "duplicates 4" in human.stdout
    assert "failed 3" in human.stdout

    found = json.loads(run_bot("search", "криптовалютой", "--json", db=db).stdout)
    assert found
    assert {"id", "title", "url", "date", "score", "snippet"} <= set(found[0])
    assert "<b>" in found[0]["snippet"]

    summary = json.loads(run_bot("summary", str(found[0]["id"]), "--sentences", "2", "--json", db=db).stdout)
    assert summary["id"] == found[0]["id"]
    assert 1 <= len(summary["summary"]) <= 2

    stories = json.loads(run_bot("stories", "--json", db=db).stdout)
    assert stories
    assert {"title", "summary", "documents"} <= set(stories[0])
    assert {"id", "url"} <= set(stories[0]["documents"][0])

    stats = run_bot("stats", db=db)
    assert "documents: 3" in stats.stdout
    assert "ru 3" in stats.stdout


async def test_the_bot_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emulator:
        env = {
            **os.environ,
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            "DATABASE_PATH": str(tmp_path / "run.db"),
            "ADMIN_IDS": "",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await emulator.wait_for_call("getUpdates", finished=False, timeout=60)
            user = emulator.create_user("Сабина", language_code="ru", started=True)
            await user.send_text("/start")
            await user.chat.wait_for_message(timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        log = err.decode()
        assert proc.returncode == 0, log
        assert "started in polling mode" in log
        assert "1 documents" in log
        assert "database closed" in log
        assert "Traceback" not in log
