"""Turning domain objects into Telegram HTML. Every piece of corpus or user text is escaped here."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

from aiogram import html
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date

from bot.reader import LINE_CHARS, PAGE_SIZE, pages
from bot.search import Ordering, SearchResult
from bot.summaries import DocumentSummary
from bot.text.summarize import OverviewItem
from storage.models import Document

MESSAGE_LIMIT = 4096
TITLE_CHARS = 150


def fmt_date(value: date | None, locale: str) -> str:
    if value is None:
        return _("no date")
    return _long_date(value, locale)


@functools.lru_cache(maxsize=4096)
def _long_date(value: date, locale: str) -> str:
    # Babel parses the locale and the pattern on every call: a search reply shows five dates.
    return format_date(value, format="d MMMM y", locale=locale)


def short(text: str, limit: int) -> str:
    """Cut at a word boundary, never mid-word (the caller escapes afterwards, so no tag can be cut)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—– ") + "…"


def source_line(doc: Document, locale: str) -> str:
    when = html.quote(fmt_date(doc.published, locale))
    name = doc.source_name or (_("source") if doc.url else None)
    if name is None:
        return when
    if doc.url:
        return f"{when} · {html.link(html.quote(name), doc.url)}"
    return f"{when} · {html.quote(name)}"


def search_header(result: SearchResult, page: int, pages: int) -> list[str]:
    lines = [
        _("🔎 Results for «{query}»: {count} found").format(
            query=html.quote(short(result.query, 80)),
            count=f"{result.total}+" if result.total_capped else result.total,
        )
    ]
    if result.corrected_query:
        lines.append(
            _("Showing results for «{query}».").format(query=html.bold(html.quote(result.corrected_query)))
        )
    if result.missing:
        lines.append(_missing(result))
    if result.partial:
        lines.append(_("Texts marked ≈ have only some of the words; those with all of them come first."))
    if result.ordering is Ordering.RECENT:
        lines.append(_("These words are in most texts, so the newest come first."))
    if pages > 1:
        lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    return lines


def search_results(result: SearchResult, page: int, locale: str) -> str:
    parts = ["\n".join(search_header(result, page, pages(result.total)))]
    for n, hit in enumerate(result.hits, start=1 + page * PAGE_SIZE):
        doc = hit.document
        mark = "≈ " if hit.partial else ""
        parts.append(
            f"{n}. {mark}{html.bold(html.quote(short(doc.title, TITLE_CHARS)))}\n"
            f"{source_line(doc, locale)}\n{hit.snippet}"
        )
    return fit("\n\n".join(parts))


def _missing(result: SearchResult) -> str:
    words = ", ".join(f"«{html.quote(short(w, 40))}»" for w in result.missing)
    return ngettext(
        "No text has the word {words}.", "No text has the words {words}.", len(result.missing)
    ).format(words=words)


def nothing_found(result: SearchResult) -> str:
    text = _("Nothing found for «{query}».").format(query=html.quote(short(result.query, 80)))
    if result.missing:
        text = f"{text} {_missing(result)}"
    hint = _("Try other words, fewer words, or a shorter form: «крипто*» finds every word that starts so.")
    return f"{text}\n{hint}"


def document_list(title: str, items: Sequence[DocumentSummary], first: int, locale: str) -> str:
    parts = [html.bold(html.quote(title))]
    for n, item in enumerate(items, start=first):
        doc = item.document
        parts.append(
            f"{n}. {html.bold(html.quote(short(doc.title, TITLE_CHARS)))}\n{source_line(doc, locale)}\n"
            f"{html.quote(short(' '.join(item.sentences), LINE_CHARS))}"
        )
    return fit("\n\n".join(parts))


def card(doc: Document, summary: Sequence[str], story_size: int, locale: str) -> str:
    line = source_line(doc, locale)
    if doc.author:
        line += " · " + _("by {author}").format(author=html.quote(short(doc.author, 80)))
    parts = [html.bold(html.quote(doc.title)), line]
    if summary:
        parts.append(html.italic(html.quote(" ".join(summary))))
    if story_size > 1:
        parts.append(
            ngettext("📚 This story has {n} source.", "📚 This story has {n} sources.", story_size).format(
                n=story_size
            )
        )
    return fit("\n\n".join(parts))


def overview(items: Sequence[OverviewItem], links: Sequence[str]) -> str:
    parts = [html.bold(_("📰 The latest news in brief"))]
    for item, link in zip(items, links, strict=True):
        n = len(item.doc_ids)
        sources = ngettext("{n} source", "{n} sources", n).format(n=n)
        parts.append(
            f"• {html.link(html.quote(short(item.title, TITLE_CHARS)), link)} ({sources})\n"
            f"{html.quote(short(item.line, 300))}"
        )
    return fit("\n\n".join(parts))


def fit(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A safety net: rendered blocks are built to fit, but a message must never exceed the limit.

    Cuts only between blocks (blank lines), so no tag or word is split.
    """
    if len(text) <= limit:
        return text
    blocks = text.split("\n\n")
    out: list[str] = []
    size = 0
    for block in blocks:
        if size + len(block) + 2 > limit - 2:
            break
        out.append(block)
        size += len(block) + 2
    return "\n\n".join(out) + "\n…"


def split_plain(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a plain text into escaped HTML chunks within `limit`, at paragraph, sentence or word ends."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(html.quote(rest)) <= limit:
            chunks.append(html.quote(rest))
            break
        # Find the longest prefix whose escaped form fits, then back off to a natural boundary.
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(html.quote(rest[:mid])) <= limit:
                lo = mid
            else:
                hi = mid - 1
        window = rest[:lo]
        cut = -1
        for sep in ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "):
            pos = window.rfind(sep)
            if pos > lo // 3:
                cut = pos + len(sep.rstrip(" ")) if sep.strip() else pos
                break
        if cut <= 0:
            cut = lo  # one enormous word: nothing natural to cut at
        chunks.append(html.quote(rest[:cut].rstrip()))
        rest = rest[cut:].lstrip()
    return chunks
