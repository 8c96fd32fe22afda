"""What the repositories return (frozen dataclasses) and the backend-neutral search query they accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


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
