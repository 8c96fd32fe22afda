"""What the admins and readers see of digests already sent: a digest's other stories, and the deliveries
whose outcome is unknown (with the admins' resend to exactly those chats)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admin.audit import AuditAction, AuditLog
from bot.digests.builder import DigestStory, stories_from_json
from bot.digests.delivery import DeliveryEngine
from storage.interfaces import DeliveryStore


@dataclass(frozen=True)
class SentDigest:
    id: int
    filter_query: str
    stories: tuple[DigestStory, ...]


@dataclass(frozen=True)
class Unknown:
    """Chats that may have missed a digest: the process stopped before Telegram answered for them."""

    chats: int
    digests: int


class DeliveryLedger:
    def __init__(self, deliveries: DeliveryStore, engine: DeliveryEngine, audit: AuditLog) -> None:
        self.deliveries = deliveries
        self.engine = engine
        self.audit = audit

    async def digest(self, digest_id: int) -> SentDigest | None:
        stored = await self.deliveries.digest(digest_id)
        if stored is None:
            return None
        return SentDigest(stored.id, stored.filter_query, stories_from_json(stored.stories))

    async def unknown(self) -> Unknown:
        chats, digests = await self.deliveries.unknown_count()
        return Unknown(chats, digests)

    async def resend_unknown(self, admin_id: int) -> int:
        """Send the digests of unknown outcome again, to exactly those chats (some of which may then have
        it twice: the admin's call, which is why nothing does this on its own). How many were queued."""
        rows = await self.deliveries.resend_unknown()
        if rows:
            await self.audit.record(admin_id, AuditAction.DIGEST_RESEND, details=str(len(rows)))
            self.engine.requeue(rows)
        return len(rows)
