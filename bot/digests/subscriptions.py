"""Subscribing, changing, pausing and leaving; channels; and the assembly of the whole digest machinery
(subscriptions, scheduler, delivery engine) that the application starts and stops with the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from bot.app.container import Services
from bot.clock import Clock, SystemClock
from bot.digests.builder import DigestBuilder
from bot.digests.delivery import DeliveryConfig, DeliveryEngine
from bot.digests.schedule import DEFAULT_LOCAL_TIME, DigestRenderer, DigestScheduler, due_after
from storage.deliveries import DeliveryRepository
from storage.subscriptions import Frequency, Kind, NewSubscription, Subscription, SubscriptionRepository

log = logging.getLogger(__name__)

MAX_TOPIC_CHARS = 200


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


class SubscriptionService:
    def __init__(
        self, repo: SubscriptionRepository, builder: DigestBuilder, clock: Clock, default_timezone: str
    ) -> None:
        self.repo = repo
        self.builder = builder
        self.clock = clock
        self.default_timezone = default_timezone

    async def get(self, chat_id: int) -> Subscription | None:
        return await self.repo.get(chat_id)

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

    async def check_channel(self, bot: Bot, ref: str | int) -> ChannelCheck:
        """Can the bot post digests there? If not, exactly what is missing."""
        shown = str(ref)
        try:
            chat = await bot.get_chat(ref)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("channel %s not reachable: %s", ref, exc.message)
            return ChannelCheck(shown, problem=ChannelProblem.NOT_FOUND)
        found = ChannelCheck(shown, chat.id, chat.title or "", chat.username)
        if chat.type != "channel":
            return replace(found, problem=ChannelProblem.NOT_A_CHANNEL)
        try:
            member = await bot.get_chat_member(chat.id, bot.id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("bot membership in %s unknown: %s", ref, exc.message)
            return replace(found, problem=ChannelProblem.NOT_ADMIN)
        if isinstance(member, ChatMemberOwner):
            return found
        if not isinstance(member, ChatMemberAdministrator):
            return replace(found, problem=ChannelProblem.NOT_ADMIN)
        if not member.can_post_messages:
            return replace(found, problem=ChannelProblem.CANNOT_POST)
        return found

    async def add_channel(self, check: ChannelCheck, admin_id: int, language: str) -> Subscription:
        """A checked channel: a daily digest until its admin chooses otherwise (the same choices follow)."""
        assert check.chat_id is not None and check.problem is None
        existing = await self.repo.get(check.chat_id)
        sub = await self.choose_frequency(
            check.chat_id,
            Kind.CHANNEL,
            language,
            existing.frequency if existing and existing.active else Frequency.DAILY,
        )
        return await self._save(replace(sub, title=check.name, added_by=admin_id))

    async def channels(self) -> list[Subscription]:
        return await self.repo.channels()


@dataclass
class Digests:
    """Everything digests need, built once per process, started and stopped with the bot."""

    subscriptions: SubscriptionService
    scheduler: DigestScheduler
    engine: DeliveryEngine
    deliveries: DeliveryRepository

    @classmethod
    def create(
        cls,
        services: Services,
        bot: Bot,
        renderer: DigestRenderer,
        clock: Clock | None = None,
        config: DeliveryConfig | None = None,
    ) -> Digests:
        clock = clock or SystemClock()
        repo = SubscriptionRepository(services.db)
        deliveries = DeliveryRepository(services.db)
        builder = DigestBuilder(services.search)
        engine = DeliveryEngine(
            deliveries, bot, config or DeliveryConfig.from_settings(services.settings), clock
        )
        scheduler = DigestScheduler(repo, deliveries, builder, engine, renderer, clock)
        subscriptions = SubscriptionService(repo, builder, clock, services.settings.default_timezone)
        return cls(subscriptions, scheduler, engine, deliveries)

    def install(self, dp: Dispatcher) -> None:
        """Handlers get `subscriptions`, `digest_scheduler` and `deliveries`; the scheduler and the engine
        start when the Dispatcher starts and stop when it stops (before the database closes)."""
        dp["subscriptions"] = self.subscriptions
        dp["digest_scheduler"] = self.scheduler
        dp["deliveries"] = self.deliveries
        dp.startup.register(self._start)
        dp.shutdown.register(self._stop)

    async def _start(self, bot: Bot) -> None:
        me = await bot.me()
        await self.scheduler.start(me.username or "bot")

    async def _stop(self) -> None:
        await self.scheduler.stop()
