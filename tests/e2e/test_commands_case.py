"""Commands in any case (people type /ADD, /Docs; phone keyboards capitalise the first letter), and a
reply that hits Telegram's flood control still arrives (issue 14, item 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.playground import LocalBot
from emulator import BotAPIEmulator, FaultKind
from tests.e2e.helpers import REPLY_TIMEOUT, local_bot, say

ADMIN_ID, READER_ID = 7101, 7102


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBot]:
    emulator = BotAPIEmulator()
    emulator.create_user("Admin", id=ADMIN_ID, language_code="en", started=True)
    emulator.create_user("Reader", id=READER_ID, language_code="en", started=True)
    async with local_bot(tmp_path, emulator=emulator, admin_ids=frozenset({ADMIN_ID})) as running:
        yield running


@pytest.mark.parametrize("command", ["/ADD", "/Add", "/add"])
async def test_admin_commands_in_any_case(local: LocalBot, command: str) -> None:
    admin = local.emulator.user(ADMIN_ID)
    lower = await say(admin, "/add")
    reply = await say(admin, command)
    assert reply.text == lower.text


async def test_reader_commands_in_any_case(local: LocalBot) -> None:
    reader = local.emulator.user(READER_ID)
    help_text = (await say(reader, "/help")).text
    assert help_text
    assert (await say(reader, "/HELP")).text == help_text
    assert (await say(reader, "/Help")).text == help_text
    assert (await say(reader, "/START")).text


async def test_admin_only_commands_in_upper_case_are_refused_to_readers(local: LocalBot) -> None:
    reader = local.emulator.user(READER_ID)
    lower = await say(reader, "/docs")
    assert (await say(reader, "/DOCS")).text == lower.text


async def test_a_reply_hit_by_a_429_is_retried(local: LocalBot) -> None:
    reader = local.emulator.user(READER_ID)
    help_text = (await say(reader, "/help")).text
    local.emulator.inject(FaultKind.RETRY_AFTER, method="sendMessage", retry_after=1)
    await reader.send_text("/help")
    reply = await reader.chat.wait_for_message(timeout=REPLY_TIMEOUT)
    assert reply.text == help_text
    assert local.emulator.stats.injected_faults["retry_after"] == 1


def test_every_command_filter_ignores_case() -> None:
    """A command registered later without the shared helper would again ignore /ADD: none is."""
    import ast

    offenders = []
    for path in sorted(Path("handlers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id in ("Command", "CommandStart") and path.name != "filters.py":
                keywords = {k.arg: k.value for k in node.keywords}
                ignore = keywords.get("ignore_case")
                if not (isinstance(ignore, ast.Constant) and ignore.value is True):
                    offenders.append(f"{path}:{node.lineno}")
    assert not offenders, f"use handlers.filters.command(...) (case-insensitive): {offenders}"
