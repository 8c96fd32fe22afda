"""Snippets: a piece of a found text around its densest cluster of matched words, the words in <b>."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from bot.text.morph import fold

SNIPPET_CHARS = 240
_WORD_REST = re.compile(r"[^\W_]*")


@dataclass(frozen=True)
class Highlight:
    terms: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, word: str, term: str) -> bool:
        return term in self.terms or any(term.startswith(p) or word.startswith(p) for p in self.prefixes)

    @cached_property
    def heads(self) -> tuple[str, ...]:
        return tuple(sorted({t[:2] for t in (*self.terms, *self.prefixes) if t}))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of the words that start like a matched term, in order. `str.find` of each head in the
        folded text skips most of it at C speed; the regex walks every position, five times slower."""
        folded = text.lower().replace("ё", "е")
        if len(folded) != len(text):  # a letter whose lower case is longer: positions would not match
            return [(m.start(), m.end()) for m in self.candidates.finditer(text)]
        found: dict[int, int] = {}
        find, rest = folded.find, _WORD_REST.match
        for head in self.heads:
            pos = find(head)
            while pos >= 0:
                if pos == 0 or not folded[pos - 1].isalnum():
                    match = rest(folded, pos)
                    found[pos] = match.end() if match else pos + len(head)
                pos = find(head, pos + 1)
        return sorted(found.items())

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
    highlight: Highlight,
    term_of: Callable[[str, bool], str],
    max_chars: int = SNIPPET_CHARS,
) -> str:
    """A piece of the original text around the densest cluster of matches, escaped, matches in <b>."""
    hits: list[tuple[int, int, str]] = []
    for s0, e0 in highlight.spans(text):
        word = text[s0:e0]
        folded = fold(word)
        if highlight.matches(folded, term_of(folded, word[0].isupper() and not word.isupper())):
            hits.append((s0, e0, folded))
    start = 0
    if hits:
        # The stretch of text, starting at a match, holding the most distinct matched words.
        best, best_score = 0, 0
        span = max_chars * 4 // 5
        end = 0
        for i, (s0, _, _) in enumerate(hits):
            end = max(end, i)
            while end < len(hits) and hits[end][0] - s0 < span:
                end += 1
            score = len({w for _, _, w in hits[i:end]})
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
