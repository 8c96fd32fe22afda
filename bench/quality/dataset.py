"""The evaluation set: texts with their labels, queries with graded relevance, gold extracts.

Files (see data/README.md):
* data/texts/<id>.txt — a header of `key: value` lines, a line `---`, then the raw text as uploaded;
* data/queries.jsonl — {"q": ..., "split": "tune"|"test", "rel": {text_id: 1..3}, "note": ...};
* data/gold_summaries.jsonl — {"id": text_id, "extract": [sentence, sentence]}, sentences copied from the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).parent / "data"
SPLITS = ("tune", "test")
# How a reader (or a bot) can know when a text was published:
#   meta      the upload carries the date (a feed's JSONL "date" field);
#   marker    a leading `date YYYY-MM-DD` line (the bot's own convention);
#   dateline  a dateline opens the text («24 января 2026 года.», «2026 жылғы 24 қаңтар.», "ASTANA, March 3, 2026");
#   stamp     the site's publication stamp copied with the text («19.09.2025 10:21», «21 ноября 2025, 18:05»);
#   body      the first date of the body is the publication day (a same-day report of a dated document);
#   none      nothing tells: the right answer is "no date", and any date read from the body is wrong.
CLUES = frozenset({"meta", "marker", "dateline", "stamp", "body", "none"})
_HEADER_KEYS = frozenset(
    {"id", "story", "split", "lang", "source", "date", "clue", "url", "title", "headline"}
)


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Text:
    id: str
    story: str
    split: str
    lang: str
    source: str
    published: date | None  # the true publication date; None when unknown even to us
    clue: str
    url: str | None
    title: str | None  # the title the upload carries (a feed's field), if any
    headline: str | None  # the article's real headline, when the upload shows it (title field or first line)
    raw: str  # the text exactly as uploaded

    @property
    def upload_date(self) -> str | None:
        return self.published.isoformat() if self.clue == "meta" and self.published else None

    @property
    def expected_date(self) -> date | None:
        """What a careful reader would store as the publication date: None when nothing tells it."""
        return None if self.clue == "none" else self.published


@dataclass(frozen=True)
class Query:
    q: str
    split: str
    rel: dict[str, int]
    note: str = ""


@dataclass(frozen=True)
class GoldSummary:
    id: str
    extract: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    texts: dict[str, Text]
    queries: list[Query]
    summaries: list[GoldSummary]

    def split_of(self, text_id: str) -> str:
        return self.texts[text_id].split


def parse_text(path: Path) -> Text:
    raw = path.read_text(encoding="utf-8")
    head, sep, body = raw.partition("\n---\n")
    if not sep:
        raise DataError(f"{path.name}: no '---' line between the header and the text")
    fields: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line.partition(": ")
        if not colon or key not in _HEADER_KEYS:
            raise DataError(f"{path.name}: bad header line {line!r}")
        fields[key] = value.strip()
    for key in ("id", "story", "split", "lang", "source", "date", "clue"):
        if key not in fields:
            raise DataError(f"{path.name}: no {key!r} in the header")
    if fields["id"] != path.stem:
        raise DataError(f"{path.name}: id {fields['id']!r} differs from the file name")
    if fields["split"] not in SPLITS:
        raise DataError(f"{path.name}: split must be one of {SPLITS}")
    if fields["clue"] not in CLUES:
        raise DataError(f"{path.name}: clue must be one of {sorted(CLUES)}")
    published = None if fields["date"] == "unknown" else date.fromisoformat(fields["date"])
    if published is None and fields["clue"] != "none":
        raise DataError(f"{path.name}: an unknown date can only have clue 'none'")
    text = body.strip("\n")
    headline = fields.get("headline")
    if headline and headline != fields.get("title") and headline not in text:
        raise DataError(f"{path.name}: the headline is neither the upload title nor in the text")
    return Text(
        id=fields["id"],
        story=fields["story"],
        split=fields["split"],
        lang=fields["lang"],
        source=fields["source"],
        published=published,
        clue=fields["clue"],
        url=fields.get("url"),
        title=fields.get("title"),
        headline=headline,
        raw=text,
    )


def _jsonl(path: Path) -> list[dict[str, object]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            value = json.loads(line)
            if not isinstance(value, dict):
                raise DataError(f"{path.name}:{n}: not an object")
            out.append(value)
    return out


def load(data: Path = DATA) -> Dataset:
    texts = {t.id: t for t in (parse_text(p) for p in sorted((data / "texts").glob("*.txt")))}
    story_split: dict[str, str] = {}
    for t in texts.values():
        if story_split.setdefault(t.story, t.split) != t.split:
            raise DataError(f"story {t.story} is in both splits: a story must stay whole in one split")
    queries = []
    for n, obj in enumerate(_jsonl(data / "queries.jsonl"), start=1):
        rel = obj.get("rel")
        q, split = obj.get("q"), obj.get("split")
        if not isinstance(q, str) or split not in SPLITS or not isinstance(rel, dict) or not rel:
            raise DataError(f"queries.jsonl:{n}: needs q, split and a non-empty rel")
        for tid, grade in rel.items():
            if tid not in texts:
                raise DataError(f"queries.jsonl:{n}: unknown text {tid}")
            if grade not in (1, 2, 3):
                raise DataError(f"queries.jsonl:{n}: grade of {tid} must be 1, 2 or 3")
        note = obj.get("note", "")
        queries.append(Query(q, str(split), {str(k): int(v) for k, v in rel.items()}, str(note)))
    summaries = []
    for n, obj in enumerate(_jsonl(data / "gold_summaries.jsonl"), start=1):
        tid, extract = obj.get("id"), obj.get("extract")
        if not isinstance(tid, str) or tid not in texts or not isinstance(extract, list) or not extract:
            raise DataError(f"gold_summaries.jsonl:{n}: needs a known id and a list of sentences")
        for sentence in extract:
            if not isinstance(sentence, str) or sentence not in texts[tid].raw:
                raise DataError(f"gold_summaries.jsonl:{n}: sentence not copied from {tid}: {sentence!r}")
        summaries.append(GoldSummary(tid, tuple(str(s) for s in extract)))
    return Dataset(texts, queries, summaries)
