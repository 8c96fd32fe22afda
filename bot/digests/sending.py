"""What the delivery engine needs of a messenger, and how a refused message is described to it.

The engine decides pacing, retries and the ledger; it knows nothing of aiogram. One adapter
(`bot.digests.telegram`) turns these calls into Bot API requests and Telegram's errors into `SendRefused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Refusal(StrEnum):
    FLOOD = "flood"  # 429: everything waits `retry_after`, then the message goes again
    GONE = "gone"  # the chat will never take our messages (blocked, kicked, not found): `reason` says which
    REJECTED = "rejected"  # this message is refused for good (a 400): sending it again would fail again
    MOVED = "moved"  # a group became a supergroup with another id
    TRANSIENT = "transient"  # 5xx, timeouts, connection errors: worth trying again later


class SendRefused(Exception):
    def __init__(
        self,
        refusal: Refusal,
        description: str,
        *,
        answered: bool = True,
        retry_after: float = 0.0,
        reason: str = "",
    ) -> None:
        super().__init__(description)
        self.refusal = refusal
        self.description = description
        # Telegram answered (its round trip tells how requests travel); False for network failures.
        self.answered = answered
        self.retry_after = retry_after
        self.reason = reason  # GONE: blocked, kicked, deactivated, chat_not_found, no_rights, …


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str  # HTML
    reply_markup: str | None  # JSON of an inline keyboard
    paid: bool  # a paid broadcast (allowed above the free rate)
    thread_id: int | None = None  # a forum topic of a group
    silent: bool = False  # no notification sound
    link_previews: bool = False


class DigestSender(Protocol):
    async def send(self, message: Outgoing, timeout: float) -> int:  # noqa: ASYNC109
        """Send one message; its id in the chat once Telegram confirms it. Raises SendRefused."""
        ...
