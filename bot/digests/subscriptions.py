"""Subscribing, changing, pausing and leaving; channels and forum topics of groups. The service takes
everything it uses as constructor parameters (the application builds them) and reaches Telegram only through
`ChannelDirectory`.

A subscription is known by its `Place`: a chat, and a forum topic of it (a group has one per topic). Who may
change one: a person their own; a channel's, the bot's admins; a group topic's, the bot's admins and the
group's administrators (asked of Telegram, remembered for a minute: a settings screen is many presses)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

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
# How long a group administrator check is trusted, and how many are remembered.
ADMIN_CHECK_TTL = timedelta(seconds=60)
ADMIN_CHECKS_KEPT = 2048


class Place(NamedTuple):
    """Where a digest goes: a chat (a person's private chat, a channel, a group) and a forum topic of it."""

    chat_id: int
    thread_id: int | None = None

    @classmethod
    def of(cls, sub: Subscription) -> Place:
        return cls(sub.chat_id, sub.thread_id)


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
        self._admin_checks: dict[tuple[int, int], tuple[datetime, bool]] = {}

    def now(self) -> datetime:
        """The moment settings are shown for (zone offsets and the next digest depend on it)."""
        return self.clock.now()

    async def get(self, chat_id: int, thread_id: int | None = None) -> Subscription | None:
        return await self.repo.get(chat_id, thread_id)

    async def by_id(self, sub_id: int) -> Subscription | None:
        return await self.repo.by_id(sub_id)

    async def get_active(self, place: Place) -> Subscription | None:
        sub = await self.repo.get(*place)
        return sub if sub is not None and sub.active else None

    # -- who may change a subscription ------------------------------------------------------------------

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        """An administrator (or the owner) of the group, as Telegram says; remembered for a short while."""
        key, now = (chat_id, user_id), self.clock.now()
        known = self._admin_checks.get(key)
        if known is not None and now - known[0] < ADMIN_CHECK_TTL:
            return known[1]
        answer = await self.directory.is_chat_admin(chat_id, user_id)
        if len(self._admin_checks) >= ADMIN_CHECKS_KEPT:
            self._admin_checks.pop(next(iter(self._admin_checks)))
        self._admin_checks[key] = (now, answer)
        return answer

    async def may_manage(self, sub: Subscription, user_id: int, bot_admin: bool) -> bool:
        if sub.kind is Kind.PERSON:
            return sub.chat_id == user_id
        if bot_admin:
            return True
        # A topic of a group is its administrators' too; a channel's digest is the bot's admins' only.
        return sub.thread_id is not None and await self.is_group_admin(sub.chat_id, user_id)

    async def may_manage_topic(self, chat_id: int, user_id: int, bot_admin: bool) -> bool:
        """May this person set up or change digests for the topics of this group?"""
        return bot_admin or await self.is_group_admin(chat_id, user_id)

    # -- a subscription's settings ------------------------------------------------------------------------

    async def choose_frequency(
        self,
        place: Place,
        kind: Kind,
        language: str,
        frequency: Frequency,
        weekday: int | None = None,
        added_by: int | None = None,
    ) -> Subscription:
        """The first step of /subscribe (and of a channel's set-up): creates the subscription, or brings a
        stopped one back with its old settings, or changes how often an active one comes."""
        sub = await self.repo.get(*place)
        if sub is None or not sub.active:
            base = sub
            new = NewSubscription(
                chat_id=place.chat_id,
                thread_id=place.thread_id,
                kind=kind,
                language=language,
                frequency=frequency,
                weekday=self._weekday(frequency, weekday, base.weekday if base else None),
                local_time=base.local_time if base else DEFAULT_LOCAL_TIME,
                timezone=base.timezone if base else self.default_timezone,
                filter_query=base.filter_query if base else "",
                title=base.title if base else "",
                added_by=added_by if added_by is not None else (base.added_by if base else None),
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

    async def set_weekday(self, place: Place, weekday: int) -> Subscription | None:
        return await self._change(place, weekday=weekday % 7)

    async def set_time(self, place: Place, local_time: str) -> Subscription | None:
        return await self._change(place, local_time=local_time)

    async def set_timezone(self, place: Place, zone_name: str) -> Subscription | None:
        return await self._change(place, timezone=zone_name)

    async def set_topic(self, place: Place, topic: str) -> Subscription | None:
        return await self._change(place, filter_query=" ".join(topic.split())[:MAX_TOPIC_CHARS])

    async def set_headlines_only(self, place: Place, on: bool) -> Subscription | None:
        return await self._change(place, headlines_only=on)

    async def set_link_previews(self, place: Place, on: bool) -> Subscription | None:
        return await self._change(place, link_previews=on)

    async def set_silent(self, place: Place, on: bool) -> Subscription | None:
        return await self._change(place, silent=on)

    async def set_quiet_hours(self, place: Place, start: str | None, end: str | None) -> Subscription | None:
        """Local "HH:MM" bounds (None, None: no quiet hours); a digest due inside them waits for their end."""
        if not start or not end or start == end:
            start = end = None
        return await self._change(place, quiet_from=start, quiet_to=end)

    async def pause(self, place: Place) -> Subscription | None:
        return await self._change(place, paused=True)

    async def resume(self, place: Place) -> Subscription | None:
        return await self._change(place, paused=False)

    async def unsubscribe(self, place: Place, reason: str = "unsubscribed") -> bool:
        """Kept, inactive: /subscribe brings it back with the same settings. Only that topic of a group."""
        return await self.repo.deactivate(place.chat_id, reason, place.thread_id)

    async def chat_gone(self, chat_id: int, reason: str) -> int:
        """The bot was blocked in, or removed from, a chat: every subscription there stops (each topic)."""
        stopped = await self.repo.deactivate_chat(chat_id, reason)
        if stopped:
            log.info("chat %s: %d subscription(s) stopped (%s)", chat_id, stopped, reason)
        return stopped

    async def _change(self, place: Place, **changes: Any) -> Subscription | None:
        sub = await self.repo.get(*place)
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
            Place(check.chat_id),
            Kind.CHANNEL,
            language,
            existing.frequency if existing and existing.active else Frequency.DAILY,
            added_by=admin_id,
        )
        sub = await self._save(replace(sub, title=check.name, added_by=admin_id))
        await self.audit.record(admin_id, AuditAction.CHANNEL_ADD, details=f"{check.chat_id} {check.name}")
        return check, sub

    async def connect_topic(
        self, chat_id: int, thread_id: int, title: str, admin_id: int, language: str
    ) -> tuple[ChannelCheck, Subscription]:
        """A forum topic of a group gets digests (posted into that topic) like a channel, once the bot may
        write there; raises ChannelRefused otherwise. Each topic has its own subscription. (Whether `admin_id`
        may do this is the caller's check: `may_manage_topic`.)"""
        check = await self.directory.check_group(chat_id)
        if check.problem is not None or check.chat_id is None:
            raise ChannelRefused(check)
        place = Place(chat_id, thread_id)
        existing = await self.repo.get(*place)
        sub = await self.choose_frequency(
            place,
            Kind.CHANNEL,
            language,
            existing.frequency if existing and existing.active else Frequency.DAILY,
            added_by=admin_id,
        )
        sub = await self._save(replace(sub, title=title or check.name, added_by=admin_id))
        await self.audit.record(
            admin_id, AuditAction.CHANNEL_ADD, details=f"{chat_id}/{thread_id} {sub.title}"
        )
        return check, sub

    async def disconnect_channel(self, place: Place, admin_id: int) -> Subscription | None:
        """No more digests there (a channel, or that topic of a group); None when it is not connected."""
        sub = await self.repo.get(*place)
        if sub is None or sub.kind is not Kind.CHANNEL or not sub.active:
            return None
        if not await self.repo.deactivate(place.chat_id, "removed", place.thread_id):
            return None
        where = f"{sub.chat_id}/{sub.thread_id}" if sub.thread_id is not None else str(sub.chat_id)
        await self.audit.record(admin_id, AuditAction.CHANNEL_REMOVE, details=f"{where} {sub.title}")
        return sub

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
