"""What a digest says: the documents saved since a subscriber's cursor, through its topic filter, one item
per story with its summary line and every report of it. Nothing here renders or sends."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date

from bot.search import SearchService, topic_matches
from bot.text.summarize import OverviewDoc, overview
from storage.models import Document

# A digest looks at most at this many of the newest documents: after a long pause or a bulk import the
# rest would not fit anyway, and grouping compares documents pairwise.
MAX_DOCUMENTS = 200
MAX_STORIES = 30
# A new subscriber's first digest: the newest few stories by publication date (not the texts uploaded last),
# rather than the whole archive or nothing; picked among this many of the newest documents.
FIRST_DIGEST_STORIES = 5
FIRST_DIGEST_POOL = 60
# A story's reports counted and linked: all of them, not just those new since the last digest.
MAX_STORY_SOURCES = 50
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
    first: bool = False  # the subscriber's first digest
    headlines_only: bool = False  # rendered as titles without their summary lines
    subscription_id: int | None = None  # a channel's or group topic's own digest: its footer links to it

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
        """A new subscriber starts after everything there is: the first digest adds the newest stories."""
        return await self.repo.latest_visible_id()

    async def latest_id(self) -> int:
        return await self.repo.latest_visible_id()

    async def build(
        self, cursor: int, filter_query: str, language: str, *, first: bool = False
    ) -> DigestContent:
        """The digest of what was saved after `cursor`; the `first` one also has the newest stories by
        publication date, up to FIRST_DIGEST_STORIES in all."""
        new = await self.repo.visible_after(cursor, MAX_DOCUMENTS)
        cursor_to = max((d.id for d in new), default=cursor)
        considered = len(new)
        docs = list(new)
        if first:
            seen = {d.id for d in docs}
            docs += [d for d in await self.repo.latest(limit=FIRST_DIGEST_POOL) if d.id not in seen]
            cursor_to = max(cursor_to, max((d.id for d in docs), default=cursor))
        if docs and filter_query.strip():
            allowed = await topic_matches(self.search, filter_query, [d.id for d in docs])
            docs = [d for d in docs if d.id in allowed]
        stories = self._stories(docs, language) if docs else ()
        if first:
            stories = self._first(stories, {d.id for d in new})
        stories = await self._all_sources(stories)
        return DigestContent(
            cursor_from=cursor,
            cursor_to=cursor_to,
            filter_query=filter_query,
            language=language,
            stories=stories,
            considered=considered,
            matched=len(docs),
            first=first,
        )

    @staticmethod
    def _first(stories: tuple[DigestStory, ...], new: set[int]) -> tuple[DigestStory, ...]:
        """Every story with something new, then the newest others by publication date, FIRST_DIGEST_STORIES in
        all (or every new one, when there are more)."""
        fresh = [s for s in stories if any(src.doc_id in new for src in s.sources)]
        older = sorted(
            (s for s in stories if s not in fresh),
            key=lambda s: (s.published or date.min, max(src.doc_id for src in s.sources)),
            reverse=True,
        )
        chosen = set(map(id, fresh + older[: max(0, FIRST_DIGEST_STORIES - len(fresh))]))
        picked = [s for s in stories if id(s) in chosen]
        # Newest first by publication date: a first digest is "the latest news".
        return tuple(sorted(picked, key=lambda s: s.published or date.min, reverse=True))

    async def _all_sources(self, stories: tuple[DigestStory, ...]) -> tuple[DigestStory, ...]:
        """A story says how many reports it has in all (a story of five says five), not only how many of them
        came since the last digest; the new ones come first."""
        out = []
        for story in stories:
            if story.story_id is None:
                out.append(story)
                continue
            members = await self.repo.story_members(story.story_id)
            known = {src.doc_id for src in story.sources}
            extra = sorted(
                (m for m in members if m.id not in known),
                key=lambda m: (m.published or date.min, m.id),
                reverse=True,
            )
            sources = story.sources + tuple(DigestSource(m.id, outlet_name(m), m.url) for m in extra)
            out.append(replace(story, sources=sources[:MAX_STORY_SOURCES]))
        return tuple(out)

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
