"""Sources: the feeds and channels the corpus follows, and what each poll brings in.

Every item goes through the same pipeline as an admin's upload (`Corpus.prepare` then `save`: duplicates,
near-duplicates, stories, instant digests), after the source's filter (`filters.Topic`). Each item a
source hands over is remembered with what became of it, in the transaction that stores its document, so
no poll, re-ordered feed or URL variant brings it in twice, and a text another feed stored already is not
even fetched. One source's failure — typed (`FetchError`) or not — is recorded on it and backs it off;
it never stops the others.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.admin.audit import AuditAction, AuditLog
from bot.clock import Clock
from bot.corpus.errors import UploadError
from bot.corpus.ingest import Analysis, Corpus, IngestResult, Prepared, Status, TextInput, analyse
from bot.digests.channels import ChannelDirectory, ChannelProblem
from bot.search import SearchService
from bot.sources.analysis import WORKER_CHARS, PassAnalysis
from bot.sources.errors import FetchError
from bot.sources.feeds import FeedFetcher, FeedItem, Validators
from bot.sources.filters import Topic, compile_topic
from storage.interfaces import SourceStore
from storage.models import ItemOutcome, NewSource, PollOutcome, Source, SourceKind

log = logging.getLogger(__name__)

# A failing source waits its interval, then twice that, four times… up to this long.
MAX_BACKOFF = timedelta(hours=6)
# Each poll time moves by up to this share of the interval either way, so feeds added together spread out.
JITTER = 0.1
# Sources polled at once in one pass (the fetcher keeps to one request at a time per host anyway).
CONCURRENT_SOURCES = 8
MAX_FILTER_CHARS = 300
# A byline longer than this is not a name (a feed putting a paragraph there): kept cut.
MAX_AUTHOR_CHARS = 200
# The "admin" of a post's first version in the bin, put there by its edit (no one's /undo finds it).
EDITED_BY = 0
INTERNAL = "internal"  # the reason recorded for a failure that is not a FetchError (the log has it)

_CHANNEL_LINK = re.compile(r"^(?:https?://)?t\.me/([A-Za-z0-9_]{4,})/?$")
_CHANNEL_NAME = re.compile(r"^@([A-Za-z0-9_]{4,})$")


class SourceProblem(StrEnum):
    BAD_ADDRESS = "bad_address"  # neither an http(s) address nor a channel's @name
    EXISTS = "exists"  # that feed or channel is a source already (params: id)
    NOT_FOUND = "not_found"  # no source with that number (params: id)
    CHANNEL = "channel"  # the channel cannot be followed (params: problem, a ChannelProblem)
    NEEDS_BOT = "needs_bot"  # channels are checked through Telegram: added in the chat, not the shell
    NOT_POLLED = "not_polled"  # a channel's posts arrive by themselves: there is nothing to poll
    FILTER_TOO_LONG = "filter_too_long"  # params: max


class EditOutcome(StrEnum):
    REPLACED = "replaced"
    UNCHANGED = "unchanged"  # the same text (a changed caption's formatting, a button)
    REFUSED = "refused"  # the corpus refuses the new text: the stored version stays
    IGNORED = "ignored"  # not a stored post of a source channel


class SourceError(Exception):
    """A management action refused, typed; handlers/errors.py puts it into words."""

    def __init__(self, problem: SourceProblem, /, **params: Any) -> None:
        super().__init__(problem.value, params)
        self.problem = problem
        self.params = params


@dataclass(frozen=True)
class SourceSettings:
    poll_minutes: int = 15
    timezone: str = "Asia/Almaty"  # a publication moment becomes a day in the bot's time zone


@dataclass(frozen=True)
class Added:
    doc_id: int
    title: str
    url: str | None
    near_duplicate: bool = False


@dataclass
class PollReport:
    """What one poll of one source did (`source` as it is after the poll)."""

    source: Source
    added: list[Added] = field(default_factory=list)
    duplicates: int = 0
    filtered: int = 0
    refused: int = 0
    not_modified: bool = False
    error: str | None = None  # the typed reason's code, as recorded on the source
    error_params: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Incoming:
    """One item, from a feed or a channel post, on its way to the corpus."""

    key: str
    url: str | None
    title: str | None
    text: str
    published: datetime | None
    outlet: str
    final: bool = True  # False: the feed's own content stood in for an article page that could not be read
    author: str | None = None  # the feed's author (dc:creator), else the page's byline; a post's signature


def backoff(interval: timedelta, failures: int) -> timedelta:
    """The wait after the n-th failure in a row: the interval, then doubling, capped."""
    if failures <= 0:
        return interval
    return min(interval * (1 << min(failures - 1, 20)), max(MAX_BACKOFF, interval))


def channel_name(ref: str) -> str | None:
    """A channel's @name from "@name" or a t.me link; None for anything else."""
    text = ref.strip()
    m = _CHANNEL_LINK.match(text) or _CHANNEL_NAME.match(text)
    return "@" + m.group(1) if m else None


