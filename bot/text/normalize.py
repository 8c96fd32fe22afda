"""Cleaning raw texts and reading their metadata: language, date, title, source URL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from razdel import sentenize

_SOFT_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_QUOTE_MAP = {"„": "«", "“": "»", "”": "»", "‟": "»", "‹": "«", "›": "»"}
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANKS_RE = re.compile(r"\n{3,}")
_LINE_EDGES_RE = re.compile(r" ?\n ?")
_DATE_MARKER_RE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*", re.IGNORECASE)
_URL_MARKER_RE = re.compile(r"^\s*(?:url|source)\s*:?\s+(https?://\S+)\s*\n", re.IGNORECASE)
_URL_RE = re.compile(r"https?://[^\s<>\"«»]+")
_ISO_DATE_RE = re.compile(r"\b(20\d{2})-(\d{2})-(\d{2})\b")
_DOTTED_DATE_RE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(20\d{2})\b")
_RU_MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
    "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}  # fmt: skip
_RU_DATE_RE = re.compile(
    r"\b(\d{1,2})\s+(января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
    r"\s+(20\d{2})",
    re.IGNORECASE,
)
_EN_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"])}  # fmt: skip
_EN_DATE_RE = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\s+(\d{1,2}),?"
    r"\s+(20\d{2})"
)
_KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
_CYR_RE = re.compile(r"[а-яё]")
_LAT_RE = re.compile(r"[a-z]")
_KAZ_RE = re.compile(r"[әғқңөұүһі]")
_WORD_RE = re.compile(r"\w+")
_KAZAKH_WORDS = frozenset({"және", "бойынша", "үшін", "мен", "бұл", "осы", "қала", "жылы", "туралы", "деп"})


def normalize_text(text: str) -> str:
    """Unicode NFC, no soft hyphens or zero-width characters, one kind of quotes, tidy whitespace."""
    text = unicodedata.normalize("NFC", text)
    # str.translate walks every character; replacing only what is present is many times faster.
    for ch in _SOFT_CHARS:
        if ch in text:
            text = text.replace(ch, "")
    for ch, repl in _QUOTE_MAP.items():
        if ch in text:
            text = text.replace(ch, repl)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", text)
    text = _SPACES_RE.sub(" ", text)
    text = _LINE_EDGES_RE.sub("\n", text)
    return _BLANKS_RE.sub("\n\n", text).strip()


def detect_language(text: str) -> str:
    """ru, kk or en by script and a few Kazakh markers; 'ru' when unsure (the corpus is mostly Russian)."""
    sample = text[:1500].lower()
    kaz = len(_KAZ_RE.findall(sample))
    lat = len(_LAT_RE.findall(sample))
    cyr = len(_CYR_RE.findall(sample)) + kaz
    if lat > cyr * 2:
        return "en"
    # Kazakh text always shows some of its own letters; without them there is nothing to weigh.
    if not kaz:
        return "ru"
    if kaz / cyr > 0.015:
        return "kk"
    kazakh_words = sum(1 for w in _WORD_RE.findall(sample) if w in _KAZAKH_WORDS)
    return "kk" if kazakh_words >= 3 else "ru"


@dataclass(frozen=True)
class TextMeta:
    text: str
    title: str | None
    published: date | None
    url: str | None


def split_markers(raw: str) -> TextMeta:
    """Read the leading `date YYYY-MM-DD` / `url: …` markers and a headline-like first line."""
    text = normalize_text(raw)
    published: date | None = None
    url: str | None = None
    while True:
        if m := _DATE_MARKER_RE.match(text):
            published = _safe_date(*map(int, m.group(1).split("-")))
            text = text[m.end() :]
            continue
        if m := _URL_MARKER_RE.match(text):
            url = m.group(1)
            text = text[m.end() :]
            continue
        break
    title = None
    first, sep, rest = text.partition("\n")
    if sep and _looks_like_headline(first) and rest.strip():
        title = first.strip()
        text = rest.strip()
    return TextMeta(text=text.strip(), title=title, published=published, url=url)


def _looks_like_headline(line: str) -> bool:
    line = line.strip()
    if not 8 <= len(line) <= 200 or line.startswith(("—", "-", "–")):
        return False
    # A headline is short and does not end like a sentence of body text.
    return not line.endswith((".", ",", ":", ";")) or line.endswith("...")


def find_date(text: str) -> date | None:
    """The first plausible date written in the text (ISO, dd.mm.yyyy, «24 января 2026», January 24, 2026)."""
    head = text[:3000]
    candidates: list[tuple[int, date]] = []
    for m in _ISO_DATE_RE.finditer(head):
        if d := _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            candidates.append((m.start(), d))
    for m in _DOTTED_DATE_RE.finditer(head):
        if d := _safe_date(int(m.group(3)), int(m.group(2)), int(m.group(1))):
            candidates.append((m.start(), d))
    for m in _RU_DATE_RE.finditer(head):
        month = next(v for k, v in _RU_MONTHS.items() if m.group(2).lower().startswith(k))
        if d := _safe_date(int(m.group(3)), month, int(m.group(1))):
            candidates.append((m.start(), d))
    for m in _EN_DATE_RE.finditer(head):
        if d := _safe_date(int(m.group(3)), _EN_MONTHS[m.group(1).lower()], int(m.group(2))):
            candidates.append((m.start(), d))
    return min(candidates)[1] if candidates else None


def find_url(text: str) -> str | None:
    m = _URL_RE.search(text[:2000])
    return m.group().rstrip(".,);") if m else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: str) -> date | None:
    """An ISO date (or datetime) string, or a date written in words; None when it cannot be read."""
    value = value.strip()
    if m := re.match(r"^(\d{4})-(\d{2})-(\d{2})", value):
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return find_date(value)


def sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) with offsets into `text`; paragraph breaks always end a sentence."""
    out: list[tuple[int, int, str]] = []
    offset = 0
    for para in text.split("\n"):
        if para.strip():
            for s in sentenize(para):
                out.append((offset + s.start, offset + s.stop, s.text))
        offset += len(para) + 1
    return out


_QUICK_SENTENCE_END = re.compile(r"(?<=[.!?…])[»\"')]*\s+(?=[«\"(—–-]?\s*[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ0-9])|\n+")


def quick_sentences(text: str) -> list[tuple[int, int, str]]:
    """Sentence bounds by punctuation and capitals: ten times cheaper than `sentences`, a little less exact
    (abbreviations like «г. Алматы» may split); for statistics, not for text shown to people."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for m in _QUICK_SENTENCE_END.finditer(text):
        if text[start : m.start()].strip():
            out.append((start, m.start(), text[start : m.start()]))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text), text[start:]))
    return out


def make_title(text: str, limit: int = 120) -> str:
    """A title for a text that has none: its first sentence, shortened at a word boundary."""
    first = sentences(text)[:1]
    title = first[0][2] if first else text.strip()
    title = title.lstrip("—–- ").strip()
    if len(title) <= limit:
        return title.rstrip(".")
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—– ") + "…"
