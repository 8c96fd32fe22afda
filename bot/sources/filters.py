"""A source's filter: the search language, tested against one text before it is stored.

`Алатау OR Alatau -реклама`: alternatives are separated by OR (or |); within one alternative every word
is required, in any form, "phrases" exactly; a -word anywhere excludes the text whatever the alternative.
An empty filter, or one of exclusions only, lets everything else through. The text is analysed by the
same pipeline as the index (its terms, the lexicon's spellings, other scripts), so a filter keeps exactly
the texts a search for it would find.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.query import STOPWORDS, QueryItem, parse_query
from bot.search import SearchService
from bot.search_expand import has_clause
from storage.models import Alternatives

_OR = re.compile(r"\s+OR\s+|\|")
MAX_ALTERNATIVES = 8


def alternatives_of(text: str) -> list[str]:
    """The filter split at its ORs (a lone | too)."""
    return [part for part in _OR.split(text) if part.strip()][:MAX_ALTERNATIVES]


def _meaningful(items: Sequence[QueryItem]) -> list[QueryItem]:
    kept = [i for i in items if len(i.words) > 1 or i.prefix or i.words[0] not in STOPWORDS]
    return kept or list(items)


@dataclass(frozen=True)
class Topic:
    """A compiled filter: any of `groups` (each: every clause present) and none of `excluded`."""

    text: str
    groups: tuple[tuple[Alternatives, ...], ...]
    excluded: tuple[Alternatives, ...]

    @property
    def everything(self) -> bool:
        return not self.groups and not self.excluded

    def matches(self, title_terms: Sequence[str], body_terms: Sequence[str]) -> bool:
        """Whether a text with these index terms passes (a phrase never spans the title and the body)."""
        fields = (" ".join(title_terms), " ".join(body_terms))

        def present(alt: Alternatives) -> bool:
            return any(has_clause(alt, f) for f in fields)

        if any(present(alt) for alt in self.excluded):
            return False
        return not self.groups or any(all(present(alt) for alt in group) for group in self.groups)


async def compile_topic(search: SearchService, text: str) -> Topic:
    """Read a filter as the search reads a query; never fails (anything unreadable is words)."""
    groups: list[tuple[Alternatives, ...]] = []
    excluded: list[Alternatives] = []
    for part in alternatives_of(text):
        parsed = parse_query(part)
        positive = _meaningful(parsed.positive) if parsed.positive else []
        if positive:
            groups.append(tuple(await search.word_alternatives(positive)))
        for item in parsed.negative:
            excluded.extend(await search.word_alternatives([item]))
    return Topic(text.strip(), tuple(groups), tuple(excluded))
