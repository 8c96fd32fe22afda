"""Turning uploaded or ingested files into raw text items.

Every supported format (plain text, Markdown, HTML, Word, PDF, JSON Lines, ZIP archives of those) becomes a
stream of `RawItem`s, one per document, or `ExtractFailure`s that say in one sentence why a file (or a line
of it) could not be used. Bad input never raises: the files come from admins' uploads and from folders of
whatever was collected, and one broken file must not stop the rest of a batch.

The text is only decoded and stripped of markup here; normalization, language detection and deduplication
happen later in the pipeline.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import math
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

import docx
from pypdf import PdfReader

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_EXTENSIONS",
    "ExtractError",
    "ExtractFailure",
    "Limits",
    "RawItem",
    "decode_text",
    "extract_bytes",
    "extract_path",
]


@dataclass(frozen=True)
class RawItem:
    """One document's text with whatever metadata the file itself carried."""

    text: str
    source: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class ExtractFailure:
    """A file, archive member or line that gave no text, and why, in one sentence for the admin."""

    source: str
    reason: str


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile or accidental upload from exhausting memory or time."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_text_chars: int = 200_000
    max_zip_members: int = 1000
    max_zip_unpacked_bytes: int = 200 * 1024 * 1024
    # Plain text deflates 3-10 times; hundreds of times means a run of repeated bytes made to blow up.
    max_zip_ratio: float = 100.0
    # Below this size a high ratio is harmless (a short file of repeated lines), so it is not judged.
    zip_ratio_min_bytes: int = 1024 * 1024
    # A renamed non-JSONL file would otherwise produce one failure per line; past this many the rest
    # are counted in a single summary failure.
    max_line_failures: int = 100


DEFAULT_LIMITS = Limits()


