"""Channels as the digest service sees them: whether the bot can post there, and exactly what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChannelProblem(StrEnum):
    NOT_FOUND = "not_found"  # no such chat, or the bot is not in it (private channels)
    NOT_A_CHANNEL = "not_a_channel"
    NOT_ADMIN = "not_admin"
    CANNOT_POST = "cannot_post"  # an administrator without the right to post messages


@dataclass(frozen=True)
class ChannelCheck:
    ref: str  # what was asked for: "@name" or an id
    chat_id: int | None = None
    title: str = ""
    username: str | None = None
    problem: ChannelProblem | None = None

    @property
    def name(self) -> str:
        return f"@{self.username}" if self.username else (self.title or self.ref)


class ChannelDirectory(Protocol):
    """The messenger's side of channels (implemented over the Bot API in `bot.digests.telegram`)."""

    async def check(self, ref: str | int) -> ChannelCheck:
        """Can the bot post digests there? If not, exactly what is missing."""
        ...

    async def check_group(self, chat_id: int) -> ChannelCheck:
        """Can the bot post digests into that group (a forum topic of it)? If not, what is missing."""
        ...

    async def is_chat_admin(self, chat_id: int, user_id: int) -> bool:
        """Is that person an administrator (or the owner) of the chat?"""
        ...

    async def chat_id(self, ref: str) -> int | None:
        """The id of a chat by its @name; None when the messenger does not know it."""
        ...