def feed_address(ref: str) -> str | None:
    text = ref.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(text) > 2000:
        return None
    return text


def post_url(chat_id: int, username: str | None, message_id: int) -> str:
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{str(chat_id).removeprefix('-100')}/{message_id}"


class SourceService:
    def __init__(
        self,
        store: SourceStore,
        corpus: Corpus,
        search: SearchService,
        fetcher: FeedFetcher,
        clock: Clock,
        settings: SourceSettings,
        *,
        audit: AuditLog | None = None,
        channels: ChannelDirectory | None = None,
        rng: random.Random | None = None,
        analysis_worker_chars: int = WORKER_CHARS,
    ) -> None:
        self.store = store
        self.corpus = corpus
        self.search = search
        self.fetcher = fetcher
        self.clock = clock
        self.settings = settings
        self.channels = channels
        self.audit = audit
        self._rng = rng or random.Random()
        # A poll with a text this long is analysed in a worker process (see bot/sources/analysis.py).
        self.analysis_worker_chars = analysis_worker_chars
        self._zone = ZoneInfo(settings.timezone)
        # Polls in progress by source: a second request for the same source waits for the first one's report.
        self._polling: dict[int, asyncio.Future[PollReport]] = {}

    def with_channels(self, channels: ChannelDirectory) -> SourceService:
        """The same service that can also check channels through the messenger (the bot's)."""
        other = copy.copy(self)
        other.channels = channels
        return other

    # -- management --------------------------------------------------------------------------------------

    async def add(self, ref: str, filter_query: str = "", by: int | None = None) -> Source:
        """A feed (an http(s) address) or a channel (@name, t.me link) where the bot is an admin."""
        query = self._checked_filter(filter_query)
        now = self.clock.now()
        name = channel_name(ref)
        if name is not None:
            channel = await self._add_channel(name, query, by, now)
            return await self._audit(by, AuditAction.SOURCE_ADD, channel)
        url = feed_address(ref)
        if url is None:
            raise SourceError(SourceProblem.BAD_ADDRESS)
        existing = await self._id_of(url)
        if existing is not None:  # asked first: a refused insert would still use up an id
            raise SourceError(SourceProblem.EXISTS, id=existing)
        new = NewSource(
            SourceKind.FEED, url, "", query, self.settings.poll_minutes, by, now, next_poll_at=now
        )
        added = await self.store.add(new)
        if added is None:
            raise SourceError(SourceProblem.EXISTS, id=await self._id_of(url))
        log.info("source %d added: %s (filter %r)", added.id, url, query)
        await self._audit(by, AuditAction.SOURCE_ADD, added)
        return added

    async def _add_channel(self, name: str, query: str, by: int | None, now: datetime) -> Source:
        if self.channels is None:
            raise SourceError(SourceProblem.NEEDS_BOT)
        check = await self.channels.check(name)
        # Reading posts needs only membership as an administrator; the right to post is the digests' need.
        if check.chat_id is None or check.problem not in (None, ChannelProblem.CANNOT_POST):
            raise SourceError(SourceProblem.CHANNEL, problem=check.problem or ChannelProblem.NOT_FOUND)
        url = f"@{check.username}" if check.username else name
        existing = await self.store.by_chat(check.chat_id)
        if existing is not None:
            raise SourceError(SourceProblem.EXISTS, id=existing.id)
        new = NewSource(
            SourceKind.CHANNEL, url, check.title, query, self.settings.poll_minutes, by, now, None,
            chat_id=check.chat_id,
        )  # fmt: skip
        added = await self.store.add(new)
        if added is None:  # added by someone else meanwhile
            raise SourceError(SourceProblem.EXISTS, id=await self._id_of(url))
        return added

    async def _id_of(self, url: str) -> int | None:
        return next((s.id for s in await self.store.all() if s.url == url), None)

    @staticmethod
    def _checked_filter(text: str) -> str:
        query = " ".join(text.split())
        if len(query) > MAX_FILTER_CHARS:
            raise SourceError(SourceProblem.FILTER_TOO_LONG, max=MAX_FILTER_CHARS)
        return query

    async def sources(self) -> list[Source]:
        return await self.store.all()

    async def get(self, source_id: int) -> Source:
        found = await self.store.get(source_id)
        if found is None:
            raise SourceError(SourceProblem.NOT_FOUND, id=source_id)
        return found

    async def set_filter(self, source_id: int, filter_query: str, by: int | None = None) -> Source:
        if not await self.store.set_filter(source_id, self._checked_filter(filter_query)):
            raise SourceError(SourceProblem.NOT_FOUND, id=source_id)
        return await self._audit(by, AuditAction.SOURCE_FILTER, await self.get(source_id))

    async def pause(self, source_id: int, by: int | None = None) -> Source:
        if not await self.store.set_paused(source_id, True):
            raise SourceError(SourceProblem.NOT_FOUND, id=source_id)
        return await self._audit(by, AuditAction.SOURCE_PAUSE, await self.get(source_id))

    async def resume(self, source_id: int, by: int | None = None) -> Source:
        # Due at once: whatever it published meanwhile comes in at the next pass.
        if not await self.store.set_paused(source_id, False, next_poll_at=self.clock.now()):
            raise SourceError(SourceProblem.NOT_FOUND, id=source_id)
        return await self._audit(by, AuditAction.SOURCE_RESUME, await self.get(source_id))

    async def remove(self, source_id: int, by: int | None = None) -> Source:
        source = await self.get(source_id)
        await self.store.remove(source_id)
        log.info("source %d removed: %s", source_id, source.url)
        return await self._audit(by, AuditAction.SOURCE_REMOVE, source)

    async def _audit(self, by: int | None, action: AuditAction, source: Source) -> Source:
        """An admin's change goes to the audit log (the shell's, with no admin, only to the log file)."""
        if by is not None and self.audit is not None:
            details = f"#{source.id} {source.url}"
            if action is AuditAction.SOURCE_FILTER:
                details += f" {source.filter_query}"
            await self.audit.record(by, action, details=details)
        return source

    # -- polling -----------------------------------------------------------------------------------------

    async def poll_due(self, everything: bool = False) -> list[PollReport]:
        """One pass: every feed whose time has come (with `everything`, every feed not paused)."""
        if everything:
            due = [s for s in await self.store.all() if s.kind is SourceKind.FEED and not s.paused]
        else:
            due = await self.store.due(self.clock.now())
        if not due:
            return []
        gate = asyncio.Semaphore(CONCURRENT_SOURCES)
        async with self._analysis() as analysis:

            async def one(source: Source) -> PollReport | None:
                async with gate:
                    return await self._poll_safely(source, analysis)

            reports = await asyncio.gather(*(one(s) for s in due))
        return [r for r in reports if r is not None]

    async def poll_one(self, source_id: int) -> PollReport:
        """Poll one feed now, whatever its schedule (paused too: the admin asked for it)."""
        source = await self.get(source_id)
        if source.kind is not SourceKind.FEED:
            raise SourceError(SourceProblem.NOT_POLLED, id=source_id)
        running = self._polling.get(source_id)
        if running is not None:  # a scheduled pass is polling it right now: its result is the answer
            return await asyncio.shield(running)
        async with self._analysis() as analysis:
            report = await self._poll_safely(source, analysis)
        assert report is not None
        return report

    def _analysis(self) -> PassAnalysis:
        return PassAnalysis(self.corpus, worker_chars=self.analysis_worker_chars)

    async def _poll_safely(self, source: Source, analysis: PassAnalysis) -> PollReport | None:
        """None when this source is being polled already (by the pass, or an admin's /source poll)."""
        if source.id in self._polling:
            return None
        done: asyncio.Future[PollReport] = asyncio.get_running_loop().create_future()
        self._polling[source.id] = done
        try:
            report = await self._poll(source, analysis)
        except Exception as exc:
            # Whatever went wrong stays with this source: recorded, backed off, the others go on.
            log.exception("polling source %d (%s) failed", source.id, source.url)
            params = {"error": type(exc).__name__}
            try:
                report = await self._failed(source, INTERNAL, params)
            except Exception:  # not even the failure could be written (the database refuses): said here
                log.exception("could not record the failure of source %d", source.id)
                report = PollReport(source, error=INTERNAL, error_params=params)
        except BaseException:
            done.cancel()
            raise
        finally:
            del self._polling[source.id]
        done.set_result(report)
        return report

    def _next_poll(self, source: Source, failures: int) -> datetime:
        interval = timedelta(minutes=source.poll_minutes)
        wait = backoff(interval, failures)
        jitter = interval * JITTER * (2 * self._rng.random() - 1)
        return self.clock.now() + wait + jitter

    async def _failed(self, source: Source, reason: str, params: dict[str, Any]) -> PollReport:
        now = self.clock.now()
        outcome = PollOutcome(
            now, self._next_poll(source, source.failures + 1), error_reason=reason, error_params=params
        )
        await self.store.record_poll(source.id, outcome)
        log.warning("source %d (%s) failed: %s %s", source.id, source.url, reason, params)
        updated = await self.store.get(source.id) or source
        return PollReport(updated, error=reason, error_params=params)

    async def _poll(self, source: Source, analysis: PassAnalysis) -> PollReport:
        async def known(key: str) -> bool:
            return await self.store.seen(source.id, key)

        try:
            poll = await self.fetcher.poll(
                source.url, Validators(source.etag, source.last_modified), known=known
            )
        except FetchError as exc:
            return await self._failed(source, exc.reason.value, dict(exc.params))
        topic = await compile_topic(self.search, source.filter_query)
        report = PollReport(source, not_modified=poll.not_modified)
        items = [_incoming(item) for item in poll.items]
        await self._take_all(source, items, topic, report, analysis)
        outcome = PollOutcome(
            self.clock.now(),
            self._next_poll(source, 0),
            added=len(report.added),
            etag=poll.validators.etag,
            last_modified=poll.validators.last_modified,
            title=poll.feed_title,
        )
        await self.store.record_poll(source.id, outcome)
        report.source = await self.store.get(source.id) or source
        if report.added:
            log.info("source %d (%s): %d new", source.id, source.url, len(report.added))
        return report

    async def _take_all(
        self,
        source: Source,
        items: Sequence[Incoming],
        topic: Topic,
        report: PollReport,
        analysis: PassAnalysis,
    ) -> None:
        """The items into the corpus (or not), in order, each remembered with what became of it. Their
        analysis runs ahead (in the worker, for a big poll) while the earlier ones are being stored."""
        fresh = [item for item in items if not await self.store.seen(source.id, item.key)]
        texts = [self._text_input(source, item) for item in fresh]
        position = 0
        async for _, analysed in analysis.analyse(texts):
            await self._take(source, fresh[position], analysed, topic, report)
            position += 1

    def _text_input(self, source: Source, item: Incoming) -> TextInput:
        day = item.published.astimezone(self._zone).date().isoformat() if item.published else None
        return TextInput(
            text=item.text,
            source=f"source {source.id}",
            title=item.title or None,
            url=item.url or None,
            date=day,
            source_name=item.outlet or source.title or None,
        )

    async def _take(
        self, source: Source, item: Incoming, analysed: Analysis | Exception, topic: Topic, report: PollReport
    ) -> None:
        """One analysed item into the corpus (or not), remembered with what became of it."""
        now = self.clock.now()
        if isinstance(analysed, UploadError):
            report.refused += 1
            log.info("source %d: item %s refused (%s)", source.id, item.key, analysed.reason.value)
            # A feed's summary refused (too short) while its page could not be read is tried again at the
            # next poll: the page may answer then.
            if item.final:
                await self.store.remember(source.id, item.key, ItemOutcome.REFUSED, None, now)
            return
        if isinstance(analysed, Exception):  # the analysis itself failed: this poll fails (and is retried)
            raise analysed
        # The database half of `Corpus.prepare` (duplicates, republications) for a text analysed elsewhere.
        prepared = await self.corpus.prepare_analysed(analysed)
        if prepared.published is None:
            # No date in the feed, the page or the text's dateline: news of the day it was found.
            prepared = replace(prepared, published=now.astimezone(self._zone).date())
        if not _passes(topic, prepared):
            report.filtered += 1
            await self.store.remember(source.id, item.key, ItemOutcome.FILTERED, None, now)
            return
        if prepared.duplicate is not None:
            report.duplicates += 1
            await self.store.remember(source.id, item.key, ItemOutcome.DUPLICATE, prepared.duplicate.id, now)
            return

        async def remember(saved: Sequence[IngestResult]) -> None:
            # In the transaction that stores the document: both are there, or neither.
            for result in saved:
                await self.store.remember(source.id, item.key, ItemOutcome.ADDED, result.id, now)
                if item.author and result.id is not None:
                    await self.store.set_author(result.id, item.author[:MAX_AUTHOR_CHARS])

        result = await self.corpus.save(prepared, with_saved=remember)
        if result.status is Status.DUPLICATE:  # lost a race with another save of the same text
            report.duplicates += 1
            await self.store.remember(source.id, item.key, ItemOutcome.DUPLICATE, result.id, now)
        elif result.id is not None:
            report.added.append(
                Added(result.id, result.title or "", result.url, result.status is Status.NEAR_DUPLICATE)
            )

    # -- channels ----------------------------------------------------------------------------------------

    async def channel_post(
        self,
        chat_id: int,
        username: str | None,
        message_id: int,
        text: str,
        date: datetime | None,
        author: str | None = None,
    ) -> PollReport | None:
        """A new post in a channel: taken in when the channel is a source (not paused); None otherwise."""
        source = await self.store.by_chat(chat_id)
        if source is None or source.paused or not text.strip():
            return None
        url = post_url(chat_id, username, message_id)
        outlet = source.title or (f"@{username}" if username else "")
        item = Incoming(url, url, None, text, date, outlet, author=author)
        topic = await compile_topic(self.search, source.filter_query)
        report = PollReport(source)
        # One post (4096 characters at most) is analysed in place: the worker would cost more than it saves.
        async with self._analysis() as analysis:
            await self._take_all(source, [item], topic, report, analysis)
        now = self.clock.now()
        await self.store.record_poll(source.id, PollOutcome(now, now, added=len(report.added)))
        report.source = await self.store.get(source.id) or source
        return report

    async def channel_edit(
        self,
        chat_id: int,
        username: str | None,
        message_id: int,
        text: str,
        date: datetime | None,
        author: str | None = None,
    ) -> EditOutcome:
        """An edited post of a source channel: its stored text is replaced by the new one.

        The new version is stored as a new document (its index, fingerprints and story computed as for any
        text) in the transaction that moves the first one to the bin, so the post is in the corpus once, in
        its story (the first version is its near-duplicate when the edit is small). The filter decided when
        the post arrived, as for feed items; a post that was not stored (left out, refused, from before the
        channel was a source), deleted or hidden by an admin is left as it is, as is an edit the corpus
        refuses (too short now): the stored version stays."""
        source = await self.store.by_chat(chat_id)
        if source is None or source.paused or not text.strip():
            return EditOutcome.IGNORED
        url = post_url(chat_id, username, message_id)
        old_id = await self.store.stored_as(source.id, url)
        old = await self.corpus.repo.get(old_id) if old_id is not None else None
        if old is None or old.hidden:
            return EditOutcome.IGNORED
        outlet = source.title or (f"@{username}" if username else "")
        # A signature is on every version of a signed post; kept from the first when the edit has none.
        item = Incoming(url, url, None, text, date, outlet, author=author or old.author)
        c = self.corpus
        try:
            analysed = analyse(self._text_input(source, item), c.morph, c.min_chars, c.max_chars)
        except UploadError as exc:
            log.info("source %d: the edit of %s refused (%s)", source.id, url, exc.reason.value)
            return EditOutcome.REFUSED
        if analysed.content_hash == old.content_hash:
            return EditOutcome.UNCHANGED
        prepared = await c.prepare_analysed(analysed)
        if prepared.duplicate is not None:  # the edited post now says what another stored text says
            return EditOutcome.REFUSED
        if prepared.published is None:
            prepared = replace(prepared, published=old.published)

        async def replace_first(saved: Sequence[IngestResult]) -> None:
            for result in saved:
                assert result.id is not None
                await c.repo.move_to_bin(old.id, EDITED_BY)
                await self.store.relink(source.id, url, result.id)
                if item.author:
                    await self.store.set_author(result.id, item.author[:MAX_AUTHOR_CHARS])

        result = await c.save(prepared, with_saved=replace_first)
        if result.status is Status.DUPLICATE:  # the same text was stored meanwhile
            return EditOutcome.REFUSED
        log.info("source %d: post %s edited, #%s replaced by #%s", source.id, url, old.id, result.id)
        return EditOutcome.REPLACED


def _incoming(item: FeedItem) -> Incoming:
    final = item.full_text or not item.url
    return Incoming(
        item.key, item.url, item.title, item.text, item.published, item.outlet, final, author=item.author
    )


def _passes(topic: Topic, prepared: Prepared) -> bool:
    return topic.everything or topic.matches(prepared.title_terms, prepared.body_terms)
