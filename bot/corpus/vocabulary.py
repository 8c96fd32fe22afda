"""The corpus's surface words, for "did you mean" and for matching Latin and Cyrillic spellings of names."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.text.translit import is_cyrillic, is_latin, to_cyrillic, to_latin


def max_typos(word: str) -> int:
    return 1 if len(word) < 8 else 2


class Vocabulary:
    """Words with their document counts, bucketed by first letter (transliteration keeps the first letter)."""

    def __init__(self) -> None:
        self.freq: dict[str, int] = {}
        self._buckets: dict[str, list[str]] = defaultdict(list)
        self._all: list[str] | None = None
        self.loaded = False

    def load(self, rows: Iterable[tuple[str, int]]) -> None:
        self.freq = {}
        self._buckets = defaultdict(list)
        self._all = None
        self.add_counts(rows)
        self.loaded = True

    def add_counts(self, rows: Iterable[tuple[str, int]]) -> None:
        for word, n in rows:
            if word not in self.freq:
                self._buckets[word[0]].append(word)
                self._all = None
            self.freq[word] = self.freq.get(word, 0) + n

    def add(self, words: Iterable[str]) -> None:
        self.add_counts((w, 1) for w in words)

    def __contains__(self, word: str) -> bool:
        return word in self.freq

    def _closest(self, word: str, choices: list[str], limit: int) -> list[str]:
        found = process.extract(
            word, choices, scorer=Levenshtein.distance, score_cutoff=max_typos(word), limit=limit * 4
        )
        # Nearest first, then the more common word: "Токаев" beats a one-off misprint of it.
        found.sort(key=lambda m: (m[1], -self.freq.get(m[0], 0)))
        return [m[0] for m in found[:limit]]

    def corrections(self, word: str, limit: int = 3) -> list[str]:
        """Known words one or two edits away from an unknown one."""
        if len(word) < 4 or word in self.freq:
            return []
        if self._all is None:
            self._all = list(self.freq)
        return [w for w in self._closest(word, self._all, limit) if w != word]

    def other_script(self, word: str, limit: int = 2) -> list[str]:
        """Corpus words that spell the same name in the other script (Tokayev → токаев)."""
        if len(word) < 3:
            return []
        if is_latin(word):
            target = to_cyrillic(word)
        elif is_cyrillic(word):
            target = to_latin(word)
        else:
            return []
        bucket = self._buckets.get(target[0], [])
        if target in self.freq:
            return [target]
        return self._closest(target, bucket, limit) if bucket else []
