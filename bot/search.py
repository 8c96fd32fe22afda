"""Search: ranked retrieval over morphology-aware terms, with typo and script tolerance and the domain lexicon.

Texts with every meaningful word come first; texts with most of them follow, each flagged partial, down to a
relevance floor. A word means what the lexicon says it may be written as (генплан = генеральный план = бас
жоспар = master plan), so a Russian query also finds the Kazakh and English reports, ranked after texts in
the reader's language of equal relevance. Words that only make a question are not required. A word that no
text has is named rather than ignored. The query language is in `bot.query`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.corpus.ingest import Corpus
from bot.query import (
    MAX_PHRASE_VARIANTS,
    MAX_QUERY_CHARS,
    STOPWORDS,
    Ordering,
    ParsedQuery,
    Problem,
    QueryItem,
    SearchHit,
    SearchResult,
    parse_query,
)
from bot.search_expand import QUESTION_WORDS, TermIndex, concept_phrases, concept_spans, query_language
from bot.snippets import Highlight, make_snippet
from storage.models import Alternatives, Document, TermQuery

__all__ = [
    "Ordering",
    "Problem",
    "SearchHit",
    "SearchResult",
    "SearchService",
    "make_snippet",
    "parse_query",
    "similar_documents",
    "topic_matches",
]

# Ranking every match of a word that most documents contain is what makes plain FTS5 slow on a large
# corpus, and BM25 cannot rank such matches anyway (its IDF is clamped near zero). When even the rarest
# required word is this common, results come newest first instead.
RANK_LIMIT = 4000
# A one-word query that most texts match is a request for the news about it: newest first.
BROAD_SHARE = 0.5
COUNT_CAP = 1000
CANDIDATES = 100  # texts with some of the words that are ranked against each other
# A partial match must hold this share of the query's weight (each word weighs its IDF): «метро в Алатау»
# with no «метро» anywhere lists nothing rather than every text with «Алатау».
PARTIAL_FLOOR = 0.5
# A text in another language than the reader's, with the same words, ranks as if this much less relevant.
OTHER_LANGUAGE = 0.8


@dataclass
class _Clause:
    items: tuple[QueryItem, ...]  # one query word, or several that the lexicon reads as one phrase
    alternatives: Alternatives
    df: int = 0
    weight: float = 0.0

    @property
    def typed(self) -> str:
        return " ".join(o for i in self.items for o in i.originals)


def _meaningful(item: QueryItem) -> bool:
    if len(item.words) > 1 or item.prefix:
        return True
    return item.words[0] not in STOPWORDS and item.words[0] not in QUESTION_WORDS


class SearchService:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.repo = corpus.repo
        self.morph = corpus.morph
        self._terms: TermIndex | None = None

    # -- building the query -------------------------------------------------------------------------

    async def _word_terms(self, word: str, capitalized: bool) -> set[str]:
        terms = set(self.morph.query_terms(word))
        terms.add(self.morph.token_term(word, capitalized))
        vocab = await self.corpus.vocabulary()
        # A name in an oblique case meets its other-script spelling through its base: Токаева → tokayev.
        for form in dict.fromkeys((word, self.morph.name_term(word))):
            for other in vocab.other_script(form):
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
        if not item.quoted:
            # аэро-такси is also written аэротакси.
            variants.extend((t,) for t in sorted(await self._word_terms("".join(item.words), False)))
        return Alternatives(phrases=tuple(variants))

    async def _term_index(self) -> TermIndex:
        stats = await self.corpus.stats()
        if self._terms is None or self._terms._df is not stats.df:
            self._terms = TermIndex(stats.df)
        return self._terms

    async def _expanded(self, alt: Alternatives, concepts: Sequence[str]) -> Alternatives:
        if not concepts:
            return alt
        extra = concept_phrases(concepts, await self._term_index(), self.morph.term)
        phrases = tuple(dict.fromkeys((*alt.phrases, *sorted(extra))))
        return Alternatives(phrases=phrases)

    async def _clauses_of(self, items: Sequence[QueryItem]) -> list[_Clause]:
        """One clause per query word; words the lexicon reads as one phrase («генеральный план») make one
        clause; every clause also matches the lexicon's other spellings of its concept."""
        clauses: list[_Clause] = []
        run: list[QueryItem] = []

        async def flush() -> None:
            words = [i.words[0] for i in run]
            spans = {s: (e, c) for s, e, c in concept_spans(words)}
            n = 0
            while n < len(run):
                end, concept = spans.get(n, (n + 1, ""))
                if end - n > 1:
                    merged = QueryItem(
                        words=tuple(w for i in run[n:end] for w in i.words),
                        originals=tuple(o for i in run[n:end] for o in i.originals),
                        capitalized=tuple(c for i in run[n:end] for c in i.capitalized),
                    )
                    alt = await self._expanded(await self._alternatives(merged), [concept])
                    clauses.append(_Clause(tuple(run[n:end]), alt))
                else:
                    item = run[n]
                    alt = await self._expanded(await self._alternatives(item), [concept] if concept else [])
                    clauses.append(_Clause((item,), alt))
                n = end
            run.clear()

        for item in items:
            if len(item.words) == 1 and not item.prefix:
                run.append(item)
                continue
            await flush()
            alt = await self._alternatives(item)
            if not item.quoted and not item.prefix:
                found = [c for _, _, c in concept_spans(list(item.words))]
                alt = await self._expanded(alt, found)
            clauses.append(_Clause((item,), alt))
        await flush()
        return clauses

    async def _df(self, alt: Alternatives) -> int:
        stats = await self.corpus.stats()
        if alt.prefix:
            return await self.repo.prefix_freq(alt.phrases[0][0])
        # A phrase is at most as common as its rarest word; alternatives add up (an upper bound).
        return sum(min(stats.get(t) for t in phrase) for phrase in alt.phrases)

    async def _clauses(self, parsed: ParsedQuery) -> tuple[list[_Clause], list[Alternatives], dict[str, str]]:
        positive = parsed.positive
        # A query made only of stop words is still searched for them rather than refused.
        chosen = [i for i in positive if _meaningful(i)] or positive
        clauses = await self._clauses_of(chosen)
        corrected: dict[str, str] = {}
        vocab = await self.corpus.vocabulary()
        stats = await self.corpus.stats()
        n_docs = max(stats.n_docs, 1)
        for clause in clauses:
            clause.df = await self._df(clause.alternatives)
            item = clause.items[0]
            if not clause.df and len(clause.items) == 1 and not item.prefix and len(item.words) == 1:
                for fix in vocab.corrections(item.words[0]):
                    alt = await self._alternatives(replace(item, words=(fix,)))
                    df = await self._df(alt)
                    if df:
                        clause.alternatives, clause.df = alt, df
                        corrected[item.originals[0]] = fix
                        break
            df = min(clause.df, n_docs)
            clause.weight = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        excluded = [await self._alternatives(i) for i in parsed.negative]
        return clauses, excluded, corrected

    # -- running it ---------------------------------------------------------------------------------

    async def search(
        self, text: str, limit: int = 5, offset: int = 0, language: str | None = None
    ) -> SearchResult:
        """A page of results; `language` is the reader's interface language (ranks their texts first)."""
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
        missing = tuple(c.typed for c in clauses if c.df == 0)
        empty = replace(empty, corrected=corrected, missing=missing)
        found = [c for c in clauses if c.df > 0]
        if not found:
            return empty
        lang = query_language([w for c in clauses for i in c.items for w in i.words], language)
        if len(clauses) == 1:
            return await self._one_word(empty, clauses[0], excluded)
        ranked, total = await self._ranked(clauses, excluded, lang, offset + limit)
        if not ranked:
            return empty
        page = ranked[offset : offset + limit]
        highlight = _highlight_terms(found)
        hits = [
            SearchHit(doc, score, make_snippet(doc.text, highlight, self.morph.token_term), partial)
            for doc, score, partial in page
        ]
        return replace(
            empty,
            hits=hits,
            total=min(total, COUNT_CAP),
            total_capped=total > COUNT_CAP,
            partial=any(p for _, _, p in ranked),
        )

    async def _one_word(self, empty: SearchResult, clause: _Clause, excluded: list[Alternatives]) -> SearchResult:
        query = TermQuery(required=(clause.alternatives,), excluded=tuple(excluded))
        total = await self.repo.count_matches(query, COUNT_CAP + 1)
        if total == 0:
            return empty
        stats = await self.corpus.stats()
        broad = clause.df > RANK_LIMIT or clause.df >= BROAD_SHARE * stats.n_docs
        found = await self.repo.search_documents(
            query, limit=empty.limit, offset=empty.offset, by_date=broad
        )
        highlight = _highlight_terms([clause])
        hits = [SearchHit(d, s, make_snippet(d.text, highlight, self.morph.token_term)) for d, s in found]
        return replace(
            empty,
            hits=hits,
            total=min(total, COUNT_CAP),
            total_capped=total > COUNT_CAP,
            ordering=Ordering.RECENT if broad else Ordering.RELEVANCE,
        )

    async def _ranked(
        self, clauses: list[_Clause], excluded: list[Alternatives], lang: str, needed: int
    ) -> tuple[list[tuple[Document, float, bool]], int]:
        """Texts with every word first, then those with most of them; the total of both."""
        found = [c for c in clauses if c.df > 0]
        common = all(c.df > RANK_LIMIT for c in found)
        out: list[tuple[Document, float, bool]] = []
        total_full = 0
        if len(found) == len(clauses):
            full = TermQuery(required=tuple(c.alternatives for c in clauses), excluded=tuple(excluded))
            total_full = await self.repo.count_matches(full, COUNT_CAP + 1)
            if total_full:
                docs = await self.repo.search_documents(
                    full, limit=max(CANDIDATES, needed), by_date=common
                )
                out = [(d, s * (1.0 if d.lang == lang else OTHER_LANGUAGE), False) for d, s in docs]
                if not common:
                    out.sort(key=lambda x: -x[1])
        if total_full > CANDIDATES or common:
            # Texts with only some of the words would never be reached, and ranking them is slow.
            return out, total_full
        partial = await self._partial(clauses, excluded, lang, {d.id for d, _, _ in out})
        return out + partial, total_full + len(partial)

    async def _partial(
        self, clauses: list[_Clause], excluded: list[Alternatives], lang: str, seen: set[int]
    ) -> list[tuple[Document, float, bool]]:
        rare = [c for c in clauses if 0 < c.df <= RANK_LIMIT]
        if not rare:
            return []
        query = TermQuery(required=tuple(c.alternatives for c in rare), excluded=tuple(excluded), any_of=True)
        docs = [(d, s) for d, s in await self.repo.search_documents(query, limit=CANDIDATES) if d.id not in seen]
        if not docs:
            return []
        ids = [d.id for d, _ in docs]
        weight = {d.id: 0.0 for d, _ in docs}
        for c in clauses:
            if c.df == 0:
                continue
            for doc_id in await self.repo.matching_among(TermQuery(required=(c.alternatives,)), ids):
                weight[doc_id] += c.weight
        whole = sum(c.weight for c in clauses) or 1.0
        kept = [
            (d, s * (1.0 if d.lang == lang else OTHER_LANGUAGE), weight[d.id] / whole)
            for d, s in docs
            if weight[d.id] / whole >= PARTIAL_FLOOR
        ]
        # Most of the query's weight first; among equals, BM25.
        kept.sort(key=lambda x: (-round(x[2], 2), -x[1]))
        return [(d, s, True) for d, s, _ in kept]


