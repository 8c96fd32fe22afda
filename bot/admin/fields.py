"""What an admin types for a title, a date or a source, checked and cleaned (shared by previews and edits)."""

from __future__ import annotations

import re
from datetime import date

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.uploads import outlet
from bot.text.normalize import find_url, normalize_text, parse_date

MAX_TITLE_CHARS = 300
MAX_SOURCE_CHARS = 200


def clean_title(value: str) -> str:
    title = normalize_text(" ".join(value.split()))
    if not title or len(title) > MAX_TITLE_CHARS:
        raise UploadError(UploadReason.BAD_TITLE, max=MAX_TITLE_CHARS)
    return title


def parse_day(value: str) -> date:
    day = parse_date(value)
    if day is None:
        # 24.01.2026 is how dates are usually typed here; parse_date only finds it with a four-digit year.
        m = re.fullmatch(r"\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*", value)
        if m:
            try:
                day = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                day = None
    if day is None:
        raise UploadError(UploadReason.BAD_DATE)
    return day


def parse_source(value: str) -> tuple[str | None, str | None]:
    """(outlet name, link) from what an admin typed; the name defaults to the link's site."""
    text = " ".join(value.split())
    url = find_url(text)
    name: str | None = text.replace(url, "").strip(" -—|·,") if url else text
    name = name or outlet(url)
    if not name or len(name) > MAX_SOURCE_CHARS:
        raise UploadError(UploadReason.BAD_SOURCE, max=MAX_SOURCE_CHARS)
    return name, url
