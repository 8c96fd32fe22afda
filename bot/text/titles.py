"""A title for a text that came without a headline: a sentence of it that stands alone.

Never the dateline, a byline or a credit, and never a sentence that points back to one the reader of the
title has not seen («Он напомнил, что…», «По его словам…», «Бұл туралы…», "He said…"). A reported statement
keeps what was reported: «Он напомнил, что указом Президента…» gives «Указом Президента…».
"""

from __future__ import annotations

import re

from razdel import sentenize

from bot.text import cues
from bot.text.dates import strip_dateline

# Deeper than this a sentence is detail, not what the text is about; better a fallback from the lead.
_LOOK_AHEAD = 8
_MIN_WORDS = 4
# Bidirectional controls (LRM/RLM, embeddings, overrides, isolates): nothing in Russian, Kazakh or English
# text needs them, and an override (U+202E) shows a title reversed, so that it can pose as another one.
BIDI_CONTROLS_RE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def make_title(text: str, limit: int = 120) -> str:
    """A title for `text`: its first sentence that stands alone, shortened at a word boundary to `limit`."""
    candidates = _sentences(strip_dateline(text))
    title = _standalone(candidates) or next(
        (cues.bare(s) for s in candidates if not cues.is_metadata(s) and not cues.points_back(s)), None
    )
    if title is None:
        title = cues.bare(candidates[0]) if candidates else text.strip()
    return shorten(cues.without_attribution(title), limit)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            out.extend(s.text for s in sentenize(line) if any(ch.isalnum() for ch in s.text))
        if len(out) >= _LOOK_AHEAD:
            break
    return out[:_LOOK_AHEAD]


def _standalone(candidates: list[str]) -> str | None:
    for s in candidates:
        if cues.is_metadata(s) or len(s.split()) < _MIN_WORDS:
            continue
        if cues.points_back(s):
            reported = cues.without_reporting_frame(s)
            if reported and not cues.points_back(reported):
                return reported
            continue
        if s.startswith(("—", "–", "-")) or cues.adds_to_previous(s):
            continue  # direct speech (whose words they are is said after them), or «Также…»
        return s
    return None


def shorten(title: str, limit: int) -> str:
    title = BIDI_CONTROLS_RE.sub("", title).strip()
    if len(title) <= limit:
        return title.rstrip(".").rstrip()
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—–- ") + "…"
