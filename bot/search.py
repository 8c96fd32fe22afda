"""Search: ranked retrieval over morphology-aware terms, with typo and script tolerance and the domain lexicon.

Texts with every meaningful word come first; texts with most of them follow, each flagged partial, down to a
relevance floor. A word means what the lexicon says it may be written as (генплан = генеральный план = бас
жоспар = master plan), so a Russian query also finds the Kazakh and English reports, ranked after texts in
the reader's language of equal relevance. Words that only make a question are not required. A word that no
text has is named rather than ignored. The query language is in `bot.query`.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
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
from bot.search_expand import (
    QUESTION_WORDS,
    TermIndex,
    concept_phrases,
    concept_spans,
    has_clause,
    language_fair,
    query_language,
)
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
# Ranking work is bounded: at most this many matches, the newest, are ranked (and counted: "500+"). Below it
# the ranking is exact; above it, of two equally good texts the newer one wins anyway in a news bot.
RANK_WINDOW = 500
# A prefix stands for the corpus's terms that start with it, looked up in memory (FTS5's own prefix query
# merges every such term's postings before the first match); a prefix of more terms is left to the index.
MAX_PREFIX_TERMS = 32
SEARCH_CACHE = 256  # results of recent queries kept until the corpus changes
# Another process (a second web worker without Redis, the CLI's ingest) may change the corpus without telling
# this one: a remembered result is checked against its texts as stored when it was last checked this long
# ago (one read a second for a popular query, not one per search: a text hidden or edited elsewhere leaves
# it within this delay), and is forgotten after SEARCH_CACHE_SECONDS so that texts added there are found too.
SEARCH_CACHE_CHECK_SECONDS = 1.0
SEARCH_CACHE_SECONDS = 60.0
CANDIDATES = 100  # texts with every word that are ranked against each other (in the reader's language first)
PARTIAL_CANDIDATES = 50  # texts with a distinctive word ranked for the partial matches after them
# A partial match has at least half of the query's words, and at least one that is not in most texts:
# «метро в Алатау» with no «метро» anywhere lists nothing rather than every text with «Алатау».
PARTIAL_FLOOR = 0.5
DISTINCTIVE_SHARE = 0.3


@dataclass
class _Clause:
    items: tuple[QueryItem, ...]  # one query word, or several that the lexicon reads as one phrase
    alternatives: Alternatives
    df: int = 0

    @property
    def phrased(self) -> bool:
        return any(len(p) > 1 for p in self.alternatives.phrases)

    @property
    def common(self) -> bool:
        """In so many texts that ranking its matches is slow and says nothing. A phrase's frequency is only
        its rarest word's, far above its own: «новый проект» is not common for being made of common words."""
        return self.df > RANK_LIMIT and not self.phrased

    @property
    def typed(self) -> str:
        return " ".join(o for i in self.items for o in i.originals)


def _meaningful(item: QueryItem) -> bool:
    if len(item.words) > 1 or item.prefix:
        return True
    return item.words[0] not in STOPWORDS and item.words[0] not in QUESTION_WORDS


@dataclass(slots=True)
class _Cached:
    result: SearchResult
    stored_at: float
    checked_at: float  # when its texts were last read back and found as they are in it


