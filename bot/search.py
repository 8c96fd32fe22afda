"""Search: a forgiving query language, morphology-aware matching, typo and script tolerance, snippets.

What a person can type: plain words (all must match; if nothing matches all of them, the best partial
matches are shown and flagged), "exact phrase", -excluded, prefix*. Anything else is read as words: no input
can reach the index's own query syntax, so no input raises.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property

from bot.corpus.ingest import Corpus
from bot.text.morph import fold, iter_tokens
from storage.documents import matching_among
from storage.models import Alternatives, Document, TermQuery

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 12
MAX_PHRASE_VARIANTS = 16
# Ranking every match of a word that most documents contain is what makes plain FTS5 slow on a large
# corpus, and BM25 cannot rank such matches anyway (its IDF is clamped near zero). When even the rarest
# required word is this common, results come newest first instead.
RANK_LIMIT = 4000
COUNT_CAP = 1000
SNIPPET_CHARS = 240

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')

STOPWORDS = frozenset(
    [
        "и",
        "в",
        "во",
        "не",
        "что",
        "он",
        "на",
        "я",
        "с",
        "со",
        "как",
        "а",
        "то",
        "все",
        "она",
        "так",
        "его",
        "но",
        "да",
        "ты",
        "к",
        "у",
        "же",
        "вы",
        "за",
        "бы",
        "по",
        "только",
        "ее",
        "мне",
        "было",
        "вот",
        "от",
        "меня",
        "еще",
        "нет",
        "о",
        "из",
        "ему",
        "когда",
        "даже",
        "ну",
        "ли",
        "если",
        "уже",
        "или",
        "ни",
        "быть",
        "был",
        "него",
        "до",
        "вас",
        "опять",
        "уж",
        "вам",
        "ведь",
        "там",
        "потом",
        "себя",
        "ей",
        "может",
        "они",
        "тут",
        "где",
        "есть",
        "надо",
        "ней",
        "для",
        "мы",
        "тебя",
        "их",
        "чем",
        "была",
        "сам",
        "чтоб",
        "без",
        "чего",
        "раз",
        "тоже",
        "себе",
        "под",
        "будет",
        "ж",
        "тогда",
        "кто",
        "этот",
        "того",
        "потому",
        "этого",
        "какой",
        "ним",
        "здесь",
        "этом",
        "тем",
        "чтобы",
        "нее",
        "были",
        "куда",
        "всех",
        "можно",
        "при",
        "об",
        "после",
        "над",
        "через",
        "эти",
        "нас",
        "про",
        "них",
        "эту",
        "этой",
        "перед",
        "том",
        "им",
        "между",
        "также",
        "the",
        "a",
        "an",
        "and",
        "or",
        "not",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "by",
        "with",
        "from",
        "as",
        "it",
        "this",
        "that",
        "its",
        "және",
        "мен",
        "бен",
        "пен",
        "да",
        "де",
        "та",
        "те",
        "бұл",
        "осы",
        "ол",
        "үшін",
        "деп",
    ]
)


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


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[SearchHit]
    total: int
    total_capped: bool
    offset: int
    limit: int
    ordering: Ordering = Ordering.RELEVANCE
    partial: bool = False  # no document has every word: these match some of them
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
            )
        )
        if len(items) >= MAX_QUERY_WORDS:
            truncated = True
            break
    return ParsedQuery(tuple(items), truncated)


def _with_originals(chunk: str) -> list[tuple[tuple[int, int, str, bool], str]]:
    return [(tok, chunk[tok[0] : tok[1]]) for tok in iter_tokens(chunk)]


@dataclass
class _Clause:
    item: QueryItem
    alternatives: Alternatives
    df: int = 0


class SearchService:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.repo = corpus.repo
        self.morph = corpus.morph

    # -- building the query -------------------------------------------------------------------------

    async def _word_terms(self, word: str, capitalized: bool) -> set[str]:
        terms = set(self.morph.query_terms(word))
        terms.add(self.morph.token_term(word, capitalized))
        vocab = await self.corpus.vocabulary()
        for other in vocab.other_script(word):
            terms |= self.morph.query_terms(other)
        return terms

    async def _alternatives(self, item: QueryItem) -> Alternatives:
        if item.prefix:
            return Alternatives(phrases=((item.words[0],),), prefix=True)
        options = [
            sorted(await self._word_terms(w, c)) for w, c in zip(item.words, item.capitalized, strict=True)
        ]
        if len(options) == 1:
            return Alternatives(phrases=tuple((t,) for t in options[0]))
        variants = list(itertools.islice(itertools.product(*options), MAX_PHRASE_VARIANTS))
        return Alternatives(phrases=tuple(variants))

    async def _df(self, alt: Alternatives) -> int:
        stats = await self.corpus.stats()
        if alt.prefix:
            return await self.repo.prefix_freq(alt.phrases[0][0])
        # A phrase is at most as common as its rarest word; alternatives add up (an upper bound).
        return sum(min(stats.get(t) for t in phrase) for phrase in alt.phrases)

    async def _clauses(self, parsed: ParsedQuery) -> tuple[list[_Clause], list[Alternatives], dict[str, str]]:
        positive = parsed.positive
        meaningful = [i for i in positive if len(i.words) > 1 or i.prefix or i.words[0] not in STOPWORDS]
        # A query made only of stop words is still searched for them rather than refused.
        chosen = meaningful or positive
        clauses = [_Clause(i, await self._alternatives(i)) for i in chosen]
        corrected: dict[str, str] = {}
        vocab = await self.corpus.vocabulary()
        for clause in clauses:
            clause.df = await self._df(clause.alternatives)
            if clause.df or clause.item.prefix or len(clause.item.words) > 1:
                continue
            for fix in vocab.corrections(clause.item.words[0]):
                alt = await self._alternatives(replace(clause.item, words=(fix,)))
                df = await self._df(alt)
                if df:
                    clause.alternatives, clause.df = alt, df
                    corrected[clause.item.originals[0]] = fix
                    break
        excluded = [await self._alternatives(i) for i in parsed.negative]
        return clauses, excluded, corrected

    # -- running it ---------------------------------------------------------------------------------

    async def search(self, text: str, limit: int = 5, offset: int = 0) -> SearchResult:
        limit = max(1, min(limit, 50))
        offset = max(0, offset)
        parsed = parse_query(text)
        empty = SearchResult(
            query=text[:MAX_QUERY_CHARS], hits=[], total=0, total_capped=False, offset=offset, limit=limit
        )
        if not parsed.items:
            return replace(empty, problem=Problem.EMPTY)
        if not parsed.positive:
            return replace(empty, problem=Problem.ONLY_EXCLUDED)
        clauses, excluded, corrected = await self._clauses(parsed)
        empty = replace(empty, corrected=corrected)
        query = TermQuery(required=tuple(c.alternatives for c in clauses), excluded=tuple(excluded))
        partial = False
        total = 0 if any(c.df == 0 for c in clauses) else await self.repo.count_matches(query, COUNT_CAP + 1)
        if total == 0:
            found = [c for c in clauses if c.df > 0]
            if len(clauses) < 2 or not found:
                return empty
            # Nothing has every word: show what has the most of them, flagged as partial. Words that nearly
            # every document has would only add noise (and slowness) to an OR, so they go first.
            rare = [c for c in found if c.df <= RANK_LIMIT] or found
            clauses = rare
            query = TermQuery(
                required=tuple(c.alternatives for c in rare), excluded=tuple(excluded), any_of=True
            )
            partial = True
            total = await self.repo.count_matches(query, COUNT_CAP + 1)
            if total == 0:
                return empty
        by_recency = min(c.df for c in clauses) > RANK_LIMIT if not partial else False
        found_docs = await self.repo.search_documents(
            query, limit=limit, offset=offset, by_recency=by_recency
        )
        highlight = self._highlight_terms(clauses)
        hits = [
            SearchHit(doc, score, make_snippet(doc.text, highlight, self.morph.token_term))
            for doc, score in found_docs
        ]
        return SearchResult(
            query=empty.query,
            hits=hits,
            total=min(total, COUNT_CAP),
            total_capped=total > COUNT_CAP,
            offset=offset,
            limit=limit,
            ordering=Ordering.RECENT if by_recency else Ordering.RELEVANCE,
            partial=partial,
            corrected=corrected,
        )

    @staticmethod
    def _highlight_terms(clauses: Sequence[_Clause]) -> _Highlight:
        terms: set[str] = set()
        prefixes: list[str] = []
        for c in clauses:
            for phrase in c.alternatives.phrases:
                if c.alternatives.prefix:
                    prefixes.append(phrase[0])
                else:
                    terms.update(phrase)
        return _Highlight(frozenset(terms), tuple(prefixes))


@dataclass(frozen=True)
class _Highlight:
    terms: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, word: str, term: str) -> bool:
        return term in self.terms or any(term.startswith(p) or word.startswith(p) for p in self.prefixes)

    @cached_property
    def candidates(self) -> re.Pattern[str]:
        """Words that start like a matched term (lemmas and stems keep the first letters): only these are
        worth a morphology lookup, and a regex finds them without walking every word in Python."""
        heads = sorted({t[:2] for t in (*self.terms, *self.prefixes) if t})
        if not heads:
            return re.compile(r"(?!)")
        alternatives = "|".join("".join("[её]" if ch == "е" else re.escape(ch) for ch in h) for h in heads)
        return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*", re.IGNORECASE)


def make_snippet(
    text: str,
    highlight: _Highlight,
    term_of: Callable[[str, bool], str],
    max_chars: int = SNIPPET_CHARS,
) -> str:
    """A piece of the original text around the densest cluster of matches, escaped, matches in <b>."""
    hits: list[tuple[int, int, str]] = []
    for m in highlight.candidates.finditer(text):
        word = m.group()
        folded = fold(word)
        if highlight.matches(folded, term_of(folded, word[0].isupper() and not word.isupper())):
            hits.append((m.start(), m.end(), folded))
    start = 0
    if hits:
        # The stretch of text, starting at a match, holding the most distinct matched words.
        best, best_score = 0, 0
        span = max_chars * 4 // 5
        for i, (s0, _, _) in enumerate(hits):
            score = len({w for s1, _, w in hits[i:] if s1 - s0 < span})
            if score > best_score:
                best, best_score = i, score
        start = max(0, hits[best][0] - 40)
        # Near the end of the text, start earlier so that the snippet is not needlessly short.
        start = min(start, max(0, len(text) - max_chars))
        if start > 0:
            # Begin at a word: never inside one.
            space = text.find(" ", start, hits[best][0] + 1)
            start = space + 1 if space >= 0 else hits[best][0]
    end = min(len(text), start + max_chars)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    parts: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s0, e0, _ in hits:
        if s0 < start or e0 > end:
            continue
        parts.append(html.escape(text[pos:s0]))
        parts.append(f"<b>{html.escape(text[s0:e0])}</b>")
        pos = e0
    parts.append(html.escape(text[pos:end]))
    if end < len(text):
        parts.append("…")
    return " ".join("".join(parts).split("\n")).strip()


SIMILAR_LIMIT = 30


async def similar_documents(service: SearchService, doc: Document) -> list[Document]:
    """The same story first (other outlets' reports), then documents sharing the most telling terms."""
    story = [d for d in await service.repo.story_members(doc.story_id or doc.id) if d.id != doc.id]
    fp = await service.repo.fingerprint(doc.id)
    terms = [t for t, _ in sorted(fp.items(), key=lambda kv: -kv[1]) if t.isalnum() and not t.isdigit()][:8]
    found: list[Document] = []
    if terms:
        query = TermQuery(required=tuple(Alternatives(phrases=((t,),)) for t in terms), any_of=True)
        seen = {doc.id, *(d.id for d in story)}
        ranked = await service.repo.search_documents(query, limit=SIMILAR_LIMIT)
        found = [d for d, _ in ranked if d.id not in seen]
    return (story + found)[:SIMILAR_LIMIT]


async def topic_matches(service: SearchService, topic: str, ids: Sequence[int]) -> set[int]:
    """Which of `ids` a subscriber's topic filter lets through.

    The filter is written like a search (same morphology, "phrases", prefix*, -exclusions) but its words
    are alternatives: a digest on «криптовалюта блокчейн» wants texts about either. An empty filter, or one
    made only of exclusions, starts from every document.
    """
    if not ids:
        return set()
    parsed = parse_query(topic)
    positive = [i for i in parsed.positive if len(i.words) > 1 or i.prefix or i.words[0] not in STOPWORDS]
    positive = positive or parsed.positive
    allowed = set(ids)
    if positive:
        alternatives = tuple([await service._alternatives(i) for i in positive])
        allowed = await matching_among(service.repo, TermQuery(required=alternatives, any_of=True), ids)
    if parsed.negative and allowed:
        excluded = tuple([await service._alternatives(i) for i in parsed.negative])
        allowed -= await matching_among(
            service.repo, TermQuery(required=excluded, any_of=True), sorted(allowed)
        )
    return allowed
