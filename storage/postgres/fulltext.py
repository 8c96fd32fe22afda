"""Full-text search on PostgreSQL with the results of SQLite's FTS5: the same tokens, the same BM25.

Our terms (lemmas and stems made by the domain's pipeline) are split exactly as FTS5's `unicode61`
tokenizer splits them (runs of letters, digits and private-use characters, lower-cased) and stored as a
`tsvector` literal, never through a text-search parser: no configuration can change them. Title positions
carry weight A and come first; body positions follow after a gap, so that no phrase spans the two.
A `TermQuery` compiles to a `tsquery` literal (phrases with <->, prefixes with :*, exclusions with !),
so no user text is ever syntax.

Ranking is FTS5's bm25(title 4.0, body 1.0), computed from the per-document weighted term frequencies
(`postings`), the document frequencies (`doc_terms`) and the totals (`index_totals`). A phrase of
several terms counts as often as its rarest term occurs in a matching document (FTS5 counts the
phrase's instances; positions would be needed for that, and phrases are rare in queries).

A GIN index of positions cannot tell whether two words are adjacent: `tsv @@ 'a' <-> 'b'` unpacks the
tsvector of every document holding both words. So the index also holds each document's bigrams (pairs of
adjacent terms, `doc_bigrams(tsv)`, derived from the same positions): a phrase of two terms is one key of
it, and a longer one the documents holding all of its bigrams, confirmed by its tsvector.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass

from storage.models import Alternatives, TermQuery

TITLE_WEIGHT = 4.0
BODY_WEIGHT = 1.0
K1 = 1.2
B = 0.75
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
_MAX_POSITIONS = 256  # positions kept per lexeme
_MAX_LEXEME_BYTES = 2046


def _is_token_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def _fold(ch: str) -> str:
    # unicode61 folds one character to one, without context: no final sigma, İ stays İ.
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


def tokens(text: str) -> list[str]:
    """The tokens FTS5's unicode61 tokenizer (remove_diacritics 0) makes of `text`."""
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        if _is_token_char(ch):
            current.append(_fold(ch))
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return [t for t in out if len(t.encode()) <= _MAX_LEXEME_BYTES]


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class IndexRow:
    tsv: str  # a tsvector literal
    tf: dict[str, float]  # term -> 4 * count in the title + count in the body
    length: int  # tokens in title and body (BM25's document length)
    terms: tuple[str, ...]  # the distinct terms, sorted (document frequencies are updated in this order)


def index_row(title_terms: str, body_terms: str) -> IndexRow:
    title, body = tokens(title_terms), tokens(body_terms)
    positions: dict[str, list[str]] = {}
    weights: dict[str, float] = {}
    for i, term in enumerate(title, start=1):
        positions.setdefault(term, []).append(f"{min(i, _MAX_POSITION)}A")
        weights[term] = weights.get(term, 0.0) + TITLE_WEIGHT
    start = len(title) + 2
    for i, term in enumerate(body, start=start):
        positions.setdefault(term, []).append(str(min(i, _MAX_POSITION)))
        weights[term] = weights.get(term, 0.0) + BODY_WEIGHT
    parts = []
    for term, where in positions.items():
        unique = list(dict.fromkeys(where))[:_MAX_POSITIONS]
        parts.append(_quote(term) + ":" + ",".join(unique))
    return IndexRow(
        " ".join(parts),
        weights,
        len(title) + len(body),
        tuple(sorted(weights)),
    )


# -- queries -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """One phrase of the query, as BM25 sees it: its tokens, whether the last is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool

    def tsquery(self) -> str:
        parts = [_quote(t) for t in self.tokens]
        if self.prefix:
            parts[-1] += ":*"
        return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"

    def bigrams(self) -> list[str]:
        """The pairs of adjacent terms the phrase needs, as `doc_bigrams` writes them (not the prefix)."""
        exact = self.tokens[:-1] if self.prefix else self.tokens
        return list(dict.fromkeys(bigram(a, b) for a, b in itertools.pairwise(exact)))


def bigram(first: str, second: str) -> str:
    # A token never holds a space (only letters, digits and private-use characters): the pair is unambiguous.
    return f"{first} {second}"


def _phrases(alt: Alternatives) -> list[Phrase]:
    out = []
    for phrase in alt.phrases:
        toks = tuple(t for term in phrase for t in tokens(term))
        if toks:
            out.append(Phrase(toks, alt.prefix))
    return out


@dataclass(frozen=True)
class Compiled:
    tsquery: str
    phrases: tuple[Phrase, ...]  # every phrase of the expression, in order (FTS5 scores them all)
    # The same expression as a structure: the required clauses (each ORs its phrases), joined by AND (or
    # by OR, `any_of`), and the phrases none of which a match may have.
    clauses: tuple[tuple[Phrase, ...], ...] = ()
    any_of: bool = False
    excluded: tuple[Phrase, ...] = ()


def compile_query(query: TermQuery) -> Compiled | None:
    """The tsquery of a TermQuery; None when it can match nothing (a required word with no token)."""
    if not query.required:
        raise ValueError("a query needs at least one required clause")
    clauses: list[str] = []
    phrases: list[Phrase] = []
    structure: list[tuple[Phrase, ...]] = []
    for alt in query.required:
        found = _phrases(alt)
        if not found:
            if query.any_of:
                continue
            return None
        phrases += found
        structure.append(tuple(found))
        clauses.append("(" + " | ".join(p.tsquery() for p in found) + ")")
    if not clauses:
        return None
    expr = "(" + (" | " if query.any_of else " & ").join(clauses) + ")"
    excluded = [p for alt in query.excluded for p in _phrases(alt)]
    if excluded:
        phrases += excluded
        expr += " & !(" + " | ".join(p.tsquery() for p in excluded) + ")"
    return Compiled(expr, tuple(phrases), tuple(structure), query.any_of, tuple(excluded))