class SearchService:
    def __init__(
        self, corpus: Corpus, cache_size: int = SEARCH_CACHE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.corpus = corpus
        self.repo = corpus.repo
        self.morph = corpus.morph
        self._terms: TermIndex | None = None
        self._concept_cache: dict[tuple[tuple[str, ...], int], set[tuple[str, ...]]] = {}
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int, int, str | None], _Cached] = OrderedDict()
        self._cache_generation = corpus.generation
        self._clock = clock

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

    async def _alternatives(self, item: QueryItem, stored: bool = True) -> Alternatives:
        """What a query word may be written as. For the stored texts (`stored`) only the spellings that some
        text has: a text not stored yet may have any of them."""
        if item.prefix:
            terms = (await self._term_index()).prefixed(item.words[0], MAX_PREFIX_TERMS) if stored else None
            if terms:
                return Alternatives(phrases=tuple((t,) for t in terms))
            return Alternatives(phrases=((item.words[0],),), prefix=True)
        present = self._present if stored else _unchanged
        options = [
            await present(sorted(await self._word_terms(w, c)))
            for w, c in zip(item.words, item.capitalized, strict=True)
        ]
        if len(options) == 1:
            return Alternatives(phrases=tuple((t,) for t in options[0]))
        # Only spellings that some text has: a phrase of the others could match nothing, yet each would cost
        # the index a pass over its words' positions.
        variants = list(itertools.islice(itertools.product(*options), MAX_PHRASE_VARIANTS))
        if not item.quoted:
            # аэро-такси is also written аэротакси.
            joined = await present(sorted(await self._word_terms("".join(item.words), False)))
            variants.extend((t,) for t in joined)
        return Alternatives(phrases=tuple(variants))

    async def _present(self, terms: list[str]) -> list[str]:
        """The terms that some indexed text holds (all of them when none is: the word is then missing)."""
        stats = await self.corpus.stats()
        # A term the index would split (not a single token) is not in its frequencies: kept as it is.
        present = [t for t in terms if stats.get(t) > 0 or not t.isalnum()]
        return present or terms

    async def _term_index(self) -> TermIndex:
        stats = await self.corpus.stats()
        if self._terms is None or self._terms.frequencies is not stats.df:
            self._terms = TermIndex(stats.df)
        return self._terms

    async def _expanded(self, alt: Alternatives, concepts: Sequence[str]) -> Alternatives:
        if not concepts:
            return alt
        index = await self._term_index()
        # A concept's spellings change only when the corpus gains terms: resolved once per vocabulary size.
        key = (tuple(concepts), index.size)
        extra = self._concept_cache.get(key)
        if extra is None:
            if len(self._concept_cache) >= 4096:
                self._concept_cache.clear()
            extra = self._concept_cache[key] = concept_phrases(concepts, index, self.morph.term)
        phrases = tuple(dict.fromkeys((*alt.phrases, *sorted(extra))))
        return Alternatives(phrases=phrases)

    async def _clauses_of(self, items: Sequence[QueryItem], stored: bool = True) -> list[_Clause]:
        """One clause per query word; words the lexicon reads as one phrase («генеральный план») make one
        clause; every clause also matches the lexicon's other spellings of its concept."""
        clauses: list[_Clause] = []
        run: list[QueryItem] = []

        async def flush() -> None:
            words = [i.words[0] for i in run]
            spans = {s: (e, c) for s, e, c in concept_spans(words, self.morph.term)}
            n = 0
            while n < len(run):
                end, concept = spans.get(n, (n + 1, ""))
                if end - n > 1:
                    merged = QueryItem(
                        words=tuple(w for i in run[n:end] for w in i.words),
                        originals=tuple(o for i in run[n:end] for o in i.originals),
                        capitalized=tuple(c for i in run[n:end] for c in i.capitalized),
                    )
                    alt = await self._expanded(await self._alternatives(merged, stored), [concept])
                    clauses.append(_Clause(tuple(run[n:end]), alt))
                else:
                    item = run[n]
                    concepts = [concept] if concept else []
                    alt = await self._expanded(await self._alternatives(item, stored), concepts)
                    clauses.append(_Clause((item,), alt))
                n = end
            run.clear()

        for item in items:
            if len(item.words) == 1 and not item.prefix:
                run.append(item)
                continue
            await flush()
            alt = await self._alternatives(item, stored)
            if not item.quoted and not item.prefix:
                # Only a concept that the whole of «аэро-такси» writes: «город-призрак» is no city.
                whole = [
                    c
                    for s, e, c in concept_spans(item.words, self.morph.term)
                    if (s, e) == (0, len(item.words))
                ]
                alt = await self._expanded(alt, whole)
            clauses.append(_Clause((item,), alt))
        await flush()
        return clauses

    async def _df(self, alt: Alternatives) -> int:
        stats = await self.corpus.stats()
        if alt.prefix:
            return await self.repo.prefix_freq(alt.phrases[0][0])
        # A phrase is at most as common as its rarest word; alternatives add up (an upper bound).
        return sum(min(stats.get(t) for t in phrase) for phrase in alt.phrases)

    def _chosen(self, parsed: ParsedQuery, question: bool) -> tuple[list[QueryItem], list[QueryItem]]:
        """The words a text must have, and those that only rank it higher. In a question the verb is how the
        reader asks, not what the outlets wrote («как живут жители» — residents, however they live), yet a
        text that has it too comes first («окупятся ли СЭЗ»)."""
        positive = parsed.positive
        meaningful = [i for i in positive if _meaningful(i)]
        optional: list[QueryItem] = []
        if question or any(len(i.words) == 1 and i.words[0] in QUESTION_WORDS for i in positive):
            verbs = [
                i for i in meaningful if len(i.words) == 1 and not i.prefix and self.morph.is_verb(i.words[0])
            ]
            if len(verbs) < len(meaningful):
                meaningful = [i for i in meaningful if i not in verbs]
                optional = verbs
        # A query made only of stop words is still searched for them rather than refused.
        return meaningful or positive, optional

    async def _clauses(
        self, parsed: ParsedQuery, question: bool = False
    ) -> tuple[list[_Clause], list[_Clause], list[Alternatives], dict[str, str]]:
        chosen, optional_items = self._chosen(parsed, question)
        clauses = await self._clauses_of(chosen)
        optional = await self._clauses_of(optional_items)
        for clause in optional:
            clause.df = await self._df(clause.alternatives)
        corrected: dict[str, str] = {}
        vocab = await self.corpus.vocabulary()
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
        excluded = [await self._alternatives(i) for i in parsed.negative]
        return clauses, [c for c in optional if c.df], excluded, corrected

    async def word_alternatives(self, items: Sequence[QueryItem]) -> list[Alternatives]:
        """What each query word (or lexicon phrase) may be written as, as a search reads it: for testing a
        text that is not stored yet against a query (a source's filter)."""
        return [c.alternatives for c in await self._clauses_of(items, stored=False)]

    # -- running it ---------------------------------------------------------------------------------

    async def search(
        self, text: str, limit: int = 5, offset: int = 0, language: str | None = None
    ) -> SearchResult:
        """A page of results; `language` is the reader's interface language (ranks their texts first).

        Recent results are reused while the corpus stays as it was: every write that can change a result
        (a new, hidden, shown, deleted, restored or edited text) moves the corpus's generation, which empties
        the cache; so does the news of such a write in another process (bot/app/redis_app.py), and what no one
        told of is caught by `_still_true`. A result computed while a write was under way is not kept (the
        generation moved)."""
        limit = max(1, min(limit, 50))
        offset = max(0, offset)
        generation = self.corpus.generation
        if generation != self._cache_generation:
            self._cache.clear()
            self._cache_generation = generation
        key = (text, limit, offset, language)
        cached = self._cache.pop(key, None)
        if cached is not None and await self._still_true(cached):
            if self.corpus.generation == generation:
                self._cache[key] = cached
            return cached.result
        result = await self._search(text, limit, offset, language)
        if self._cache_size and len(text) <= MAX_QUERY_CHARS and self.corpus.generation == generation:
            now = self._clock()
            self._cache[key] = _Cached(result, now, now)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    async def _still_true(self, cached: _Cached) -> bool:
        """Whether a remembered result may be shown: young enough, and every text in it still stored as it
        was when last read back, at most SEARCH_CACHE_CHECK_SECONDS ago (not deleted, hidden or edited by a
        process that did not tell this one)."""
        now = self._clock()
        if now - cached.stored_at > SEARCH_CACHE_SECONDS:
            return False
        if now - cached.checked_at < SEARCH_CACHE_CHECK_SECONDS:
            return True
        shown = [h.document for h in cached.result.hits]
        if shown and await self.repo.get_many([d.id for d in shown]) != shown:
            return False
        cached.checked_at = now
        return True

    async def _search(self, text: str, limit: int, offset: int, language: str | None) -> SearchResult:
        parsed = parse_query(text)
        empty = SearchResult(
            query=text[:MAX_QUERY_CHARS], hits=[], total=0, total_capped=False, offset=offset, limit=limit
        )
        if not parsed.items:
            return replace(empty, problem=Problem.EMPTY)
        if not parsed.positive:
            return replace(empty, problem=Problem.ONLY_EXCLUDED)
        clauses, optional, excluded, corrected = await self._clauses(parsed, "?" in text)
        missing = tuple(c.typed for c in clauses if c.df == 0)
        empty = replace(empty, corrected=corrected, missing=missing)
        found = [c for c in clauses if c.df > 0]
        if not found:
            return empty
        lang = query_language([w for c in clauses for i in c.items for w in i.words], language)
        if len(clauses) == 1 and (broad := await self._broad(clauses[0], excluded)) is not None:
            return await self._newest(empty, clauses[0], excluded, broad)
        # The next page is read too: whether there is one depends on the partial matches after the full ones.
        ranked, total, capped = await self._ranked(clauses, optional, excluded, lang, offset + 2 * limit)
        if not ranked:
            return empty
        page = ranked[offset : offset + limit]
        docs = await self.repo.get_many([doc_id for doc_id, _, _ in page])
        highlight = _highlight_terms([*found, *optional])
        hits = [
            SearchHit(doc, score, make_snippet(doc.text, highlight, self.morph.token_term), partial)
            for doc, (_, score, partial) in zip(docs, page, strict=False)
        ]
        return replace(
            empty,
            hits=hits,
            total=min(total, COUNT_CAP),
            total_capped=capped or total > COUNT_CAP,
            partial=any(p for _, _, p in ranked),
            ordering=Ordering.RECENT if all(c.common for c in found) else Ordering.RELEVANCE,
        )

    async def _broad(self, clause: _Clause, excluded: list[Alternatives]) -> int | None:
        """How many texts have a word that most texts have (ranking its matches is slow and says nothing);
        None for any other word."""
        query = TermQuery(required=(clause.alternatives,), excluded=tuple(excluded))
        stats = await self.corpus.stats()
        if clause.df <= RANK_LIMIT and clause.df < BROAD_SHARE * stats.n_docs:
            return None
        if clause.phrased:
            # Counting a phrase's matches costs a pass over its words' positions, and it is no broad query.
            return None
        # The frequency of a word with its variants is an upper bound: count the texts themselves.
        total = await self.repo.count_matches(query, COUNT_CAP + 1)
        return total if clause.df > RANK_LIMIT or total >= BROAD_SHARE * stats.n_docs else None

    async def _newest(
        self, empty: SearchResult, clause: _Clause, excluded: list[Alternatives], total: int
    ) -> SearchResult:
        query = TermQuery(required=(clause.alternatives,), excluded=tuple(excluded))
        found = await self.repo.search_documents(query, limit=empty.limit, offset=empty.offset, by_date=True)
        highlight = _highlight_terms([clause])
        hits = [SearchHit(d, s, make_snippet(d.text, highlight, self.morph.token_term)) for d, s in found]
        return replace(
            empty,
            hits=hits,
            total=min(total, COUNT_CAP),
            total_capped=total > COUNT_CAP,
            ordering=Ordering.RECENT,
        )

    async def _ranked(
        self,
        clauses: list[_Clause],
        optional: list[_Clause],
        excluded: list[Alternatives],
        lang: str,
        needed: int,
    ) -> tuple[list[tuple[int, float, bool]], int, bool]:
        """(id, score, partial) of texts with every word first, then those with most of them, enough for the
        first `needed`; the total, and whether it is only a lower bound."""
        found = [c for c in clauses if c.df > 0]
        common = all(c.common for c in found)
        out: list[tuple[int, float, bool]] = []
        total_full = 0
        capped = False
        if len(found) == len(clauses):
            full = TermQuery(required=tuple(c.alternatives for c in clauses), excluded=tuple(excluded))
            if common:
                # Every word is in most texts: newest first, as a one-word query of such a word.
                newest = await self.repo.ranked(
                    full, limit=needed, window=max(COUNT_CAP + 1, needed), by_recency=True
                )
                return [(i, s, False) for i, s, _ in newest.rows], newest.matched, newest.bounded
            limit = max(CANDIDATES, needed)
            # No more texts can match than have the rarest word: then every match fits in one ranking. The
            # window does not grow with the page: every page is cut from the same ranking.
            window = RANK_WINDOW if min(c.df for c in clauses) > limit else 0
            ranking = await self.repo.ranked(full, limit=limit, window=window)
            total_full, capped = ranking.matched, ranking.bounded
            out = [(i, s, False) for i, s in language_fair(ranking.rows, lang)]
            bonus: dict[int, int] = {}
            if optional:
                indexed = await self.repo.index_terms([i for i, _, _ in out])
                bonus = {i: sum(has_clause(c.alternatives, t) for c in optional) for i, t in indexed.items()}
            out.sort(key=lambda x: (-bonus.get(x[0], 0), -x[1]))
        if total_full >= needed or common or len(clauses) == 1:
            # The partial matches come after every full one, beyond the pages read now: ranking them would
            # be slow for nothing (the total counts them once a page near them is read). Of one clause (a
            # «phrase» alone), a partial match is a full one, and every full one is in `out` already.
            return out, total_full, capped
        partial = await self._partial(clauses, excluded, lang, {i for i, _, _ in out})
        return out + partial, total_full + len(partial), capped

    async def _partial(
        self, clauses: list[_Clause], excluded: list[Alternatives], lang: str, seen: set[int]
    ) -> list[tuple[int, float, bool]]:
        """Texts with at least half of the words, one of them distinctive; most words first, then BM25."""
        found = [c for c in clauses if c.df > 0]
        distinctive = [c for c in found if await self._distinctive(c)]
        if not distinctive:
            return []
        # Only a text with a distinctive word can qualify: the others need not be ranked at all.
        query = TermQuery(
            required=tuple(c.alternatives for c in distinctive), excluded=tuple(excluded), any_of=True
        )
        ranking = await self.repo.ranked(query, limit=PARTIAL_CANDIDATES, window=RANK_WINDOW)
        ranked = [r for r in ranking.rows if r[0] not in seen]
        if not ranked:
            return []
        ids = [r[0] for r in ranked]
        indexed = await self.repo.index_terms(ids)
        count = {i: sum(has_clause(c.alternatives, indexed.get(i, "")) for c in found) for i in ids}
        kept = [
            (i, s, count[i])
            for i, s in language_fair(ranked, lang)
            if count[i] >= PARTIAL_FLOOR * len(clauses)
        ]
        kept.sort(key=lambda x: (-x[2], -x[1]))
        return [(i, s, True) for i, s, _ in kept]

    async def _distinctive(self, clause: _Clause) -> bool:
        """Not in most texts: a text that has only such words is no match at all."""
        stats = await self.corpus.stats()
        limit = DISTINCTIVE_SHARE * stats.n_docs
        if clause.df <= limit:
            return True
        if len(clause.alternatives.phrases) == 1 or clause.df > RANK_LIMIT:
            return False
        # The frequency of a word with its variants is an upper bound: count the texts themselves.
        cap = int(limit) + 1
        return await self.repo.count_matches(TermQuery(required=(clause.alternatives,)), cap) < cap


async def _unchanged(terms: list[str]) -> list[str]:
    return terms


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
