"""Words and their index terms.

Every token of a document is indexed as one *term*: for Russian words the dictionary knows, the lemma
(pymorphy3), so that irregular forms meet (люди/человек); for names and unknown words a Snowball stem, which
also folds their case endings (Сарсембаева/Сарсембаеву); for Kazakh words a light suffix stripper; for Latin
script the English Snowball stemmer. Queries expand a word to the terms of all of its readings (стали →
стать | сталь), so the ambiguity that indexing resolves one way is not lost at search time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import pymorphy3
import Stemmer

# A token: a run of letters and digits. Public for callers that tokenise in bulk (`findall` is one C pass).
TOKEN_RE = _TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC_RE = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")
# Russian surnames and their case forms: Токаев/Токаева/Токаевым, Путин/Путина. Snowball cuts these
# inconsistently (токаев → тока, токаева → токаев), so names keep their base.
_SURNAME_RE = re.compile(r"^([а-я]{2,}(?:ов|ев|ин|ын))(?:а|у|ым|ом|е|ой|ою|ых|ыми|ы)?$")
_NAME_TAGS = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad"})

# Longest first: the stripper removes the longest suffix that leaves a stem of at least three letters.
_KAZAKH_SUFFIXES = tuple(
    sorted(
        {
            "лары",
            "лері",
            "дары",
            "дері",
            "тары",
            "тері",
            "ларды",
            "лерді",
            "дарды",
            "дерді",
            "тарды",
            "терді",
            "ларға",
            "лерге",
            "дарға",
            "дерге",
            "тарға",
            "терге",
            "ларда",
            "лерде",
            "дарда",
            "дерде",
            "тарда",
            "терде",
            "лардан",
            "лерден",
            "дардан",
            "дерден",
            "тардан",
            "терден",
            "лардың",
            "лердің",
            "дардың",
            "дердің",
            "тардың",
            "тердің",
            "лар",
            "лер",
            "дар",
            "дер",
            "тар",
            "тер",
            "ның",
            "нің",
            "дың",
            "дің",
            "тың",
            "тің",
            "ды",
            "ді",
            "ты",
            "ті",
            "ны",
            "ні",
            "ға",
            "ге",
            "қа",
            "ке",
            "на",
            "не",
            "да",
            "де",
            "та",
            "те",
            "нда",
            "нде",
            "дан",
            "ден",
            "тан",
            "тен",
            "нан",
            "нен",
            "мен",
            "бен",
            "пен",
            "сы",
            "сі",
            "ы",
            "і",
            "ындағы",
            "індегі",
            "дағы",
            "дегі",
            "тағы",
            "тегі",
            "ған",
            "ген",
            "қан",
            "кен",
            "уы",
            "уі",
            "сын",
            "сін",
            "ын",
            "ін",
            "ымен",
            "імен",
            "ында",
            "інде",
            "ынан",
            "інен",
            "ына",
            "іне",
        },
        key=len,
        reverse=True,
    )
)


class Morphology:
    """Turns words into index terms. One instance per process: the dictionary takes ~15 MB."""

    def __init__(self, cache_size: int = 500_000) -> None:
        self._morph = pymorphy3.MorphAnalyzer(lang="ru")
        self._ru = Stemmer.Stemmer("russian")
        self._en = Stemmer.Stemmer("english")
        self.term = lru_cache(maxsize=cache_size)(self._term)
        self.name_term = lru_cache(maxsize=cache_size)(self._name_term)
        self.query_terms = lru_cache(maxsize=50_000)(self._query_terms)

    def token_term(self, word: str, capitalized: bool) -> str:
        return self.name_term(word) if capitalized else self.term(word)

    def _name_term(self, word: str) -> str:
        """A capitalized token: a proper name keeps its base (Токаев is not the plural of токай)."""
        m = _SURNAME_RE.match(word)
        if m:
            return m.group(1)
        if _CYRILLIC_RE.search(word) and not _KAZAKH_LETTERS.intersection(word):
            for parse in self._morph.parse(word):
                if _NAME_TAGS.intersection(parse.tag.grammemes):
                    return _fold(parse.normal_form)
        return self.term(word)

    def _term(self, word: str) -> str:
        """The one index term of a lower-cased, ё-folded token."""
        if word.isdigit():
            return word
        if _CYRILLIC_RE.search(word):
            if _KAZAKH_LETTERS.intersection(word):
                return kazakh_stem(word)
            if self._morph.word_is_known(word):
                return _fold(self._morph.parse(word)[0].normal_form)
            return str(self._ru.stemWord(word))
        if _LATIN_RE.search(word):
            return str(self._en.stemWord(word))
        return word

    def _query_terms(self, word: str) -> frozenset[str]:
        """Every term the word may have been indexed as (one per dictionary reading)."""
        word = fold(word)
        main = self.term(word)
        name = self.name_term(word)
        if not _CYRILLIC_RE.search(word) or _KAZAKH_LETTERS.intersection(word) or word.isdigit():
            return frozenset({main, name})
        if not self._morph.word_is_known(word):
            return frozenset({main, name})
        parses = self._morph.parse(word)
        best = parses[0].score or 1.0
        # Readings far less likely than the best one only add noise (e.g. rare proper-noun readings).
        terms = {_fold(p.normal_form) for p in parses if (p.score or 0) >= best * 0.05}
        terms.update((main, name))
        return frozenset(terms)

    def is_verb(self, word: str) -> bool:
        """A Russian verb form (живут, примут): what a question asks about rather than what it names."""
        if not _CYRILLIC_RE.search(word) or _KAZAKH_LETTERS.intersection(word):
            return False
        tag = self._morph.parse(fold(word))[0].tag
        return tag.POS in {"VERB", "INFN"}

    def terms_of(self, text: str) -> list[str]:
        return [self.token_term(tok, cap) for _, _, tok, cap in iter_tokens(text)]

    def index_text(self, text: str) -> str:
        """The text as a space-separated sequence of terms, one per token (positions preserved)."""
        return " ".join(self.terms_of(text))


def _fold(word: str) -> str:
    return word.replace("ё", "е")


def fold(word: str) -> str:
    """Lower-case and ё→е: the form every comparison uses."""
    return word.lower().replace("ё", "е")


def iter_tokens(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, folded word, capitalized) for every word; offsets point into the original string.

    `capitalized` is true for Title-case words (a possible proper name), not for ALL-CAPS acronyms.
    """
    for m in _TOKEN_RE.finditer(text):
        word = m.group()
        low = word.lower()
        yield (
            m.start(),
            m.end(),
            low.replace("ё", "е") if "ё" in low else low,
            word[0].isupper() and word != low.upper(),
        )


def kazakh_stem(word: str) -> str:
    # Agglutinative: strip up to three suffix layers (plural, possessive, case), keeping 3+ letters.
    for _ in range(3):
        for suffix in _KAZAKH_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word
