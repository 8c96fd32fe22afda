"""Cleaning raw texts and reading their metadata: language, date, title, source URL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from razdel import sentenize

from bot.text import cues
from bot.text.dates import first_date, is_relative_stamp, read_dateline, read_stamp, safe_date
from bot.text.titles import BIDI_CONTROLS_RE
from bot.text.titles import make_title as make_title  # callers read all of a text's metadata from here

_SOFT_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_QUOTE_MAP = {"„": "«", "“": "»", "”": "»", "‟": "»", "‹": "«", "›": "»"}
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Where _SPACES_RE changes something: a space other than " " (this), or two in a row (looked for apart: a
# pattern with that branch has no leading character set to scan for, and costs several times more).
_ODD_SPACES_RE = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Any character that the first steps of `normalize_text` remove or replace (soft, quotes, CR, control, bidi).
_CHANGED_CHARS_RE = re.compile(
    "["
    + _SOFT_CHARS
    + "".join(_QUOTE_MAP)
    + "\r"
    + _CONTROL_RE.pattern[1:-1]
    + BIDI_CONTROLS_RE.pattern[1:-1]
    + "]"
)
_BLANKS_RE = re.compile(r"\n{3,}")
_LINE_EDGES_RE = re.compile(r" ?\n ?")
_DATE_MARKER_RE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*", re.IGNORECASE)
_URL_MARKER_RE = re.compile(r"^\s*(?:url|source)\s*:?\s+(https?://\S+)\s*\n", re.IGNORECASE)
_URL_RE = re.compile(r"https?://[^\s<>\"«»]+")
_KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# The letters of the classes [а-яё], [a-z] and [әғқңөұүһі].
_CYR_LETTERS = (*map(chr, range(ord("а"), ord("я") + 1)), "ё")
_LAT_LETTERS = tuple(map(chr, range(ord("a"), ord("z") + 1)))
_KAZ_LETTERS = tuple("әғқңөұүһі")
# Any letter of _LAT_LETTERS or _KAZ_LETTERS: a sample without them is Russian (or unknown, so Russian too).
_LAT_KAZ_RE = re.compile("[a-z" + "".join(_KAZ_LETTERS) + "]")
_WORD_RE = re.compile(r"\w+")
_KAZAKH_WORDS = frozenset({"және", "бойынша", "үшін", "мен", "бұл", "осы", "қала", "жылы", "туралы", "деп"})


def normalize_text(text: str) -> str:
    """Unicode NFC, no soft hyphens, zero-width or bidirectional control characters, one kind of quotes,
    tidy whitespace."""
    text = unicodedata.normalize("NFC", text)
    # Most texts have none of the characters removed or replaced next: one scan tells.
    if _CHANGED_CHARS_RE.search(text):
        # str.translate walks every character; replacing only what is present is many times faster.
        for ch in _SOFT_CHARS:
            if ch in text:
                text = text.replace(ch, "")
        for ch, repl in _QUOTE_MAP.items():
            if ch in text:
                text = text.replace(ch, repl)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL_RE.sub("", text)
        text = BIDI_CONTROLS_RE.sub("", text)
    # Each substitution only where it changes something: a text of single plain spaces and tidy line breaks
    # (most texts) would otherwise have every space and line break replaced by itself.
    if "  " in text or _ODD_SPACES_RE.search(text):
        text = _SPACES_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANKS_RE.sub("\n\n", text)
    return text.strip()


def detect_language(text: str) -> str:
    """ru, kk or en by script and a few Kazakh markers; 'ru' when unsure (the corpus is mostly Russian)."""
    sample = text[:1500].lower()
    # With no Latin or Kazakh letter the answer is "ru" whatever the counts: one scan tells (most texts).
    if not _LAT_KAZ_RE.search(sample):
        return "ru"
    # Counting each letter in C is several times faster than collecting the matches of a character class,
    # and than finding first which letters the sample has (a set of its characters).
    count = sample.count
    kaz = sum(map(count, _KAZ_LETTERS))
    lat = sum(map(count, _LAT_LETTERS))
    cyr = sum(map(count, _CYR_LETTERS)) + kaz
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
    """Read the leading `date YYYY-MM-DD` / `url: …` markers, a headline-like first line and the dateline.

    The date comes from the marker, else from a dateline that opens the text («2026 жылғы 24 қаңтар.»,
    "ASTANA, March 3, 2026 –"); a date further on is a mention, not the publication date. Lines of metadata
    above the report (a dateline alone on its line, a byline, a photo credit) are not part of its text.
    """
    text = normalize_text(raw)
    published: date | None = None
    url: str | None = None
    while True:
        if m := _DATE_MARKER_RE.match(text):
            published = safe_date(*map(int, m.group(1).split("-")))
            text = text[m.end() :]
            continue
        if m := _URL_MARKER_RE.match(text):
            url = m.group(1)
            text = text[m.end() :]
            continue
        break
    title = None
    while True:
        first, sep, rest = text.partition("\n")
        if not sep or not rest.strip():
            break
        dateline = read_dateline(first)
        if dateline is not None and dateline.alone:
            published = published or dateline.published
        elif (stamp := read_stamp(first)) or is_relative_stamp(first):
            published = published or stamp
        elif not (cues.is_byline(first) or cues.is_boilerplate(first)):
            # A line that opens with a dateline is the first sentence of the report, not its headline.
            if title is not None or dateline is not None or not _looks_like_headline(first):
                break
            title = first.strip()
        text = rest.strip()
    if published is None and (dateline := read_dateline(text)):
        published = dateline.published
    # Some sites print the publication stamp under the text («Опубликовано: 21 марта 2026, 09:40»).
    rest, sep, last = text.rpartition("\n")
    if sep and rest.strip() and ((stamp := read_stamp(last)) or is_relative_stamp(last)):
        published = published or stamp
        text = rest
    return TextMeta(text=text.strip(), title=title, published=published, url=url)


def _looks_like_headline(line: str) -> bool:
    line = line.strip()
    if not 8 <= len(line) <= 200 or line.startswith(("—", "-", "–")):
        return False
    # A headline is short and does not end like a sentence of body text.
    return not line.endswith((".", ",", ":", ";")) or line.endswith("...")


def find_date(text: str) -> date | None:
    """The first date written in `text` (ISO, dd.mm.yyyy, «24 января 2026», «2026 жылғы 24 қаңтар»,
    "January 24, 2026"): for a string that is a date. A text's publication date is its dateline's."""
    return first_date(text)


def find_dateline(text: str) -> date | None:
    """The date of the dateline that opens `text`; None when it has none (a date further on is a mention)."""
    found = read_dateline(text)
    return found.published if found else None


def find_url(text: str) -> str | None:
    m = _URL_RE.search(text[:2000])
    return m.group().rstrip(".,);") if m else None


def parse_date(value: str) -> date | None:
    """An ISO date (or datetime) string, or a date written in words; None when it cannot be read."""
    value = value.strip()
    if m := re.match(r"^(\d{4})-(\d{2})-(\d{2})", value):
        return safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return first_date(value)


# razdel ends a sentence after "Oct." in "on Oct. 19, the Akorda press service reported".
_MONTH_ABBREVIATION_RE = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.$")


def sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) with offsets into `text`; paragraph breaks always end a sentence, and a dateline
    stays with the sentence it opens ("ASTANA. KAZINFORM – …", «Астана, 24 января 2026 года. Глава…»)."""
    out: list[tuple[int, int, str]] = []
    offset = 0
    for para in text.split("\n"):
        if para.strip():
            bounds = [(s.start, s.stop) for s in sentenize(para)]
            if len(bounds) > 1:
                bounds = _mend(para, bounds)
            out.extend((offset + a, offset + b, para[a:b]) for a, b in bounds)
        offset += len(para) + 1
    return out


