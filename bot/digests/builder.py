"""What a digest says: the documents saved since a subscriber's cursor, through its topic filter, one item
per story with its summary line and every report of it. Nothing here renders or sends."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from bot.search import SearchService, topic_matches
from bot.text.summarize import OverviewDoc, overview
from storage.models import Document

# A digest looks at most at this many of the newest documents: after a long pause or a bulk import the
# rest would not fit anyway, and grouping compares documents pairwise.
MAX_DOCUMENTS = 200
MAX_STORIES = 30
# A new subscriber's first digest: the latest few documents rather than the whole archive or nothing.
FIRST_DIGEST_DOCUMENTS = 5
LINE_CHARS = 300

_HOST = re.compile(r"https?://(?:www\.)?([^/:?#]+)", re.IGNORECASE)


@dataclass(frozen=True)
class DigestSource:
    doc_id: int
    name: str  # the outlet; "" when unknown
    url: str | None


@dataclass(frozen=True)
class DigestStory:
    title: str
    line: str  # one sentence summing the story up, whole
    story_id: int | None
    published: date | None
    sources: tuple[DigestSource, ...]  # newest first


@dataclass(frozen=True)
class DigestContent:
    cursor_from: int
    cursor_to: int  # where the subscriber's cursor moves once this digest is queued
    filter_query: str
    language: str
    stories: tuple[DigestStory, ...]
    considered: int  # new documents looked at
    matched: int  # of them, let through by the filter

    @property
    def empty(self) -> bool:
        return not self.stories


def outlet_name(doc: Document) -> str:
    if doc.source_name:
        return doc.source_name
    m = _HOST.match(doc.url or "")
    return m.group(1) if m else ""


def stories_to_json(stories: tuple[DigestStory, ...]) -> str:
    return json.dumps(
        [
            {
                "title": s.title,
                "line": s.line,
                "story_id": s.story_id,
                "published": s.published.isoformat() if s.published else None,
                "sources": [[src.doc_id, src.name, src.url] for src in s.sources],
            }
            for s in stories
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def stories_from_json(raw: str) -> tuple[DigestStory, ...]:
    return tuple(
        DigestStory(
            title=item["title"],
            line=item["line"],
            story_id=item["story_id"],
            published=date.fromisoformat(item["published"]) if item["published"] else None,
            sources=tuple(DigestSource(int(i), str(n), u) for i, n, u in item["sources"]),
        )
        for item in json.loads(raw)
    )


class DigestBuilder:
    def __init__(self, search: SearchService) -> None:
        self.search = search
        self.repo = search.repo
        self.morph = search.morph

    async def start_cursor(self) -> int:
        return await self.repo.cursor_before_latest(FIRST_DIGEST_DOCUMENTS)

    async def latest_id(self) -> int:
        return await self.repo.latest_visible_id()

    async def build(self, cursor: int, filter_query: str, language: str) -> DigestContent:
        docs = await self.repo.visible_after(cursor, MAX_DOCUMENTS)
        cursor_to = max((d.id for d in docs), default=cursor)
        considered = len(docs)
        if docs and filter_query.strip():
            allowed = await topic_matches(self.search, filter_query, [d.id for d in docs])
            docs = [d for d in docs if d.id in allowed]
        stories = self._stories(docs, language) if docs else ()
        return DigestContent(
            cursor_from=cursor,
            cursor_to=cursor_to,
            filter_query=filter_query,
            language=language,
            stories=stories,
            considered=considered,
            matched=len(docs),
        )

    def _stories(self, docs: list[Document], language: str) -> tuple[DigestStory, ...]:
        by_id = {d.id: d for d in docs}
        items = overview(
            [
                OverviewDoc(
                    id=d.id,
                    title=d.title,
                    text=d.text,
                    source=outlet_name(d) or f"#{d.id}",
                    published=d.published,
                    story_id=d.story_id,
                )
                for d in docs
            ],
            max_items=MAX_STORIES,
            morph=self.morph,
            line_chars=LINE_CHARS,
            lang=language,
        )
        return tuple(
            DigestStory(
                title=item.title,
                line=item.line,
                story_id=item.story_id,
                published=item.published,
                sources=tuple(
                    DigestSource(i, outlet_name(by_id[i]), by_id[i].url) for i in item.doc_ids if i in by_id
                ),
            )
            for item in items
        )
