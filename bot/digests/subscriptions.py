"""Subscribing, changing, pausing and leaving; channels. The service takes everything it uses as
constructor parameters (the application builds them) and reaches Telegram only through `ChannelDirectory`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.admin.audit import AuditAction, AuditLog
from bot.clock import Clock
from bot.digests.builder import DigestBuilder
from bot.digests.channels import ChannelCheck, ChannelDirectory
from bot.digests.delivery import DeliveryEngine
from bot.digests.ledger import DeliveryLedger
from bot.digests.schedule import DigestScheduler
from bot.digests.times import DEFAULT_LOCAL_TIME, due_after
from storage.interfaces import SubscriptionStore
from storage.models import Frequency as Frequency
from storage.models import Kind as Kind
from storage.models import NewSubscription
from storage.models import Subscription as Subscription

log = logging.getLogger(__name__)

MAX_TOPIC_CHARS = 200


class ChannelRefused(Exception):
    """The bot cannot post digests to that channel; `check.problem` says exactly why."""

    def __init__(self, check: ChannelCheck) -> None:
        super().__init__(f"{check.ref}: {check.problem}")
        self.check = check


class SubscriptionService:
    def __init__(
        self,
        repo: SubscriptionStore,
        builder: DigestBuilder,
        directory: ChannelDirectory,
        audit: AuditLog,
        clock: Clock,
        default_timezone: str,
    ) -> None:
        self.repo = repo
        self.builder = builder
        self.directory = directory
        self.audit = audit
        self.clock = clock
        self.default_timezone = default_timezone

    def now(self) -> datetime:
        """The moment settings are shown for (zone offsets and the next digest depend on it)."""
        return self.clock.now()

    async def get(self, chat_id: int) -> Subscription | None:
        return await self.repo.get(chat_id)

    async def get_active(self, chat_id: int) -> Subscription | None:
        sub = await self.repo.get(chat_id)
        return sub if sub is not None and sub.active else None

    async def choose_frequency(
        self, chat_id: int, kind: Kind, language: str, frequency: Frequency, weekday: int | None = None
    ) -> Subscription:
        """The first step of /subscribe (and of a channel's set-up): creates the subscription, or brings a
        stopped one back with its old settings, or changes how often an active one comes."""
        sub = await self.repo.get(chat_id)
        if sub is None or not sub.active:
            base = sub
            new = NewSubscription(
                chat_id=chat_id,
                kind=kind,
                language=language,
                frequency=frequency,
                weekday=self._weekday(frequency, weekday, base.weekday if base else None),
                local_time=base.local_time if base else DEFAULT_LOCAL_TIME,
                timezone=base.timezone if base else self.default_timezone,
                filter_query=base.filter_query if base else "",
                title=base.title if base else "",
                added_by=base.added_by if base else None,
                # Starting (again): the latest few texts, not everything since the last time.
                cursor=await self.builder.start_cursor(),
                next_due=None,
            )
            return await self._save(await self.repo.upsert(new))
        return await self._save(
            replace(sub, frequency=frequency, weekday=self._weekday(frequency, weekday, sub.weekday))
        )

    @staticmethod
    def _weekday(frequency: Frequency, chosen: int | None, old: int | None) -> int | None:
        if frequency is not Frequency.WEEKLY:
            return old
        return chosen if chosen is not None else (old if old is not None else 0)

    async def set_weekday(self, chat_id: int, weekday: int) -> Subscription | None:
        return await self._change(chat_id, weekday=weekday % 7)

    async def set_time(self, chat_id: int, local_time: str) -> Subscription | None:
        return await self._change(chat_id, local_time=local_time)

    async def set_timezone(self, chat_id: int, zone_name: str) -> Subscription | None:
        return await self._change(chat_id, timezone=zone_name)

    async def set_topic(self, chat_id: int, topic: str) -> Subscription | None:
        return await self._change(chat_id, filter_query=" ".join(topic.split())[:MAX_TOPIC_CHARS])

    async def set_headlines_only(self, chat_id: int, on: bool) -> Subscription | None:
        return await self._change(chat_id, headlines_only=on)

    async def set_link_previews(self, chat_id: int, on: bool) -> Subscription | None:
        return await self._change(chat_id, link_previews=on)

    async def set_silent(self, chat_id: int, on: bool) -> Subscription | None:
        return await self._change(chat_id, silent=on)

    async def set_quiet_hours(self, chat_id: int, start: str | None, end: str | None) -> Subscription | None:
        """Local "HH:MM" bounds (None, None: no quiet hours); a digest due inside them waits for their end."""
        if not start or not end or start == end:
            start = end = None
        return await self._change(chat_id, quiet_from=start, quiet_to=end)

    async def pause(self, chat_id: int) -> Subscription | None:
        return await self._change(chat_id, paused=True)

    async def resume(self, chat_id: int) -> Subscription | None:
        return await self._change(chat_id, paused=False)

    async def unsubscribe(self, chat_id: int, reason: str = "unsubscribed") -> bool:
        """Kept, inactive: /subscribe brings it back with the same settings."""
        return await self.repo.deactivate(chat_id, reason)

    async def _change(self, chat_id: int, **changes: Any) -> Subscription | None:
        sub = await self.repo.get(chat_id)
        if sub is None or not sub.active:
            return None
        return await self._save(replace(sub, **changes))

    async def _save(self, sub: Subscription) -> Subscription:
        # The next time follows from the settings as they are now; while paused it does not matter.
        sub = replace(sub, next_due=None if sub.paused else due_after(sub, self.clock.now()))
        saved = await self.repo.save_settings(sub)
        assert saved is not None
        return saved

    # -- channels ---------------------------------------------------------------------------------------

    async def connect_channel(
        self, ref: str | int, admin_id: int, language: str
    ) -> tuple[ChannelCheck, Subscription]:
        """A channel the bot can post to gets a daily digest until its admin chooses otherwise (the same
        choices follow); raises ChannelRefused with what is missing otherwise."""
        check = await self.directory.check(ref)
        if check.problem is not None or check.chat_id is None:
            raise ChannelRefused(check)
        existing = await self.repo.get(check.chat_id)
        sub = await self.choose_frequency(
            check.chat_id,
            Kind.CHANNEL,
            language,
            existing.frequency if existing and existing.active else Frequency.DAILY,
        )
        sub = await self._save(replace(sub, title=check.name, added_by=admin_id))
        await self.audit.record(admin_id, AuditAction.CHANNEL_ADD, details=f"{check.chat_id} {check.name}")
        return check, sub

    async def connect_topic(
        self, chat_id: int, thread_id: int, title: str, admin_id: int, language: str
    ) -> tuple[ChannelCheck, Subscription]:
        """A forum topic of a group gets digests (posted into that topic) like a channel: set up by an admin,
        once the bot may write there; raises ChannelRefused otherwise. A group has one subscription: set up
        from another topic, the digests move there."""
        check = await self.directory.check_group(chat_id)
        if check.problem is not None or check.chat_id is None:
            raise ChannelRefused(check)
        existing = await self.repo.get(chat_id)
        sub = await self.choose_frequency(
            chat_id,
            Kind.CHANNEL,
            language,
            existing.frequency if existing and existing.active else Frequency.DAILY,
        )
        sub = await self._save(
            replace(sub, title=title or check.name, added_by=admin_id, thread_id=thread_id)
        )
        await self.audit.record(
            admin_id, AuditAction.CHANNEL_ADD, details=f"{chat_id}/{thread_id} {sub.title}"
        )
        return check, sub

    async def disconnect_channel(self, chat_id: int, admin_id: int) -> Subscription | None:
        """No more digests there; None when it is not a connected channel."""
        sub = await self.repo.get(chat_id)
        if sub is None or sub.kind is not Kind.CHANNEL or not sub.active:
            return None
        if not await self.repo.deactivate(chat_id, "removed"):
            return None
        await self.audit.record(admin_id, AuditAction.CHANNEL_REMOVE, details=f"{sub.chat_id} {sub.title}")
        return sub

    async def connected_channel(self, chat_id: int) -> Subscription | None:
        sub = await self.repo.get(chat_id)
        return sub if sub is not None and sub.active and sub.kind is Kind.CHANNEL else None

    async def resolve(self, ref: str | int) -> int | None:
        """A chat id from what an admin typed: a number, or a channel's @name (asked of Telegram, else
        looked up among the connected channels)."""
        if isinstance(ref, int):
            return ref
        found = await self.directory.chat_id(ref)
        if found is not None:
            return found
        wanted = ref.lower()
        return next((c.chat_id for c in await self.repo.channels() if c.title.lower() == wanted), None)

    async def channels(self) -> list[Subscription]:
        return await self.repo.channels()


@dataclass
class Digests:
    """Everything digests need, as the application built it; the application starts and stops the
    scheduler (which runs the delivery engine) with the bot."""

    subscriptions: SubscriptionService
    scheduler: DigestScheduler
    engine: DeliveryEngine
    ledger: DeliveryLedger
