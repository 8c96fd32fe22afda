"""An article page's main text and metadata (trafilatura), and a feed entry's HTML as plain text.

CPU work on lxml trees: the fetcher calls these in a thread. lxml and trafilatura are imported on first use,
so a bot that polls no feed never loads them (trafilatura and its dependencies alone add ~12 MB)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.sources.urls import canonical_url

_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES_RE = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
_BLOCKS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr",
        "table", "section", "article", "figure", "figcaption", "dd", "dt", "hr", "header", "footer",
    }
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})


@dataclass(frozen=True)
class ArticlePage:
    text: str  # "" when no main text was found
    title: str | None
    author: str | None
    published: datetime | None
    canonical: str | None  # the page's <link rel=canonical>, resolved and canonicalised


def extract_article(html: str, url: str) -> ArticlePage:
    from trafilatura import bare_extraction  # lazily: see the module docstring
    from trafilatura.settings import set_date_params

    tree = _parse(html)
    if tree is None:
        return ArticlePage("", None, None, None, None)
    canonical = _canonical_link(tree, url)
    # trafilatura prunes the tree it is given; the canonical link was read first.
    # Metadata only (meta tags, <time>, JSON-LD, the URL), not dates guessed from the text: an article's
    # body is full of the dates of the events it tells.
    dates = set_date_params(extensive=False) | {"outputformat": "%Y-%m-%dT%H:%M:%S%z"}
    document: Any = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        date_extraction_params=dates,
    )
    if document is None:
        return ArticlePage("", None, None, None, canonical)
    text = _tidy(getattr(document, "text", None) or "")
    return ArticlePage(
        text=text,
        title=_tidy(getattr(document, "title", None) or "") or None,
        author=_tidy(getattr(document, "author", None) or "") or None,
        published=_page_date(getattr(document, "date", None)),
        canonical=canonical,
    )


def html_to_text(fragment: str) -> str:
    """A feed's HTML content or summary as plain text, paragraphs kept as lines."""
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    import lxml.html  # type: ignore[import-untyped]  # lazily: see the module docstring
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(fragment)
    parts: list[str] = []
    _walk(root, parts)
    return _tidy("".join(parts))


def _walk(node: Any, parts: list[str]) -> None:
    tag = node.tag if isinstance(node.tag, str) else ""
    if tag in _SKIPPED:
        if node.tail:
            parts.append(node.tail)
        return
    block = tag in _BLOCKS
    if block:
        parts.append("\n")
    if node.text and isinstance(node.tag, str):
        parts.append(node.text)
    for child in node:
        _walk(child, parts)
    if block:
        parts.append("\n")
    if node.tail:
        parts.append(node.tail)


def _tidy(text: str) -> str:
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES_RE.sub("\n", "\n".join(lines)).strip()


def _parse(html: str) -> Any:
    html = _XML_DECL_RE.sub("", html, count=1)  # lxml refuses a str that declares its own encoding
    if not html.strip():
        return None
    import lxml.html  # lazily: see the module docstring
    from lxml import etree

    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _canonical_link(tree: Any, url: str) -> str | None:
    for link in tree.iterfind(".//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" not in rel:
            continue
        candidate = canonical_url(link.get("href") or "", url)
        parts, own = urlsplit(candidate), urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        # Some sites put their home page as every article's canonical link: that is no article's address.
        if parts.path in ("", "/") and own.path not in ("", "/"):
            return None
        return candidate
    return None


def _page_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
