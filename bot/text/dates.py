"""Dates written in news texts, in Russian, Kazakh and English, and the dateline that opens a report.

A report's publication date is in its metadata or in its dateline — the place, date and agency that open it
(«АСТАНА, 24 января 2026 года —», «2026 жылғы 24 қаңтар.», "ASTANA, March 3, 2026 (Kazinform) –"). A date
anywhere else is a mention («закон вступит в силу с 1 марта 2027 года») and says nothing about when the text
was written, so only `read_dateline` may date a text; `first_date` is for strings that are nothing but a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_RU_MONTHS = (
    "январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр",
)  # fmt: skip
_KK_MONTHS = (
    "қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша",
    "желтоқсан",
)  # fmt: skip
_EN_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip

_RU_MONTH = r"(?:январ[ья]|феврал[ья]|марта?|апрел[ья]|ма[йя]|июн[ья]|июл[ья]|августа?|сентябр[ья]|октябр[ья]|ноябр[ья]|декабр[ья])"
# Kazakh months take case endings: «24 қаңтарда», «қаңтардағы», «наурызға дейін».
_KK_MONTH = r"(?:қаңтар|ақпан|наурыз|сәуір|мамыр|маусым|шілде|тамыз|қыркүйек|қазан|қараша|желтоқсан)\w*"
_EN_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)"
)
_MONTH = rf"(?P<month>{_RU_MONTH}|{_KK_MONTH}|{_EN_MONTH})(?!\w)"
_DAY = r"(?P<day>\d{1,2})"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_YEAR_WORD = r"(?:\s*(?:года|год|г\.|г\b|жылғы|жылы|жыл|ж\.))?"

# Each pattern reads one date at the current position; a missing year leaves the day unknown.
_DATE_PATTERNS = (
    re.compile(rf"{_YEAR}-(?P<mon>\d{{2}})-{_DAY}\b"),
    re.compile(rf"{_DAY}[./](?P<mon>\d{{1,2}})[./]{_YEAR}\b{_YEAR_WORD}"),
    # 2026 жылғы 24 қаңтар / 2026 ж. 24-қаңтарда
    re.compile(rf"{_YEAR}\s*(?:жылғы|жылы|ж\.)\s*{_DAY}\s*-?\s*{_MONTH}", re.IGNORECASE),
    # 24 января 2026 года / 3 March 2026 / 24 қаңтар 2026 ж.
    re.compile(rf"{_DAY}\s*-?\s*{_MONTH}(?:\s+{_YEAR}\b{_YEAR_WORD})?", re.IGNORECASE),
    # March 3, 2026 / Oct. 19, 2022
    re.compile(rf"{_MONTH}\s+{_DAY}(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR}\b)?", re.IGNORECASE),
)
_TIME = r"(?:(?:в\s+)?\d{1,2}:\d{2}(?::\d{2})?)"
_LABEL_RE = re.compile(
    r"(?:Опубликовано|Дата публикации|Дата|Published|Posted|Жарияланды|Жарияланған уақыты)\b\s*:?\s*",
    re.IGNORECASE,
)
_TIME_RE = re.compile(rf"{_TIME}\s*,?\s*")
_TRAILING_TIME_RE = re.compile(rf"\s*[,|]?\s*{_TIME}")
# A place opens a dateline: one to three capitalised words, maybe with a country («BAKU, Azerbaijan, June 12»).
_CAP = r"[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w’'-]*"
_PLACE_RES = (
    re.compile(rf"{_CAP}(?:[ -]{_CAP}){{0,2}}\s*[,.]\s*"),
    re.compile(rf"{_CAP}(?:[ -]{_CAP}){{0,2}},\s*{_CAP}\s*[,.]\s*"),
)
_UPPER_PLACE_RE = re.compile(
    r"(?P<place>[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ]{4,}(?:[ -][A-ZА-ЯЁӘҒҚҢӨҰҮҺІ]{2,}){0,2})(?:,\s*[A-ZА-Я][\w-]*)?\b\s*"
)
_AGENCIES = (
    r"KAZINFORM|QAZINFORM|КАЗИНФОРМ|ҚАЗАҚПАРАТ|ҚазАқпарат|Kazinform|Qazinform|Sputnik|Trend|AJP|TASS|ТАСС"
)
_AGENCY_RE = re.compile(rf"\s*\.?\s*(?:\(\s*[\w .-]{{2,24}}\)|/\s*[\w .-]{{2,24}}/|(?:{_AGENCIES})\b)\s*")
_SEPARATOR_RE = re.compile(r"\s*(?:[—–-]+|[.:])\s*|\s*(?:\n|$)")
_DASH_RE = re.compile(r"\s*[—–-]+\s*")


def month_number(word: str) -> int | None:
    """1–12 for a month name in Russian, Kazakh (any case ending) or English (full or abbreviated)."""
    w = word.lower().rstrip(".")
    for stems in (_KK_MONTHS, _EN_MONTHS):
        for i, stem in enumerate(stems):
            if w.startswith(stem):
                return i + 1
    for i, stem in enumerate(_RU_MONTHS):
        if w.startswith(stem) and (stem != "ма" or w in {"май", "мая"}):
            return i + 1
    return None


def safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Found:
    end: int
    value: date | None  # None when the year is not written
    complete: bool


def _date_at(text: str, pos: int) -> _Found | None:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text, pos)
        if not m:
            continue
        groups = m.groupdict()
        month = int(groups["mon"]) if groups.get("mon") else month_number(groups.get("month") or "")
        if month is None:
            continue
        if groups.get("year") is None:
            return _Found(m.end(), None, False)
        return _Found(m.end(), safe_date(int(groups["year"]), month, int(groups["day"])), True)
    return None


def first_date(text: str) -> date | None:
    """The first complete, valid date written anywhere in `text` (for a string that is just a date)."""
    for m in re.finditer(r"(?<!\d)\d|\b[A-ZА-Яa-zа-яӘҒҚҢӨҰҮҺІәғқңөұүһі]", text[:3000]):
        found = _date_at(text, m.start())
        if found and found.value:
            return found.value
    return None


@dataclass(frozen=True)
class Dateline:
    published: date | None  # None when the dateline names no year (or no date at all)
    end: int  # where the report itself starts
    alone: bool  # nothing else on the dateline's line: a line of metadata, not part of the first sentence


def read_dateline(text: str) -> Dateline | None:
    """The dateline at the very start of `text`, if there is one."""
    pos = len(text) - len(text.lstrip())
    if m := _LABEL_RE.match(text, pos):
        pos = m.end()
    if m := _TIME_RE.match(text, pos):
        pos = m.end()
    found = _date_at(text, pos)
    if found is None:
        found = _placed_date(text, pos)
        if found is None:
            return _place_only(text, pos)
    end = found.end
    if m := _TRAILING_TIME_RE.match(text, end):
        end = m.end()
    if m := _AGENCY_RE.match(text, end):
        end = m.end()
    sep = _SEPARATOR_RE.match(text, end)
    if sep is None:
        return None  # «1 марта 2027 года вступит в силу…»: a date that is the subject of the sentence
    return _dateline(text, found.value if found.complete else None, sep.end())


def _placed_date(text: str, pos: int) -> _Found | None:
    for pattern in _PLACE_RES:
        if (m := pattern.match(text, pos)) and (found := _date_at(text, m.end())):
            return found
    return None


def _place_only(text: str, pos: int) -> Dateline | None:
    """«ASTANA. KAZINFORM –», «ASTANA –»: a place in capitals, maybe an agency, then a dash."""
    m = _UPPER_PLACE_RE.match(text, pos)
    if m is None:
        return None
    end = m.end()
    agency = _AGENCY_RE.match(text, end)
    if agency:
        end = agency.end()
    elif len(m.group("place")) < 5:  # «НАТО — …», «МФЦА — …»: an acronym opening a sentence, not a place
        return None
    dash = _DASH_RE.match(text, end)
    if dash is None or dash.end() == end:
        return None
    rest = text[dash.end() :].split("\n", 1)[0]
    if rest.upper() == rest:  # «АЛАТАУ — ГОРОД БУДУЩЕГО»: a headline in capitals
        return None
    return _dateline(text, None, dash.end())


def _dateline(text: str, published: date | None, end: int) -> Dateline:
    alone = "\n" in text[:end].lstrip() or not text[end:].split("\n", 1)[0].strip()
    return Dateline(published, end, alone)


# Words a publication stamp may hold besides names: "By Staff Report in Nation on 24 December 2025".
_STAMP_WORDS = frozenset(
    [
        "in",
        "on",
        "at",
        "by",
        "from",
        "of",
        "от",
        "в",
        "и",
        "опубликовано",
        "обновлено",
        "дата",
        "published",
        "posted",
        "updated",
        "жарияланды",
    ]
)
_STAMP_MAX = 80


def read_stamp(line: str) -> date | None:
    """The date of a line that is a publication stamp and nothing else: a dateline alone on its line
    («Опубликовано: 21 марта 2026, 09:40»), or a source or byline followed by the date («Forbes Kazakhstan ·
    13 сентября 2025», «"Огни Алатау", 12 января 2024 г.»). A headline that names a date («Закон вступит в силу
    1 марта 2027 года») is not a stamp: its words are not names."""
    line = line.strip()
    if not line or len(line) > _STAMP_MAX:
        return None
    found = read_dateline(line)
    if found is not None:
        return found.published if found.published and not line[found.end :].strip() else None
    for m in re.finditer(r"(?<![\d.])\d|\b[A-Z][a-z]", line):
        date_found = _date_at(line, m.start())
        if date_found is None or not date_found.complete:
            continue
        tail = line[date_found.end :]
        if (t := _TRAILING_TIME_RE.match(tail)) is not None:
            tail = tail[t.end() :]
        if tail.strip(" .,") or not _name_like(line[: m.start()]):
            return None
        return date_found.value
    return None


_RELATIVE_STAMP_RE = re.compile(
    rf"^(?:сегодня|вчера|бүгін|кеше|today|yesterday)\s*,?\s*{_TIME}\s*$", re.IGNORECASE
)


def is_relative_stamp(line: str) -> bool:
    """«Вчера, 15:10»: a site's stamp copied with the text; which day it means is known only to the uploader."""
    return bool(_RELATIVE_STAMP_RE.match(line.strip()))


def _name_like(prefix: str) -> bool:
    words = prefix.replace("·", " ").replace("|", " ").split()
    return 0 < len(words) <= 7 and all(
        w.lower().strip(",:") in _STAMP_WORDS or not w.strip("«»\"'(,:").islower() for w in words
    )


def strip_dateline(text: str) -> str:
    """`text` without its dateline."""
    found = read_dateline(text)
    return text[found.end :].lstrip() if found else text
