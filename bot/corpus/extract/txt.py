"""Plain text: only decoded."""

from __future__ import annotations

from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item
from bot.corpus.extract.decode import decode_text


def extract_txt(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    return make_item(source, decode_text(data), limits)
