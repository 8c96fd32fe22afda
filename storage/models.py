"""What the repositories take and return: frozen dataclasses and enums, the same for every backend.

The domain and the handlers import these (never a repository module); the repository Protocols in
`storage.interfaces` are written in them, so a PostgreSQL backend returns exactly the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Document:
    id: int
    title: str
    text: str
    url: str | None
    source_name: str | None
    published: date | None
    lang: str
    content_hash: str
    duplicate_of: int | None
    story_id: int | None
    hidden: bool
    created_at: datetime
    updated_at: datetime
    author: str | None = None  # the byline a source gave (a feed's author, an article page's)


@dataclass(frozen=True)
class NewDocument:
    """Everything needed to store a document: the domain computes the terms, bands and fingerprint."""

    title: str
    text: str
    url: str | None
    source_name: str | None
    published: date | None
    lang: str
    content_hash: str
    title_terms: str
    body_terms: str
    minhash: bytes
    bands: tuple[int, ...]
    fingerprint: str
    words: tuple[str, ...]
    story_keys: tuple[str, ...] = ()
    duplicate_of: int | None = None
    story_id: int | None = None
    # In `add_many`: the position of an earlier document of the same call whose story this one joins, or
    # which it republishes (its id is not known before it is stored). A reference to one that failed is dropped.
    story_of: int | None = None
    copy_of: int | None = None


# -- search query model ---------------------------------------------------------------------------------
# The domain parses what the user typed into this model; each backend compiles it to its own syntax
# (FTS5 MATCH here), so no user text ever reaches a query language unescaped.


@dataclass(frozen=True)
class Alternatives:
    """One query word: it matches when any of its terms (or phrases of terms) is present."""

    phrases: tuple[tuple[str, ...], ...]
    prefix: bool = False


@dataclass(frozen=True)
class TermQuery:
    required: tuple[Alternatives, ...]
    excluded: tuple[Alternatives, ...] = ()
    any_of: bool = False  # OR the required clauses instead of AND (the partial-match fallback)


@dataclass(frozen=True)
class Ranking:
    """The best matches of a query, best first, and how many matches were ranked to find them."""

    rows: list[tuple[int, float, str]]  # (document id, BM25 score, language)
    # Every match, unless only the newest `window` were ranked: then `matched == window` means "at least".
    matched: int
    bounded: bool = False  # the window was full: older matches exist and were not looked at


@dataclass(frozen=True)
class CorpusStats:
    documents: int
    hidden: int
    by_language: dict[str, int] = field(default_factory=dict)
    by_month: dict[str, int] = field(default_factory=dict)
    index_bytes: int = 0
    database_bytes: int = 0
    terms: int = 0


@dataclass(frozen=True)
class FeatureRow:
    doc_id: int
    story_id: int | None
    published: date | None
    lang: str
    fingerprint: str
    shared: int = 0  # how many of the looked-up keys offered it (see `story_candidates`)


@dataclass(frozen=True)
class StoryQuery:
    """Story candidates of one new document: its lookup keys and date window (None: undated documents)."""

    keys: tuple[str, ...]
    start: date | None
    end: date | None
    limit: int | None = None  # instead of the call's limit


@dataclass(frozen=True)
class KeyDoc:
    """A document a story key offers (see `story_key_docs`)."""

    doc_id: int
    published: date | None


@dataclass(frozen=True)
class NearCandidate:
    """A stored document that shares a MinHash band with a new one, with the original it republishes
    (itself when it is an original)."""

    doc_id: int
    minhash: bytes
    original_id: int
    original_story_id: int | None


class RestoreConflict(Exception):
    """The deleted text is in the corpus again (uploaded anew), so the old copy cannot come back."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(f"the same text is stored as document {existing_id}")
        self.existing_id = existing_id


# -- readers, their saved queries, the admins' audit log and pending uploads -----------------------------


@dataclass(frozen=True)
class User:
    user_id: int
    language: str | None
    first_name: str | None
    username: str | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    admin_id: int
    action: str
    doc_id: int | None
    details: str


@dataclass(frozen=True)
class PendingUpload:
    """The upload as it came, with the admin's edits; `published` is the date as the admin typed it."""

    id: int
    admin_id: int
    created_at: datetime
    text: str
    source: str
    title: str | None
    url: str | None
    published: str | None
    lang: str | None
    source_name: str | None


# -- digests: subscriptions, digests as sent and the delivery ledger ----------------------------------------


class Kind(StrEnum):
    PERSON = "person"
    CHANNEL = "channel"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    INSTANT = "instant"


@dataclass(frozen=True)
class Subscription:
    id: int
    chat_id: int
    kind: Kind
    title: str
    added_by: int | None
    # For a person, their current interface language (/lang) when they chose one, else the one stored here.
    language: str
    frequency: Frequency
    weekday: int | None  # 0 = Monday, for weekly digests
    local_time: str  # "HH:MM" in `timezone`
    timezone: str  # an IANA name or "UTC+05:30"
    filter_query: str
    paused: bool
    active: bool
    inactive_reason: str | None
    cursor: int
    next_due: datetime | None
    last_digest_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Delivery options, per subscription (defaults: what a digest always was).
    thread_id: int | None = None  # a forum topic of a group (message_thread_id)
    headlines_only: bool = False  # titles without the summary line
    link_previews: bool = False
    silent: bool = False  # disable_notification
    quiet_from: str | None = None  # "HH:MM" local: a digest due from then…
    quiet_to: str | None = None  # …until then is sent at its end


