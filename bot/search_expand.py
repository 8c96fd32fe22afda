"""What a query word may be written as in a text: the domain lexicon's variants (abbreviations, compounds,
other languages), resolved to index terms; which words of a question carry no meaning; which language a
query is in.

Pure functions of the query and the corpus's term frequencies: no database, no user text as syntax (a
variant is a tuple of index terms; the backend quotes every term).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence

from bot.text import lexicon
from storage.models import Alternatives

MAX_LEXICON_PHRASES = 48  # per query word: a concept has ~10 spellings, a stem a few endings
MAX_STEM_TERMS = 6  # index terms a stem stands for («генеральн» → генеральный, генеральная…)

# Words that only make a question («сколько жителей в Алатау сейчас»): never required, never ranked on.
_QUESTION_WORDS = """
    как какой какая какое какие каких каким какую каков сколько почему зачем когда где кто что чем чему
    куда откуда ли сейчас теперь ныне будет будут будем было можно нужно надо ли разве неужели
    how what why when where who whom which many much does do did will would is are can could now
    қанша қашан неге кім не қандай қайда қалай ма ме ба бе па пе ше қазір
"""
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())

# A text in another language than the reader's, with the same words, ranks as if this much less relevant.
OTHER_LANGUAGE = 0.8
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_LATIN_RE = re.compile(r"[a-z]")
_CYRILLIC_RE = re.compile(r"[а-яё]")


def query_language(words: Sequence[str], interface: str | None) -> str:
    """The language a reader reads: a Kazakh letter or a Latin-only query says it; a Russian-looking
    query is in the reader's interface language when that is Kazakh (Kazakh shares those letters)."""
    text = "".join(words)
    if _KAZAKH_LETTERS.intersection(text):
        return "kk"
    if _LATIN_RE.search(text) and not _CYRILLIC_RE.search(text):
        return "en"
    return interface if interface in {"ru", "kk"} else "ru"


class TermIndex:
    """The corpus's index terms in order, so that a lexicon stem finds the terms it starts."""

    def __init__(self, df: Mapping[str, int]) -> None:
        self._df = df
        self._size = -1
        self._sorted: list[str] = []

    def _terms(self) -> list[str]:
        if len(self._df) != self._size:
            self._sorted = sorted(self._df)
            self._size = len(self._df)
        return self._sorted

    @property
    def size(self) -> int:
        return len(self._df)

    @property
    def frequencies(self) -> Mapping[str, int]:
        return self._df

    def has(self, term: str) -> bool:
        return self._df.get(term, 0) > 0

    def prefixed(self, prefix: str, cap: int) -> list[str] | None:
        """Every term that starts with `prefix`, or None when there are more than `cap` of them."""
        terms = self._terms()
        i = bisect.bisect_left(terms, prefix)
        found: list[str] = []
        while i < len(terms) and terms[i].startswith(prefix):
            if self._df.get(terms[i], 0) > 0:
                if len(found) == cap:
                    return None
                found.append(terms[i])
            i += 1
        return found

    def starting(self, stem: str) -> list[str]:
        terms = self._terms()
        found: list[str] = []
        i = bisect.bisect_left(terms, stem)
        while i < len(terms) and terms[i].startswith(stem):
            if len(terms[i]) - len(stem) <= lexicon.MAX_ENDING:
                found.append(terms[i])
            i += 1
        found.sort(key=lambda t: -self._df.get(t, 0))
        return found[:MAX_STEM_TERMS]


def _token_terms(token: str, index: TermIndex, term_of: Callable[[str], str]) -> list[str]:
    """Index terms one lexicon token stands for: a stem («генеральн*») the terms it starts, and the term
    of the stem itself (a Kazakh pattern «қаласы*» is indexed as «қала»)."""
    if token.endswith("*"):
        stem = token[:-1]
        out = index.starting(stem)
        own = term_of(stem)
        if own != stem and own not in out and index.has(own):
            out.append(own)
        return out
    term = term_of(token)
    return [t for t in dict.fromkeys((term, token)) if index.has(t)]


def concept_phrases(
    concepts: Sequence[str], index: TermIndex, term_of: Callable[[str], str]
) -> set[tuple[str, ...]]:
    """Every phrase of index terms, present in the corpus, that writes one of the concepts."""
    phrases: set[tuple[str, ...]] = set()
    for concept in concepts:
        for pattern in lexicon.CONCEPTS.get(concept, ()):
            tokens = pattern.replace("-", " ").replace("ё", "е").lower().split()
            options = [_token_terms(t, index, term_of) for t in tokens]
            if not all(options):
                continue
            phrases.update(itertools.islice(itertools.product(*options), 8))
            if len(phrases) >= MAX_LEXICON_PHRASES:
                break
    return without_redundant(phrases)


def without_redundant(phrases: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """A phrase holding a term that matches on its own adds nothing to what matches, and counting the
    same words twice would rank texts that spell a name in full above those that do not
    («kassym jomart tokayev» beside «tokayev»)."""
    single = {p[0] for p in phrases if len(p) == 1}
    return {p for p in phrases if len(p) == 1 or not single.intersection(p)}


def concept_spans(words: Sequence[str], term_of: Callable[[str], str]) -> list[tuple[int, int, str]]:
    """(start, end, concept) of the lexicon's phrases among the query's words (each a single word)."""
    return lexicon.find(list(words), [term_of(w) for w in words])


def has_clause(alt: Alternatives, indexed: str) -> bool:
    """Whether a text's indexed terms (space-separated, in order) hold one of a query word's alternatives:
    what the index would answer, read from the few candidate texts at once."""
    padded = f" {indexed} "
    for phrase in alt.phrases:
        if alt.prefix:
            if f" {phrase[0]}" in padded:
                return True
        elif f" {' '.join(phrase)} " in padded:
            return True
    return False


def language_fair(ranked: list[tuple[int, float, str]], lang: str) -> list[tuple[int, float]]:
    """BM25 relative to the best text of the same language, a text in another language then a little less.

    The lexicon's English or Kazakh spelling of a word is rarer in a mostly Russian corpus, so BM25 gives it
    a higher IDF: unscaled, «Токаев» would list the English reports first.
    """
    best: dict[str, float] = {}
    for _, s, doc_lang in ranked:
        best[doc_lang] = max(best.get(doc_lang, 0.0), s)
    return [
        (
            i,
            (s / best[doc_lang] if best[doc_lang] > 0 else 0.0)
            * (1.0 if doc_lang == lang else OTHER_LANGUAGE),
        )
        for i, s, doc_lang in ranked
    ]