def _mend(para: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    dateline = read_dateline(para)
    if dateline is not None and not dateline.alone:
        # The sentence the report starts in, at or after the end of the dateline, takes the dateline in.
        last = next((i for i, (_, b) in enumerate(bounds) if b > dateline.end), 0)
        if last:
            bounds[: last + 1] = [(bounds[0][0], bounds[last][1])]
    mended = bounds[:1]
    for a, b in bounds[1:]:
        prev_a, prev_b = mended[-1]
        if para[a : a + 1].isdigit() and _MONTH_ABBREVIATION_RE.search(para[prev_a:prev_b]):
            mended[-1] = (prev_a, b)
        else:
            mended.append((a, b))
    return mended


# The end mark is matched rather than looked behind at, which lets the scan jump to the candidates; a
# sentence ends after it (group 1 starts there), or at a line break. The pattern starts with one character
# set, the branches telling after it which one it was: a pattern that starts with alternatives has no set
# of first characters for the scan to jump by, and tries every position (about four times slower).
_QUICK_SENTENCE_END = re.compile(
    r"[.!?…\n](?:(?<=[.!?…])([»\"')]*\s+)(?=[«\"(—–-]?\s*[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ0-9])|(?<=\n)\n*)"
)


def quick_sentences(text: str) -> list[tuple[int, int, str]]:
    """Sentence bounds by punctuation and capitals: ten times cheaper than `sentences`, a little less exact
    (abbreviations like «г. Алматы» may split); for statistics, not for text shown to people."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for m in _QUICK_SENTENCE_END.finditer(text):
        end = m.start(1) if m.lastindex == 1 else m.start()
        if (sentence := text[start:end]).strip():
            out.append((start, end, sentence))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text), text[start:]))
    return out
