"""Bytes to text: the encodings Russian and Kazakh files come in, told apart by how the result reads."""

from __future__ import annotations

import codecs
import math
import re

from bot.corpus.errors import UploadError, UploadReason

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

    Raises UploadError when the bytes read as none of them, e.g. binary data.
    """
    if not data:
        return ""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _decode_mostly(data[len(bom) :], codec)
            if text is None or not _looks_like_text(text):
                raise UploadError(UploadReason.UNDECODABLE)
            return text
    utf16 = _guess_utf16(data)
    if utf16 is not None:
        text = _decode_mostly(data, utf16)
        if text is not None and _looks_like_text(text):
            return text
    text = _decode_mostly(data, "utf-8")
    if text is not None and _looks_like_text(text):
        return text
    whole = _decode_8bit(data)
    return _decode_lines(data, whole) if b"\n" in data.strip() else whole


def _decode_8bit(data: bytes) -> str:
    candidates: list[str] = []
    for codec in ("cp1251", "koi8-r"):
        try:
            candidate = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(candidate) and len(_BOX_RE.findall(candidate)) <= 0.02 * len(candidate):
            candidates.append(candidate)
    if not candidates:
        raise UploadError(UploadReason.UNDECODABLE)
    # Both decode almost any byte string, and charset detectors mix them up on short texts; which one
    # reads as Russian is a sharper test.
    return max(candidates, key=_russian_score)


# How much better (in `_russian_score` points) a line must read in another encoding than in the file's own
# for it to be taken as that encoding: short lines give weak evidence, and a wrong switch garbles a line.
_SWITCH_MARGIN = 12.0


def _decode_lines(data: bytes, whole: str) -> str:
    """A file whose lines come in different encodings (pasted together from several sources: UTF-8, cp1251
    and KOI8-R lines) is decoded line by line; each line keeps the file's overall encoding unless it is
    valid UTF-8 with letters outside ASCII, or clearly reads better in the other 8-bit encoding."""
    lines = data.split(b"\n")
    codec = "cp1251" if whole == _lenient(data, "cp1251") else "koi8-r"
    other = "koi8-r" if codec == "cp1251" else "cp1251"
    out: list[str] = []
    for line in lines:
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            continue
        except UnicodeDecodeError:
            pass
        own, alternative = _lenient(line, codec), _lenient(line, other)
        if _russian_score(alternative) > _russian_score(own) + _SWITCH_MARGIN:
            own = alternative
        if not _looks_like_text(own):
            raise UploadError(UploadReason.MIXED_ENCODING)
        out.append(own)
    return "\n".join(out)


def _lenient(data: bytes, codec: str) -> str:
    return data.decode(codec, errors="replace")


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


def decode_html(data: bytes) -> str:
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