def _highlight_terms(clauses: Sequence[_Clause]) -> Highlight:
    terms: set[str] = set()
    prefixes: list[str] = []
    for c in clauses:
        for phrase in c.alternatives.phrases:
            if c.alternatives.prefix:
                prefixes.append(phrase[0])
            else:
                terms.update(phrase)
    return Highlight(frozenset(terms), tuple(prefixes))


SIMILAR_LIMIT = 30
# A similar text must score at least this share of the best one's BM25 on the document's telling terms.
SIMILAR_FLOOR = 0.35


async def similar_documents(service: SearchService, doc: Document) -> list[Document]:
    """The same story first (other outlets' reports), then documents sharing the most telling terms, down to
    a relevance floor: a text that shares one common word with this one is not "similar"."""
    story = [d for d in await service.repo.story_members(doc.story_id or doc.id) if d.id != doc.id]
    fp = await service.repo.fingerprint(doc.id)
    terms = [t for t, _ in sorted(fp.items(), key=lambda kv: -kv[1]) if t.isalnum() and not t.isdigit()][:8]
    found: list[Document] = []
    if terms:
        query = TermQuery(required=tuple(Alternatives(phrases=((t,),)) for t in terms), any_of=True)
        seen = {doc.id, *(d.id for d in story)}
        ranked = await service.repo.search_documents(query, limit=SIMILAR_LIMIT + 1)
        # The document itself is the best match of its own terms: the floor is relative to it.
        best = max((s for _, s in ranked), default=0.0)
        found = [d for d, s in ranked if d.id not in seen and s >= SIMILAR_FLOOR * best]
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
        allowed = await service.repo.matching_among(TermQuery(required=alternatives, any_of=True), ids)
    if parsed.negative and allowed:
        excluded = tuple([await service._alternatives(i) for i in parsed.negative])
        allowed -= await service.repo.matching_among(
            TermQuery(required=excluded, any_of=True), sorted(allowed)
        )
    return allowed
