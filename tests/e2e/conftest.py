"""Fixtures for the end-to-end tests; the helpers they use are in tests/e2e/helpers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.app.playground import LocalBot
from bot.clock import Clock
from emulator import BotAPIEmulator
from tests.e2e.helpers import StartBot, local_bot


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[StartBot]:
    """Starts a bot against the emulator (settings_for(tmp_path, **overrides)); stops it after the test."""
    async with AsyncExitStack() as stack:

        async def start(
            *,
            emulator: BotAPIEmulator | None = None,
            clock: Clock | None = None,
            load_sample: bool = False,
            **overrides: Any,
        ) -> LocalBot:
            bot = local_bot(tmp_path, emulator=emulator, clock=clock, load_sample=load_sample, **overrides)
            return await stack.enter_async_context(bot)

        yield start