class ExtractError(Exception):
    """Input that cannot be turned into text; `reason` is the sentence shown to the admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".jsonl", ".json", ".zip"}
)
_SUPPORTED_LIST = ", ".join(sorted(SUPPORTED_EXTENSIONS))

_UNDECODABLE = "could not decode the text (not UTF-8, UTF-16, cp1251 or koi8-r)"
_NO_TEXT = "the file contains no text"
_DOCX_DAMAGED = "the .docx file is damaged or not a Word document"
_PDF_NO_TEXT = "the PDF has no text layer (a scanned image?); send the text instead"
_ZIP_DAMAGED = "the .zip archive is damaged"
_NESTED_ZIP = "archives inside archives are not supported; unpack the inner .zip and send its files"


def extract_bytes(
    name: str, data: bytes, limits: Limits = DEFAULT_LIMITS
) -> Iterator[RawItem | ExtractFailure]:
    """Items of one file given by its name (which decides the format) and content."""
    return _extract(name, name, data, limits, nested=False)


def extract_path(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawItem | ExtractFailure]:
    """Items of a file, or of every file under a folder (recursively, in sorted order, hidden ones skipped).

    Sources of files found in a folder are their paths relative to that folder.
    """
    if path.is_dir():
        empty = True
        for file_path, relative in _walk_folder(path):
            empty = False
            yield from _extract_file(file_path, relative, limits)
        if empty:
            yield ExtractFailure(str(path), "the folder contains no files")
    elif path.exists():
        yield from _extract_file(path, path.name, limits)
    else:
        yield ExtractFailure(str(path), "no such file or folder")


def _walk_folder(root: Path) -> Iterator[tuple[Path, str]]:
    found: list[tuple[str, Path]] = []
    # os.walk rather than rglob: it does not follow symlinked folders, so a link loop cannot recurse forever.
    for dir_name, sub_dirs, file_names in os.walk(root):
        sub_dirs[:] = [d for d in sub_dirs if not _is_skipped_name(d)]
        for file_name in file_names:
            if not _is_skipped_name(file_name):
                file_path = Path(dir_name, file_name)
                found.append((file_path.relative_to(root).as_posix(), file_path))
    for relative, file_path in sorted(found):
        yield file_path, relative


def _is_skipped_name(name: str) -> bool:
    # "~$" files are Word's lock files next to an open document: hidden on Windows, never real documents.
    return name.startswith((".", "~$")) or name == "__MACOSX"


def _extract_file(path: Path, source: str, limits: Limits) -> Iterator[RawItem | ExtractFailure]:
    problem = _name_problem(source)
    if problem is not None:
        yield ExtractFailure(source, problem)
        return
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # reading a FIFO or a device would block or never end
            yield ExtractFailure(source, "not a regular file")
            return
        # Checked before reading so that a huge file is never loaded just to be refused.
        size = status.st_size
        if size > limits.max_file_bytes:
            yield ExtractFailure(source, _too_big(size, limits.max_file_bytes))
            return
        data = path.read_bytes()
    except OSError as exc:
        yield ExtractFailure(source, f"could not read the file ({exc.strerror or exc.__class__.__name__})")
        return
    yield from _extract(source, source, data, limits, nested=False)


def _extension(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


def _name_problem(name: str) -> str | None:
    ext = _extension(name)
    if not ext:
        return f"the file has no extension, so its type is unknown (supported: {_SUPPORTED_LIST})"
    if ext not in SUPPORTED_EXTENSIONS:
        return f"unsupported file type {ext} (supported: {_SUPPORTED_LIST})"
    return None


def _too_big(size: int, limit: int) -> str:
    return f"the file is {_size(size)}, the limit is {_size(limit)}"


def _size(size: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _extract(
    source: str, file_name: str, data: bytes, limits: Limits, *, nested: bool
) -> Iterator[RawItem | ExtractFailure]:
    """`source` labels the results; `file_name` (the archive member's own name inside an archive) decides
    the format."""
    problem = _name_problem(file_name)
    if problem is not None:
        yield ExtractFailure(source, problem)
        return
    if len(data) > limits.max_file_bytes:
        yield ExtractFailure(source, _too_big(len(data), limits.max_file_bytes))
        return
    ext = _extension(file_name)
    if ext == ".zip":
        if nested:
            yield ExtractFailure(source, _NESTED_ZIP)
        else:
            yield from _extract_zip(source, data, limits)
    elif ext in (".jsonl", ".json"):
        yield from _extract_json(source, data, limits, lines=ext == ".jsonl")
    else:
        try:
            result = _EXTRACTORS[ext](source, data, limits)
        except ExtractError as exc:
            result = ExtractFailure(source, exc.reason)
        yield result


def _item(
    source: str,
    text: str,
    limits: Limits,
    *,
    title: str | None = None,
    url: str | None = None,
    date: str | None = None,
    lang: str | None = None,
    prefix: str = "",
) -> RawItem | ExtractFailure:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ExtractFailure(source, prefix + _NO_TEXT)
    if len(text) > limits.max_text_chars:
        return ExtractFailure(
            source, f"{prefix}the text is {len(text)} characters long, the limit is {limits.max_text_chars}"
        )
    return RawItem(text, source, _clean_meta(title), _clean_meta(url), _clean_meta(date), _clean_meta(lang))


def _clean_meta(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


# --- decoding ---------------------------------------------------------------------------------------------

# UTF-32 first: its little-endian BOM begins with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Controls other than whitespace and private-use characters: real text has next to none, while binary data
# read as text is full of them.
_JUNK_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
# KOI8-R puts box drawing where cp1251 has letters and punctuation, so cp1251 text read as KOI8-R shows it.
_BOX_RE = re.compile(r"[\u2320\u2321\u2500-\u25a0]")
_CYRILLIC_WORD_RE = re.compile(r"[\u0400-\u04ff]+")
# Relative frequencies of Russian letters (per mille) in ordinary prose.
_RUSSIAN_FREQUENCY = {
    "о": 109.7, "е": 84.5, "а": 80.1, "и": 73.5, "н": 67.0, "т": 62.6, "с": 54.7, "р": 47.3, "в": 45.4,
    "л": 44.0, "к": 34.9, "м": 32.1, "д": 29.8, "п": 28.1, "у": 26.2, "я": 20.1, "ы": 19.0, "ь": 17.4,
    "г": 17.0, "з": 16.5, "б": 15.9, "ч": 14.4, "й": 12.1, "х": 9.7, "ж": 9.4, "ш": 7.3, "ю": 6.4,
    "ц": 4.8, "щ": 3.6, "э": 3.2, "ф": 2.6, "ъ": 0.4, "ё": 0.4,
}  # fmt: skip
_LETTER_LOG_P = {letter: math.log(per_mille / 1000) for letter, per_mille in _RUSSIAN_FREQUENCY.items()}
# Cyrillic letters outside Russian (Ђ, Ї, ...), which cp1251 also holds: rarer than any Russian letter.
_OTHER_LETTER_LOG_P = math.log(0.0002)
_SCORE_SAMPLE_CHARS = 20_000
# The most frequent letter pairs of Russian prose, and pairs its spelling rules out (ь/ъ/ы opening a word,
# й after a consonant, ь/ъ after a vowel), plus long consonant runs. Unlike letter frequencies they do not
# depend on case, so they also tell apart the two readings of all-capitals or all-lower-case texts.
_COMMON_BIGRAMS = frozenset(
    {
        "ст", "но", "то", "на", "ен", "ов", "ни", "ра", "во", "ко", "ос", "пр", "по", "ро", "ре", "ал",
        "ер", "го", "ли", "ет", "ол", "ор", "не", "ка", "ан", "ва", "ел", "от", "ть", "ом", "ле", "ла",
        "те", "ск", "ль", "он", "та", "де", "ри", "ес", "ин", "ат", "ве", "ит", "ой", "из", "ак", "тв",
        "ны", "да", "ед", "ем", "ся", "ам", "ог", "ди", "ей", "бо", "мо", "ма", "об", "ме", "ми", "ча",
        "ил", "вы", "че", "ик", "ки", "аз", "ру", "тр", "бы", "од", "ие", "се", "сл", "ый", "ая", "ую",
        "их", "ых", "ут", "ют", "ят"
    }
)  # fmt: skip
_IMPOSSIBLE_RE = re.compile(r"^[ьъы]|[бвгджзклмнпрстфхцчшщ]й|[аеёиоуыэюяьъй][ьъ]|[бвгджзйклмнпрстфхцчшщ]{4}")


def decode_text(data: bytes) -> str:
    """Decodes text in UTF-8, UTF-16/32 (with a BOM, or UTF-16 without one), cp1251 or KOI8-R.

    Raises ExtractError when the bytes read as none of them, e.g. binary data.
    """
    if not data:
        return ""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _decode_mostly(data[len(bom) :], codec)
            if text is None or not _looks_like_text(text):
                raise ExtractError(_UNDECODABLE)
            return text
    utf16 = _guess_utf16(data)
    if utf16 is not None:
        text = _decode_mostly(data, utf16)
        if text is not None and _looks_like_text(text):
            return text
    text = _decode_mostly(data, "utf-8")
    if text is not None and _looks_like_text(text):
        return text
    candidates: list[str] = []
    for codec in ("cp1251", "koi8-r"):
        try:
            candidate = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(candidate) and len(_BOX_RE.findall(candidate)) <= 0.02 * len(candidate):
            candidates.append(candidate)
    if not candidates:
        raise ExtractError(_UNDECODABLE)
    # Both decode almost any byte string, and charset detectors mix them up on short texts; which one
    # reads as Russian is a sharper test.
    return max(candidates, key=_russian_score)


def _decode_mostly(data: bytes, codec: str) -> str | None:
    """Strict decoding, but a file that is valid except for a few spots (cut in the middle of a character,
    one corrupted byte) is still taken, with U+FFFD in those spots."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    text = data.decode(codec, errors="replace")
    bad = text.count("\ufffd")
    # For UTF-8 only non-ASCII characters are evidence: ASCII is valid in cp1251 and KOI8-R too.
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    good = (non_ascii if codec == "utf-8" else len(text)) - bad
    return text if good >= 20 * bad else None


def _looks_like_text(text: str) -> bool:
    return len(_JUNK_RE.findall(text)) <= 0.01 * len(text)


def _guess_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: in Russian or Latin text every other byte is a high byte, 0x00 or 0x04.

    8-bit encodings never produce those bytes in text, so their share on one side is a safe signal.
    """
    if len(data) < 2:
        return None
    even, odd = data[0::2], data[1::2]
    even_high = (even.count(0) + even.count(4)) / len(even)
    odd_high = (odd.count(0) + odd.count(4)) / len(odd)
    if odd_high >= 0.5 and even_high <= 0.1:
        return "utf-16-le"
    if even_high >= 0.5 and odd_high <= 0.1:
        return "utf-16-be"
    return None


def _russian_score(text: str) -> float:
    """How much the text reads as Russian: letter frequencies, plus word case shapes, which a cp1251 /
    KOI8-R mix-up breaks (the two swap the cases: "Привет" becomes "оРШБЕТ")."""
    sample = text[:_SCORE_SAMPLE_CHARS]
    score = -8.0 * len(_BOX_RE.findall(sample))
    for word in _CYRILLIC_WORD_RE.findall(sample):
        lower = word.lower()
        score += sum(_LETTER_LOG_P.get(letter, _OTHER_LETTER_LOG_P) for letter in lower)
        score += 1.5 * sum(1 for i in range(len(lower) - 1) if lower[i : i + 2] in _COMMON_BIGRAMS)
        score -= 5.0 * len(_IMPOSSIBLE_RE.findall(lower))
        if not (word == lower or word.isupper() or (word[0].isupper() and word[1:] == lower[1:])):
            score -= 10.0
    return score


def _decode_html(data: bytes) -> str:
    """HTML: a BOM, then valid UTF-8, then the declared charset, then the same guessing as plain text.

    Valid UTF-8 beats the declaration because pages re-saved as UTF-8 often keep a stale
    `charset=windows-1251`, while cp1251 Russian text is practically never valid UTF-8.
    """
    if data.startswith(tuple(bom for bom, _ in _BOMS)):
        return decode_text(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(data)
    if declared is not None:
        try:
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            if _looks_like_text(text):
                return text
    return decode_text(data)


_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET_RE.search(data[:8192])
    if match is None:
        return None
    charset = match.group(1).decode("ascii").lower()
    # A page whose <meta> is readable as ASCII is not UTF-16/32, whatever it claims (as browsers also rule).
    if charset.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        return None
    return charset


# --- plain text and Markdown ------------------------------------------------------------------------------


def _extract_txt(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    return _item(source, decode_text(data), limits)


_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_QUOTE_RE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_BULLET_RE = re.compile(r"^([ \t]*)[-*+][ \t]+")
_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|])")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_INLINE_RULES = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images carry no text worth indexing
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"), r"\1"),
    # Underscores only at word edges, so that snake_case names survive.
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (_HTML_TAG_RE, ""),
)
# Escaped characters are parked in a private-use plane while the rules run, so that "\*" stays a literal star.
_PARKED = 0xF0000
_UNPARK = {_PARKED + code: code for code in range(128)}


def _extract_markdown(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    text, title = _markdown_to_text(decode_text(data))
    return _item(source, text, limits, title=title)


def _markdown_to_text(markdown: str) -> tuple[str, str | None]:
    lines = _HTML_COMMENT_RE.sub("", markdown.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
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
            heading_text = _markdown_inline(heading.group(2) or "")
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
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text))
    return text, title


def _markdown_inline(line: str) -> str:
    line = _MD_ESCAPE_RE.sub(lambda m: chr(_PARKED + ord(m.group(1))), line)
    for pattern, replacement in _INLINE_RULES:
        line = pattern.sub(replacement, line)
    line = html.unescape(line)
    return line.translate(_UNPARK)


# --- HTML -------------------------------------------------------------------------------------------------

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


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipped: list[str] = []
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
        if tag in self.skipped:
            # Closes the innermost open one, along with anything left unclosed inside it.
            index = len(self.skipped) - 1 - self.skipped[::-1].index(tag)
            del self.skipped[index:]
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


def _extract_html(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    parser = _HTMLText()
    try:
        parser.feed(_decode_html(data))
        parser.close()
    except AssertionError:
        # html.parser guards a few impossible states in malformed markup with asserts; treat as damage.
        raise ExtractError("the HTML file is malformed beyond repair") from None
    meta = parser.meta
    return _item(
        source,
        parser.text(),
        limits,
        title=parser.best_title(),
        url=parser.canonical or meta.get("og:url"),
        date=meta.get("article:published_time") or meta.get("datepublished") or parser.time,
    )


# --- Word -------------------------------------------------------------------------------------------------

# What zipfile raises on damaged archives: BadZipFile for most damage, zlib.error for corrupt deflate
# data, NotImplementedError for unknown format versions, RuntimeError for encrypted members, ValueError and
# EOFError for impossible offsets and cut data.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


def _extract_docx(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    # A .docx is a ZIP archive, and python-docx inflates all of it: the same bomb guard applies.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bomb = _zip_bomb_reason(archive.infolist(), limits)
    except _ZIP_ERRORS:
        raise ExtractError(_DOCX_DAMAGED) from None
    if bomb is not None:
        raise ExtractError(bomb)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading = _docx_blocks(document.iter_inner_content(), blocks)
        core_title = document.core_properties.title
    except Exception:
        # python-docx surfaces damage as whatever zipfile, lxml or its own code hit (KeyError, ValueError,
        # XMLSyntaxError, ...); none of it is actionable beyond "damaged".
        raise ExtractError(_DOCX_DAMAGED) from None
    title = core_title if isinstance(core_title, str) and core_title.strip() else heading
    return _item(source, "\n\n".join(blocks), limits, title=title)


def _docx_blocks(content: Iterable[Any], blocks: list[str]) -> str | None:
    """Appends the text of paragraphs and table cells in document order; returns the first heading."""
    heading: str | None = None
    for block in content:
        if hasattr(block, "rows"):
            # A merged cell comes back once per grid cell it spans, across columns and down rows; its
            # XML element is the same each time.
            seen: set[Any] = set()
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc in seen:
                        continue
                    seen.add(cell._tc)
                    cell_blocks: list[str] = []
                    _docx_blocks(cell.iter_inner_content(), cell_blocks)
                    if cell_blocks:
                        blocks.append("\n".join(cell_blocks))
            continue
        text = block.text.strip()
        if not text:
            continue
        blocks.append(text)
        if heading is None:
            style = block.style.name if block.style is not None else ""
            if style == "Title" or str(style).startswith("Heading"):
                heading = text
    return heading


# --- PDF --------------------------------------------------------------------------------------------------

# A line ending in a hyphen (or soft hyphen) right after a letter: a word broken across lines.
_BROKEN_WORD_RE = re.compile(r"(?<=\w)[-\u00ad\u2010]$")
_PDF_SPACES_RE = re.compile(r"[ \t]{2,}")
_PARAGRAPH_START = '«"“„—–-•*(['


def _extract_pdf(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("the PDF is password-protected; send an unprotected copy or the text")
        pages = list(reader.pages)
    except ExtractError:
        raise
    except Exception:
        # pypdf reports damaged files through many exception types (PdfReadError, KeyError, ValueError,
        # RecursionError on cyclic objects, DependencyError for unsupported encryption, ...).
        raise ExtractError("the PDF file is damaged or encrypted and cannot be read") from None
    if not pages:
        raise ExtractError("the PDF has no pages")
    page_texts: list[str] = []
    failed_pages = 0
    total = 0
    for page in pages:
        try:
            page_text = page.extract_text()
        except Exception:  # one broken page (a bad font or content stream) should not lose the others
            failed_pages += 1
            continue
        page_text = _reflow_pdf_text(page_text)
        if page_text:
            page_texts.append(page_text)
            total += len(page_text)
            if total > limits.max_text_chars:
                break  # the result is refused anyway; no need to parse the remaining pages
    if not page_texts:
        if failed_pages:
            raise ExtractError("the PDF file is damaged: its pages could not be read")
        raise ExtractError(_PDF_NO_TEXT)
    return _item(source, "\n\n".join(page_texts), limits)


def _reflow_pdf_text(text: str) -> str:
    """Joins the lines of each paragraph, which a PDF stores as separately placed lines, and mends words
    hyphenated at line ends ("регулиро-" + "вания").

    A paragraph is taken to end at a blank line, or at a line clearly shorter than the page's usual line
    when the next line starts like a new paragraph: only last lines fall short of the full width.
    """
    # Justified lines come out with widened gaps between words, which carry no meaning.
    lines = [
        _PDF_SPACES_RE.sub(" ", line).strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    usual = lengths[int(len(lengths) * 0.8)] if len(lengths) >= 3 else lengths[-1]
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        if not current:
            current = line
        elif _BROKEN_WORD_RE.search(previous) and (line[0].islower() or previous.endswith("\u00ad")):
            current = current[:-1] + line
        elif previous.endswith(("-", "\u2010")) and previous[-2:-1].isalnum():
            current += line  # a compound split at its hyphen: Алатау-\nСити
        elif len(previous) < 0.75 * usual and (
            line[0].isupper() or line[0].isdigit() or line[0] in _PARAGRAPH_START
        ):
            paragraphs.append(current)
            current = line
        else:
            current += " " + line
        previous = line
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


# --- JSON and JSON Lines ----------------------------------------------------------------------------------

_ITEM_FIELDS = ("title", "url", "date", "lang")


# A parsed entry: its line or item number (None for a lone object), the value, and the parse error if any.
_Entry = tuple[int | None, Any, str | None]


def _extract_json(
    source: str, data: bytes, limits: Limits, *, lines: bool
) -> Iterator[RawItem | ExtractFailure]:
    try:
        text = decode_text(data)
    except ExtractError as exc:
        yield ExtractFailure(source, exc.reason)
        return
    entries: Iterator[_Entry]
    noun = "line" if lines else "item"
    if lines:
        entries = _jsonl_entries(text)
    else:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            yield ExtractFailure(source, "the .json file is not valid JSON")
            return
        if isinstance(document, dict):
            entries = iter([(None, document, None)])
        elif isinstance(document, list):
            entries = ((n, value, None) for n, value in enumerate(document, start=1))
        else:
            yield ExtractFailure(source, 'the .json file must hold a list of objects with a "text" field')
            return
    any_entry = False
    failures = 0
    for number, value, error in entries:
        any_entry = True
        entry_source = source if number is None else f"{source}:{number}"
        prefix = "" if number is None else f"{noun} {number}: "
        result = (
            ExtractFailure(entry_source, prefix + error)
            if error
            else _json_item(entry_source, value, limits, prefix)
        )
        if isinstance(result, ExtractFailure):
            failures += 1
            if failures > limits.max_line_failures:
                continue
        yield result
    if failures > limits.max_line_failures:
        yield ExtractFailure(
            source, f"{failures - limits.max_line_failures} more bad entries were not listed"
        )
    if not any_entry:
        yield ExtractFailure(source, _NO_TEXT)


def _jsonl_entries(text: str) -> Iterator[_Entry]:
    # Only "\n" separates records: str.splitlines() would also split at U+2028 and other separators that
    # JSON allows unescaped inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except (ValueError, RecursionError):
            yield number, None, "not valid JSON"


def _json_item(source: str, record: Any, limits: Limits, prefix: str) -> RawItem | ExtractFailure:
    if not isinstance(record, dict):
        return ExtractFailure(source, prefix + "not a JSON object")
    if "text" not in record:
        return ExtractFailure(source, prefix + 'no "text" field')
    text = record["text"]
    if not isinstance(text, str):
        return ExtractFailure(source, prefix + 'the "text" field is not a string')
    if not text.strip():
        return ExtractFailure(source, prefix + 'the "text" field is empty')
    # Metadata of the wrong type is dropped rather than failing the item: the text is what matters.
    meta = [value if isinstance(value := record.get(name), str) else None for name in _ITEM_FIELDS]
    return _item(source, text, limits, title=meta[0], url=meta[1], date=meta[2], lang=meta[3], prefix=prefix)


# --- ZIP --------------------------------------------------------------------------------------------------

# Only these: bzip2 and LZMA decompress a whole input chunk at once, however large the output, so zipfile
# cannot bound the memory they take.
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_READ_CHUNK = 1024 * 1024


def _zip_bomb_reason(infos: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    if len(infos) > limits.max_zip_members:
        return f"the archive has {len(infos)} entries, the limit is {limits.max_zip_members}"
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_unpacked_bytes:
        return f"the archive unpacks to {_size(total)}, the limit is {_size(limits.max_zip_unpacked_bytes)}"
    for info in infos:
        if info.file_size >= limits.zip_ratio_min_bytes and info.file_size > limits.max_zip_ratio * max(
            info.compress_size, 1
        ):
            return (
                f"the archive looks like a compression bomb: {info.filename} expands "
                f"{info.file_size // max(info.compress_size, 1)} times"
            )
    return None


def _unsafe_member_path(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it.

    Without the UTF-8 flag zipfile reads names as cp437, but Russian Windows archivers write cp866 and some
    tools write UTF-8 without setting the flag.
    """
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for codec in ("utf-8", "cp866"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return name


def _extract_zip(source: str, data: bytes, limits: Limits) -> Iterator[RawItem | ExtractFailure]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        yield ExtractFailure(source, _ZIP_DAMAGED)
        return
    with archive:
        yield from _extract_zip_members(source, archive, limits)


def _extract_zip_members(
    source: str, archive: zipfile.ZipFile, limits: Limits
) -> Iterator[RawItem | ExtractFailure]:
    infos = archive.infolist()
    # The whole archive is judged before anything in it is used: a refused archive yields nothing else.
    for info in infos:
        if not info.filename:  # zipfile cuts names at a NUL byte, so a damaged name can come out empty
            yield ExtractFailure(source, _ZIP_DAMAGED)
            return
        if _unsafe_member_path(info.filename):
            yield ExtractFailure(
                source,
                f"the archive contains an unsafe path {info.filename!r} (absolute or with '..'); "
                "nothing was extracted",
            )
            return
    bomb = _zip_bomb_reason(infos, limits)
    if bomb is not None:
        yield ExtractFailure(source, bomb)
        return
    members = [
        info
        for info in infos
        if not info.is_dir() and not any(_is_skipped_name(part) for part in info.filename.split("/"))
    ]
    if not members:
        yield ExtractFailure(source, "the .zip archive contains no files")
        return
    budget = limits.max_zip_unpacked_bytes
    for info in sorted(members, key=lambda info: info.filename):
        name = _member_name(info)
        member_source = f"{source}:{name}"
        problem = _name_problem(name)
        if problem is None and _extension(name) == ".zip":
            problem = _NESTED_ZIP
        elif problem is None and info.flag_bits & 0x1:
            problem = "the file is password-protected inside the archive"
        elif problem is None and info.compress_type not in _ZIP_METHODS:
            problem = (
                "the file is compressed with a method the bot does not unpack; use ordinary ZIP (Deflate)"
            )
        elif problem is None and info.file_size > limits.max_file_bytes:
            problem = _too_big(info.file_size, limits.max_file_bytes)
        if problem is not None:
            yield ExtractFailure(member_source, problem)
            continue
        try:
            content = _read_member(archive, info, min(limits.max_file_bytes, budget))
        except _ZIP_ERRORS:
            yield ExtractFailure(member_source, "the file could not be unpacked (the archive is damaged)")
            continue
        if content is None:
            if budget < limits.max_file_bytes:
                yield ExtractFailure(
                    source, "the archive unpacks to more than its limit; the rest was skipped"
                )
                return
            yield ExtractFailure(member_source, f"the file is over the {_size(limits.max_file_bytes)} limit")
            continue
        budget -= len(content)
        yield from _extract(member_source, name, content, limits, nested=True)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    """The member's bytes, or None when they run past `cap`.

    Counted while inflating rather than trusting the sizes the archive declares, which are whatever its
    author wrote.
    """
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(_READ_CHUNK):
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


_EXTRACTORS = {
    ".txt": _extract_txt,
    ".md": _extract_markdown,
    ".markdown": _extract_markdown,
    ".html": _extract_html,
    ".htm": _extract_html,
    ".docx": _extract_docx,
    ".pdf": _extract_pdf,
}