@dataclass(frozen=True)
class NewSubscription:
    chat_id: int
    kind: Kind
    language: str
    frequency: Frequency
    local_time: str
    timezone: str
    cursor: int
    next_due: datetime | None
    weekday: int | None = None
    filter_query: str = ""
    title: str = ""
    added_by: int | None = None
    thread_id: int | None = None  # a forum topic: a group has a subscription per topic


@dataclass(frozen=True)
class SubscriptionCounts:
    people: int  # active, including paused
    channels: int
    paused: int
    inactive: dict[str, int]  # reason → how many (blocked, kicked, unsubscribed, …)

    @classmethod
    def from_groups(cls, rows: Iterable[Any]) -> SubscriptionCounts:
        """From (kind, active, paused, inactive reason, count) groups, as every backend's query returns them."""
        people = channels = paused = 0
        inactive: dict[str, int] = {}
        for kind, active, is_paused, reason, n in rows:
            if active:
                people += n if kind == Kind.PERSON else 0
                channels += n if kind == Kind.CHANNEL else 0
                paused += n if is_paused else 0
            else:
                inactive[reason or "unknown"] = inactive.get(reason or "unknown", 0) + n
        return cls(people, channels, paused, inactive)


class State(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    """A subscription to deliver a digest to, and where its cursor and next due time move with it."""

    subscription_id: int | None
    chat_id: int
    cursor: int
    next_due: datetime | None
    thread_id: int | None = None
    silent: bool = False
    link_previews: bool = False
    # (cursor, next due) of the subscription as the scheduler read them: the move is a compare-and-set on
    # them, so that of two schedulers that read the same due subscription only one queues its digest.
    # None: no expectation, the move always happens.
    seen: tuple[int, datetime | None] | None = None


@dataclass(frozen=True)
class Queued:
    """What an enqueue stored: the digest (0 when no target was still as the scheduler read it, and
    nothing was stored) and how many deliveries."""

    digest_id: int
    deliveries: int


@dataclass(frozen=True)
class NewDigest:
    language: str
    filter_query: str
    cursor_from: int
    cursor_to: int
    stories: str  # JSON, for "show the rest" and for the record


@dataclass(frozen=True)
class Rendered:
    text: str  # HTML
    reply_markup: str | None  # JSON of an InlineKeyboardMarkup


@dataclass(frozen=True)
class StoredDigest:
    id: int
    created_at: datetime
    language: str
    filter_query: str
    cursor_from: int
    cursor_to: int
    stories: str
    text: str
    reply_markup: str | None


@dataclass(frozen=True)
class Delivery:
    id: int
    digest_id: int
    chat_id: int
    subscription_id: int | None
    state: State
    attempts: int
    message_id: int | None
    last_error: str | None
    thread_id: int | None = None
    silent: bool = False
    link_previews: bool = False


@dataclass(frozen=True)
class UnfinishedUpload:
    """A bulk upload with its progress message, as recorded while it ran. `saved` is exact: it is counted
    in the transaction that saves the texts."""

    id: int
    admin_id: int
    chat_id: int
    message_id: int
    name: str
    locale: str
    total: int
    saved: int
    started_at: datetime


# -- sources (feeds and channels the corpus follows) -------------------------------------------------------


class SourceKind(StrEnum):
    FEED = "feed"
    CHANNEL = "channel"


class ItemOutcome(StrEnum):
    """What became of one item of a source: each is remembered, so a poll never takes it up again."""

    ADDED = "added"  # stored as a new document (or a near-duplicate, linked)
    DUPLICATE = "duplicate"  # the same text was stored already (from anywhere)
    FILTERED = "filtered"  # the source's filter left it out
    REFUSED = "refused"  # the corpus refused it (too short, …)


@dataclass(frozen=True)
class NewSource:
    kind: SourceKind
    url: str  # a feed's address; a channel's "@name" (or its t.me/c link)
    title: str
    filter_query: str
    poll_minutes: int
    created_by: int | None
    created_at: datetime
    next_poll_at: datetime | None
    chat_id: int | None = None  # channels only


@dataclass(frozen=True)
class Source:
    id: int
    kind: SourceKind
    url: str
    chat_id: int | None
    title: str
    filter_query: str
    paused: bool
    poll_minutes: int
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    last_new_at: datetime | None
    items_added: int
    failures: int  # consecutive failed polls (0 after a good one)
    error_reason: str | None  # the last failure's typed reason (a code), translated where it is shown
    error_params: dict[str, Any]
    created_by: int | None
    created_at: datetime


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a source leaves behind: on success `error_reason` is None (failures reset)."""

    polled_at: datetime
    next_poll_at: datetime
    added: int = 0
    etag: str | None = None
    last_modified: str | None = None
    error_reason: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    title: str | None = None  # the source's own name, kept when it has none yet


@dataclass(frozen=True)
class LoggedSearch:
    """One reader's search, for the search log (/stats): written in batches, so it carries its own time."""

    at: datetime
    user_id: int | None
    query: str
    results: int
    via: str  # "chat" or "inline"
