"""Summaries of stored documents and overviews of the latest news, over the pure functions of summarize."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.corpus.ingest import Corpus
from bot.text.summarize import OverviewDoc, OverviewItem, overview, summarize
from storage.models import Document

_HOST = re.compile(r"https?://(?:www\.)?([^/:?#]+)", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentSummary:
    document: Document
    sentences: list[str]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.document.id,
            "title": self.document.title,
            "url": self.document.url,
            "date": self.document.published.isoformat() if self.document.published else None,
            "summary": self.sentences,
        }


@dataclass(frozen=True)
class Story:
    story_id: int
    title: str
    summary: list[str]
    documents: list[Document]

    @property
    def latest(self) -> date | None:
        dates = [d.published for d in self.documents if d.published]
        return max(dates) if dates else None

    def as_json(self) -> dict[str, object]:
        return {
            "story_id": self.story_id,
            "title": self.title,
            "summary": self.summary,
            "date": self.latest.isoformat() if self.latest else None,
            "documents": [
                {"id": d.id, "url": d.url, "source": d.source_name, "title": d.title} for d in self.documents
            ],
        }


def outlet(doc: Document) -> str:
    """Who published a text, for counting a story's outlets: its source, else its link's site, else the text
    itself. Texts of unnamed outlets are not one outlet: counted so, naming the source of one of them (an
    edit) would make its story "more widely reported" and jump it to the top of the overview."""
    if doc.source_name:
        return doc.source_name
    host = _HOST.match(doc.url or "")
    return host.group(1) if host else f"#{doc.id}"


_WORD = re.compile(r"\w{4,}")
# Titles and leads of reaction and opinion pieces: a story's headline should be the report of the event.
_REACTION = re.compile(
    r"прокомментир|\bкомментари|\bмнени|\bэксперт|\bреакци|отреагир|\breact|\bopinion|\bcomment|\bpundit|"
    r"\banalyst|пікір|сарапшы",
    re.IGNORECASE,
)
_REACTION_PENALTY = 0.15


def _terms(doc: Document) -> set[str]:
    lead = doc.text[:400]
    return {w[:6] for w in _WORD.findall(f"{doc.title} {lead}".lower())}


def representative(members: list[Document]) -> Document:
    """The report a story is headlined by: the original report of the event. Among the reports of the
    story's earliest day (all of them when none is dated), republications of another member give way to
    their original, and the one sharing most key terms with the rest of the story wins; reaction and
    opinion pieces are lightly penalised. Ties go to the lowest id (the earliest saved)."""
    dated = [d.published for d in members if d.published]
    first = min(dated) if dated else None
    day = [d for d in members if d.published == first] if first else list(members)
    ids = {d.id for d in members}
    originals = [d for d in day if d.duplicate_of is None or d.duplicate_of not in ids] or day
    if len(members) < 2 or len(originals) < 2:
        return min(originals, key=lambda d: d.id)
    terms = {d.id: _terms(d) for d in members}

    def score(d: Document) -> float:
        others = [o for o in members if o.id != d.id]
        mine = terms[d.id]
        overlap = sum(len(mine & terms[o.id]) / (len(mine | terms[o.id]) or 1) for o in others)
        central = overlap / len(others)
        reaction = _REACTION.search(f"{d.title} {d.text[:200]}") is not None
        return central - (_REACTION_PENALTY if reaction else 0.0)

    return max(sorted(originals, key=lambda d: d.id), key=score)


class SummaryService:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.repo = corpus.repo

    def summarize_document(self, doc: Document, sentences: int = 3, max_chars: int = 600) -> list[str]:
        return summarize(
            doc.text, title=doc.title, sentences=sentences, morph=self.corpus.morph, max_chars=max_chars
        )

    async def document(self, doc_id: int, sentences: int = 3) -> DocumentSummary | None:
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        return DocumentSummary(doc, self.summarize_document(doc, sentences))

    def overview_of(self, docs: list[Document], max_items: int) -> list[OverviewItem]:
        items = [
            OverviewDoc(
                id=d.id,
                title=d.title,
                text=d.text,
                source=outlet(d),
                published=d.published,
                story_id=d.story_id,
            )
            for d in docs
        ]
        return overview(items, max_items=max_items, morph=self.corpus.morph)

    async def latest_overview(self, n: int) -> list[OverviewItem]:
        # Look further back than n documents: several of the newest may be one story.
        docs = await self.repo.latest(limit=max(n * 4, 20))
        # "The latest news": the newest story first (the overview picked the most widely reported ones;
        # among stories of one day that order stays).
        items = self.overview_of(docs, max_items=n)
        return sorted(items, key=lambda item: item.published or date.min, reverse=True)

    async def stories(self, since: date | None = None, limit: int = 50) -> list[Story]:
        docs = await self.repo.latest(limit=5000, since=since)
        groups: dict[int, list[Document]] = {}
        for d in docs:
            groups.setdefault(d.story_id or d.id, []).append(d)
        stories: list[Story] = []
        for story_id, members in groups.items():
            lead = representative(members)
            stories.append(Story(story_id, lead.title, self.summarize_document(lead, 2), members))
        stories.sort(key=lambda s: (s.latest or date.min, len(s.documents)), reverse=True)
        return stories[:limit]
