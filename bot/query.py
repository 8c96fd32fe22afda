"""The query language and what a search returns.

What a person can type: plain words, "exact phrase", -excluded, prefix*. Anything else is read as words: no
input can reach the index's own query syntax, so no input raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from bot.text.morph import iter_tokens
from storage.models import Document

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 12
MAX_PHRASE_VARIANTS = 16

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')

# Words too common to search for on their own: Russian, English, Kazakh.
_STOPWORDS = """
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
    вот от меня еще нет о из ему когда даже ну ли если уже или ни быть был него до вас опять уж вам ведь
    там потом себя ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без чего раз тоже
    себе под будет ж тогда кто этот того потому этого какой ним здесь этом тем чтобы нее были куда всех
    можно при об после над через эти нас про них эту этой перед том им между также
    the a an and or not of in on at to for is are was were be by with from as it this that its
    және мен бен пен да де та те бұл осы ол үшін деп
"""
STOPWORDS = frozenset(_STOPWORDS.split())


class Ordering(StrEnum):
    RELEVANCE = "relevance"
    RECENT = "recent"


class Problem(StrEnum):
    EMPTY = "empty"  # nothing searchable was typed
    ONLY_EXCLUDED = "only_excluded"  # only -words: there is nothing to look for


@dataclass(frozen=True)
class QueryItem:
    words: tuple[str, ...]  # folded words; more than one makes a phrase
    originals: tuple[str, ...]
    capitalized: tuple[bool, ...]
    negated: bool = False
    prefix: bool = False
    quoted: bool = False  # "an exact phrase": never expanded; words joined by a hyphen are not quoted


@dataclass(frozen=True)
class ParsedQuery:
    items: tuple[QueryItem, ...]
    truncated: bool = False

    @property
    def positive(self) -> list[QueryItem]:
        return [i for i in self.items if not i.negated]

    @property
    def negative(self) -> list[QueryItem]:
        return [i for i in self.items if i.negated]


@dataclass(frozen=True)
class SearchHit:
    document: Document
    score: float
    snippet: str  # HTML: escaped text with the matched words in <b>
    partial: bool = False  # has only some of the words (listed after every text that has them all)


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[SearchHit]
    total: int
    total_capped: bool
    offset: int
    limit: int
    ordering: Ordering = Ordering.RELEVANCE
    partial: bool = False  # some hits have only some of the words (after every hit that has them all)
    missing: tuple[str, ...] = ()  # words, as typed, that no text has (nor anything they could mean)
    corrected: dict[str, str] = field(default_factory=dict)  # typed word → corpus word used instead
    problem: Problem | None = None

    @property
    def corrected_query(self) -> str | None:
        if not self.corrected:
            return None
        out = self.query
        for typed, used in self.corrected.items():
            out = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", used, out, flags=re.IGNORECASE)
        return out

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.hits) < self.total

    def as_json(self) -> list[dict[str, object]]:
        return [
            {
                "id": h.document.id,
                "title": h.document.title,
                "url": h.document.url,
                "date": h.document.published.isoformat() if h.document.published else None,
                "source": h.document.source_name,
                "lang": h.document.lang,
                "story_id": h.document.story_id,
                "score": round(h.score, 4),
                "partial": h.partial,
                "snippet": h.snippet,
            }
            for h in self.hits
        ]


def parse_query(text: str) -> ParsedQuery:
    """Read whatever was typed as words, "phrases", -exclusions and prefix* — never fails."""
    cleaned = _CONTROL_RE.sub(" ", text)
    truncated = len(cleaned) > MAX_QUERY_CHARS
    cleaned = cleaned[:MAX_QUERY_CHARS]
    items: list[QueryItem] = []
    for m in _CHUNK_RE.finditer(cleaned):
        if m.group(3) is not None:
            chunk = m.group(3)
            negated = chunk.startswith("-") and len(chunk) > 1
            prefix = chunk.rstrip("\"'»).,;!?").endswith("*")
        else:
            chunk = m.group(2)
            negated = m.group(1) == "-"
            prefix = False
        quoted = m.group(3) is None
        tokens = [(cleaned_word, word, cap) for (_, _, word, cap), cleaned_word in _with_originals(chunk)]
        if not tokens:
            continue
        items.append(
            QueryItem(
                words=tuple(t[1] for t in tokens),
                originals=tuple(t[0] for t in tokens),
                capitalized=tuple(t[2] for t in tokens),
                negated=negated,
                prefix=prefix and len(tokens) == 1,
                quoted=quoted,
            )
        )
        if len(items) >= MAX_QUERY_WORDS:
            truncated = True
            break
    return ParsedQuery(tuple(items), truncated)


def _with_originals(chunk: str) -> list[tuple[tuple[int, int, str, bool], str]]:
    return [(tok, chunk[tok[0] : tok[1]]) for tok in iter_tokens(chunk)]
