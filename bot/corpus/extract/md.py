"""Markdown: the markup stripped, the first top-level heading taken as the title."""

from __future__ import annotations

import html
import re

from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item, without_html_comments
from bot.corpus.extract.decode import decode_text

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Only the opening; the closing #s are cut in code (a lazy `(.*?)` before `[ \t]*$` rescans runs of spaces).
_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_QUOTE_RE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_BULLET_RE = re.compile(r"^([ \t]*)[-*+][ \t]+")
_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|])")
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# Every rule must stay linear in the line's length: a line is as long as its author wants (a 191 KB line of
# `*`, `_` and `[` took 19 s when spans were matched pairwise with `.+?`, which rescans to the line's end from
# every opening marker). So a bracket's text stops at the next bracket, a URL at the next parenthesis or
# space, and emphasis markers are removed where they touch a word instead of being paired.
_INLINE_RULES = (
    (re.compile(r"!\[[^\[\]]*\]\([^()\s]*\)"), ""),  # images carry no text worth indexing
    (re.compile(r"!\[[^\[\]]*\]\[[^\[\]]*\]"), ""),
    (re.compile(r"\[([^\[\]]+)\]\([^()\s]*\)"), r"\1"),
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^<>\s]+)>"), r"\1"),
    (re.compile(r"`+"), ""),
    (re.compile(r"\*+(?=\S)|(?<=\S)\*+"), ""),
    # Underscores only at word edges, so that snake_case names survive.
    (re.compile(r"(?<!\w)_+(?=\S)|(?<=\S)_+(?!\w)"), ""),
    (re.compile(r"~~+(?=\S)|(?<=\S)~~+"), ""),
    (_HTML_TAG_RE, ""),
)
# Escaped characters are parked in a private-use plane while the rules run, so that "\*" stays a literal star.
_PARKED = 0xF0000
_UNPARK = {_PARKED + code: code for code in range(128)}


def extract_markdown(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    text, title = _markdown_to_text(decode_text(data))
    return make_item(source, text, limits, title=title)


def _markdown_to_text(markdown: str) -> tuple[str, str | None]:
    lines = without_html_comments(markdown.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    title: str | None = None
    fence: str | None = None
    previous_raw = ""
    for raw in lines:
        line = raw.rstrip()
        fence_match = _FENCE_RE.match(line)
        if fence is not None:
            marker = fence_match.group(1) if fence_match else ""
            if marker.startswith(fence[0]) and len(marker) >= len(fence) and line.strip() == marker:
                fence = None
            else:
                out.append(line)  # code is kept verbatim: in news it is usually a quoted document
            previous_raw = line
            continue
        if fence_match is not None:
            fence = fence_match.group(1)
            previous_raw = ""
            continue
        setext = _SETEXT_RE.match(line)
        if setext is not None and previous_raw.strip() and out:
            # The previous line was a heading underlined with === or ---.
            if setext.group(1).startswith("=") and title is None:
                title = out[-1]
            out.append("")
            previous_raw = ""
            continue
        if _RULE_RE.match(line) or _LINK_DEFINITION_RE.match(line) or _TABLE_RULE_RE.match(line):
            out.append("")
            previous_raw = ""
            continue
        heading = _ATX_HEADING_RE.match(line)
        if heading is not None:
            heading_text = _markdown_inline(_heading_content(line[heading.end() :]))
            if len(heading.group(1)) == 1 and title is None and heading_text:
                title = heading_text
            out.extend(["", heading_text, ""])
            previous_raw = ""
            continue
        line = _BULLET_RE.sub(r"\1", _QUOTE_RE.sub("", line))
        if line.lstrip().startswith("|"):
            line = line.strip().strip("|").strip()
        out.append(_markdown_inline(line))
        previous_raw = line
    # Per line, not `[ \t]+\n` over the text, which rescans a long run of spaces from each of them.
    text = "\n".join(line.rstrip(" \t") for line in out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text, title


def _heading_content(rest: str) -> str:
    rest = rest.strip(" \t")
    unclosed = rest.rstrip("#")
    if unclosed != rest and (not unclosed or unclosed[-1] in " \t"):
        rest = unclosed.rstrip(" \t")
    return rest


def _markdown_inline(line: str) -> str:
    line = _MD_ESCAPE_RE.sub(lambda m: chr(_PARKED + ord(m.group(1))), line)
    for pattern, replacement in _INLINE_RULES:
        line = pattern.sub(replacement, line)
    line = html.unescape(line)
    return line.translate(_UNPARK)
