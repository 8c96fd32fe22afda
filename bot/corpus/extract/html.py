"""HTML: the article's text without page chrome, and the metadata a news page carries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item, without_html_comments
from bot.corpus.extract.decode import decode_html

# Page chrome and non-text content, dropped with everything inside.
_HTML_SKIPPED = frozenset(
    {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg", "iframe", "object"}
)
_HTML_BLOCKS = frozenset(
    {
        "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main",
        "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_HTML_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_HTML_SPACE_RE = re.compile(r"[ \t\n\r\f]+")  # ASCII only: a no-break space in "2026 г." is meaningful
# A `<` whose tag never closes before the next `<`. Python's HTMLParser rescans the rest of the input from
# each of them (20 KB of "<a " took 17 s), so past a few, where no real page goes, they are escaped as text.
_UNCLOSED_LT_RE = re.compile(r"<(?=[^<>]*(?:<|$))")
_UNCLOSED_LT_TOLERATED = 100


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipped: list[str] = []
        # How many of each skipped tag are open: `tag in self.skipped` would scan a deep stack per end tag.
        self.open_skipped: dict[str, int] = {}
        self.pre_depth = 0
        self.title_parts: list[str] | None = None
        self.title: str | None = None
        self.h1_parts: list[str] | None = None
        self.h1_in_skipped = False
        self.h1: str | None = None
        self.h1_chrome: str | None = None
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.time: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.title_parts is not None:
            self._end_title()  # a <title> holds no tags, so one is left unclosed: do not swallow the page
        attributes = {name: value or "" for name, value in attrs}
        if tag in _HTML_SKIPPED:
            self.skipped.append(tag)
            self.open_skipped[tag] = self.open_skipped.get(tag, 0) + 1
        elif tag == "meta":
            key = (
                attributes.get("property") or attributes.get("name") or attributes.get("itemprop") or ""
            ).lower()
            if key and "content" in attributes:
                self.meta.setdefault(key, attributes["content"])
        elif tag == "link":
            if "canonical" in attributes.get("rel", "").lower().split() and self.canonical is None:
                self.canonical = attributes.get("href")
        elif tag == "time":
            if self.time is None and attributes.get("datetime"):
                self.time = attributes["datetime"]
        elif tag == "title":
            if self.title is None and not self.skipped:  # not an <svg>'s own <title>
                self.title_parts = []
        elif tag == "h1" and self.h1 is None:
            self.h1_parts = []
            self.h1_in_skipped = bool(self.skipped)
        elif tag == "pre":
            self.pre_depth += 1
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _HTML_BLOCKS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _HTML_VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open_skipped.get(tag):
            # Closes the innermost open one, along with anything left unclosed inside it.
            while (closed := self.skipped.pop()) != tag:
                self.open_skipped[closed] -= 1
            self.open_skipped[tag] -= 1
        elif tag == "title" and self.title_parts is not None:
            self._end_title()
        elif tag == "h1" and self.h1_parts is not None:
            heading = " ".join("".join(self.h1_parts).split())
            self.h1_parts = None
            if heading and self.h1_in_skipped:
                # A site header's h1 is usually the site name; the article's own h1 may still come.
                self.h1_chrome = self.h1_chrome or heading
            elif heading:
                self.h1 = heading
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _HTML_BLOCKS:
            self.parts.append("\n\n")

    def _end_title(self) -> None:
        self.title = "".join(self.title_parts or [])
        self.title_parts = None

    def handle_data(self, data: str) -> None:
        if self.title_parts is not None:
            self.title_parts.append(data)
            return
        if self.h1_parts is not None:
            self.h1_parts.append(data)
        if self.skipped:
            return
        self.parts.append(data if self.pre_depth else _HTML_SPACE_RE.sub(" ", data))

    def text(self) -> str:
        text = "".join(self.parts)
        text = re.sub(r" {2,}", " ", text)
        text = re.sub(r" *\n *", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text)

    def best_title(self) -> str | None:
        og_title = self.meta.get("og:title", "").strip()
        if og_title:
            return og_title
        if self.h1:
            return self.h1
        title = " ".join((self.title or "").split())
        if " | " in title:
            # "Headline | Site name": the site name is not part of the headline.
            title = title.rsplit(" | ", 1)[0]
        return title or self.h1_chrome


def _tamed(page: str) -> str:
    """The page without comments (they give no text) and, when it has many, with unclosed `<` escaped:
    both are what makes HTMLParser's time grow with the square of the input."""
    page = without_html_comments(page)
    for count, _ in enumerate(_UNCLOSED_LT_RE.finditer(page)):
        if count >= _UNCLOSED_LT_TOLERATED:
            return _UNCLOSED_LT_RE.sub("&lt;", page)
    return page


def extract_html(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    parser = _HTMLText()
    try:
        parser.feed(_tamed(decode_html(data)))
        parser.close()
    except AssertionError:
        # html.parser guards a few impossible states in malformed markup with asserts; treat as damage.
        raise UploadError(UploadReason.HTML_DAMAGED) from None
    meta = parser.meta
    return make_item(
        source,
        parser.text(),
        limits,
        title=parser.best_title(),
        url=parser.canonical or meta.get("og:url"),
        date=meta.get("article:published_time") or meta.get("datepublished") or parser.time,
    )
