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
    assert result.returncode == 1, result.stderr  # some items were refused
    assert "failed 3" in result.stderr  # the summary; stdout is only JSON
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
    assert human.returncode == 1
    lines = human.stdout.strip().splitlines()
    # One line per item not saved, each naming it and why, then the summary.
    assert sorted(line.split(": ")[1] for line in lines[:-1]) == ["feed.jsonl:2", "feed.jsonl:3", "image.png"]
    assert all(line.startswith("failed: ") for line in lines[:-1])
    assert "line 2: not valid JSON" in lines[0] + lines[1] + lines[2]
    assert lines[-1].startswith("added 0, ")
    assert "duplicates 4" in lines[-1]
    assert "failed 3" in lines[-1]
    assert "Traceback" not in human.stdout + human.stderr

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
    assert {"id", "url", "title"} <= set(stories[0]["documents"][0])
    # In the terminal too, each document of a story is named by its title, not a bare id.
    listed = run_bot("stories", db=db).stdout
    for story in stories:
        for doc in story["documents"]:
            assert f"[{doc['id']}] {doc['title']}" in listed

    stats = run_bot("stats", db=db)
    assert "documents: 3" in stats.stdout
    assert "ru 3" in stats.stdout


def test_ingest_exits_zero_only_when_every_item_was_stored(tmp_path: Path) -> None:
    folder = tmp_path / "good"
    folder.mkdir()
    (folder / "decree.txt").write_text(DECREE, encoding="utf-8")
    (folder / "council.txt").write_text(COUNCIL, encoding="utf-8")
    db = tmp_path / "ok.db"
    first = run_bot("ingest", str(folder), db=db)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().splitlines() == [
        "added 2, near-duplicates 0 (kept, linked), duplicates 0 (skipped), failed 0"
    ]
    # Already stored is not a failure.
    again = run_bot("ingest", str(folder), db=db)
    assert again.returncode == 0
    assert "duplicates 2 (skipped), failed 0" in again.stdout


def test_folder_ingest_stays_inside_the_folder_unless_told(tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text(CRYPTO, encoding="utf-8")
    (outside / "more.txt").write_text(COUNCIL, encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "decree.txt").write_text(DECREE, encoding="utf-8")
    (folder / "link.txt").symlink_to(outside / "secret.txt")
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)
    (folder / "same.txt").symlink_to(folder / "decree.txt")  # inside: fine, and a duplicate
    db = tmp_path / "links.db"

    refused = run_bot("ingest", str(folder), db=db)
    assert refused.returncode == 1
    lines = refused.stdout.strip().splitlines()
    assert lines[:-1] == [
        f"failed: link.txt: a symbolic link to {outside / 'secret.txt'}, outside the folder: skipped "
        "(--follow-symlinks reads it)",
        f"failed: linked-folder: a symbolic link to {outside}, outside the folder: skipped "
        "(--follow-symlinks reads it)",
    ]
    assert lines[-1] == "added 1, near-duplicates 0 (kept, linked), duplicates 1 (skipped), failed 2"
    assert run_bot("search", "песочница", db=db).stdout.strip() == "Nothing found."

    followed = run_bot("ingest", str(folder), "--follow-symlinks", db=db)
    assert followed.returncode == 0, followed.stdout
    # The linked file and the linked folder's two files: the secret twice (once a duplicate), and more.
    assert followed.stdout.strip() == (
        "added 2, near-duplicates 0 (kept, linked), duplicates 3 (skipped), failed 0"
    )


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


def test_the_playground_keeps_its_log_out_of_the_conversation(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_PATH", "ADMIN_IDS"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "a.db"), "chat", "--admin"],
        cwd=ROOT,
        env=base,
        input="/help\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "/latest" in result.stdout  # the bot's answer to /help
    conversation = result.stdout + result.stderr
    assert " WARNING " not in conversation and " INFO " not in conversation
    log = (tmp_path / "playground.log").read_text(encoding="utf-8")
    assert "WARNING bot.app.commands" in log  # the admin menu cannot be set for an emulated admin
