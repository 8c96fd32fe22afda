"""`python -m bench.quality [--json] [--details]`: the bot's news understanding on the evaluation set.

Every figure is printed for the tune and the test split side by side, each beside baselines computed in the
same run on the same texts. Tune anything (the bot or a baseline's parameters) on the tune split only; the
test split is what the issue's targets are checked on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.quality import baselines
from bench.quality.dataset import DATA, SPLITS, Dataset, load
from bench.quality.metrics import bcubed, mean, ndcg_at_k, recall_at_k, reciprocal_rank, rouge
from bench.quality.system import BotSystem, Stored, Upload

K = 10
TARGETS = {
    "search.ndcg": 0.80,
    "search.recall": 0.75,
    "stories.f1": 0.88,
    "summaries.rouge2_over_lead2": 0.05,
}

# -- what the bot produced -------------------------------------------------------------------------------


@dataclass
class BotRun:
    stored: dict[str, Stored]
    rankings: dict[str, list[str]]  # query → text ids, best first
    summaries: dict[str, list[str]]  # text id → the bot's 2-sentence summary
    seconds: dict[str, float] = field(default_factory=dict)


def _uploads(ds: Dataset) -> list[Upload]:
    return [
        Upload(key=t.id, text=t.raw, title=t.title, url=t.url, date=t.upload_date)
        for t in sorted(ds.texts.values(), key=lambda t: t.id)
    ]


async def run_bot(ds: Dataset, workdir: Path, database_url: str | None = None) -> BotRun:
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    system = await BotSystem.open(workdir / "eval.db", database_url)
    try:
        seconds["open"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        stored = await system.ingest(_uploads(ds))
        seconds["ingest"] = time.perf_counter() - t0
        keys_of: dict[int, list[str]] = defaultdict(list)
        for key, s in sorted(stored.items()):
            if s.doc_id is not None:
                keys_of[s.doc_id].append(key)
        t0 = time.perf_counter()
        rankings: dict[str, list[str]] = {}
        for q in ds.queries:
            ids = await system.search(q.q, K)
            rankings[q.q] = [key for doc_id in ids for key in keys_of.get(doc_id, [])][:K]
        seconds["search"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        summaries: dict[str, list[str]] = {}
        for g in ds.summaries:
            doc_id = stored[g.id].doc_id
            summaries[g.id] = await system.summary(doc_id, 2) if doc_id is not None else []
        seconds["summaries"] = time.perf_counter() - t0
    finally:
        await system.close()
    return BotRun(stored, rankings, summaries, seconds)


# -- search ----------------------------------------------------------------------------------------------


def _search_scores(ranked: Sequence[str], rel: Mapping[str, int]) -> dict[str, float]:
    return {
        "ndcg": ndcg_at_k(ranked, rel, K),
        "recall": recall_at_k(ranked, rel, K),
        "mrr": reciprocal_rank(ranked[:K], rel),
    }


def evaluate_search(ds: Dataset, run: BotRun) -> dict[str, Any]:
    fts = baselines.PlainFts((t.id, t.title or "", t.raw) for t in ds.texts.values())
    systems: dict[str, Callable[[str], list[str]]] = {
        "bot": lambda q: run.rankings[q],
        "fts5_or_bm25": lambda q: fts.search(q, K),
    }
    per_query: list[dict[str, Any]] = []
    for q in ds.queries:
        row: dict[str, Any] = {"q": q.q, "split": q.split, "n_relevant": len(q.rel), "note": q.note}
        for name, fn in systems.items():
            ranked = fn(q.q)
            row[name] = _search_scores(ranked, q.rel) | {"top": ranked}
        per_query.append(row)
    fts.close()
    table: dict[str, Any] = {}
    for split in SPLITS:
        rows = [r for r in per_query if r["split"] == split]
        table[split] = {"queries": len(rows)} | {
            name: {m: mean([r[name][m] for r in rows]) for m in ("ndcg", "recall", "mrr")} for name in systems
        }
    return {"table": table, "queries": per_query}


# -- summaries -------------------------------------------------------------------------------------------


def evaluate_summaries(ds: Dataset, run: BotRun) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for g in ds.summaries:
        body = run.stored[g.id].body or ds.texts[g.id].raw
        reference = " ".join(g.extract)
        candidates = {
            "bot": run.summaries[g.id],
            "lead2": baselines.lead(body, 2),
            "lead3": baselines.lead(body, 3),
            "textrank2": baselines.textrank(body, 2),
        }
        row: dict[str, Any] = {"id": g.id, "split": ds.texts[g.id].split, "gold": list(g.extract)}
        for name, sents in candidates.items():
            row[name] = rouge(" ".join(sents), reference) | {"summary": sents}
        rows.append(row)
    table: dict[str, Any] = {}
    for split in SPLITS:
        mine = [r for r in rows if r["split"] == split]
        table[split] = {"texts": len(mine)} | {
            name: {m: mean([r[name][m] for r in mine]) for m in ("rouge1", "rouge2", "rougeL")}
            for name in ("bot", "lead2", "lead3", "textrank2")
        }
    return {"table": table, "texts": rows}


# -- stories ---------------------------------------------------------------------------------------------

_THRESHOLDS = [round(0.02 + 0.01 * i, 2) for i in range(97)]


def evaluate_stories(ds: Dataset, run: BotRun) -> dict[str, Any]:
    keys = sorted(ds.texts)
    gold = {k: ds.texts[k].story for k in keys}
    bot = {k: (f"s{run.stored[k].story_id}" if run.stored[k].story_id else f"failed:{k}") for k in keys}
    singletons = {k: k for k in keys}
    docs = {k: ((ds.texts[k].title or "") + "\n" + ds.texts[k].raw) for k in keys}
    pairs = baselines.cosine_pairs(baselines.tfidf_vectors(docs))

    def by_split(pred: Mapping[str, str], split: str) -> tuple[float, float, float]:
        return bcubed(pred, {k: g for k, g in gold.items() if ds.texts[k].split == split})

    best_t, best_f = _THRESHOLDS[0], -1.0
    for t in _THRESHOLDS:
        f = by_split(baselines.single_link(keys, pairs, t), "tune")[2]
        if f > best_f:
            best_t, best_f = t, f
    tfidf = baselines.single_link(keys, pairs, best_t)
    table: dict[str, Any] = {}
    for split in SPLITS:
        table[split] = {"texts": sum(1 for k in keys if ds.texts[k].split == split)}
        for name, pred in (("bot", bot), ("singletons", singletons), ("tfidf_single_link", tfidf)):
            p, r, f = by_split(pred, split)
            table[split][name] = {"precision": p, "recall": r, "f1": f}
    # Where the bot went wrong: gold stories it split, bot stories that mix gold stories.
    split_stories = []
    for story in sorted(set(gold.values())):
        members = [k for k in keys if gold[k] == story]
        parts = sorted({bot[k] for k in members})
        if len(parts) > 1:
            split_stories.append(
                {"story": story, "split": ds.texts[members[0]].split, "parts": [
                    [k for k in members if bot[k] == p] for p in parts
                ]}
            )  # fmt: skip
    merged = []
    for cluster in sorted(set(bot.values())):
        members = [k for k in keys if bot[k] == cluster]
        stories = sorted({gold[k] for k in members})
        if len(stories) > 1:
            merged.append({"stories": stories, "texts": members})
    return {
        "table": table,
        "tfidf_threshold": best_t,
        "split_stories": split_stories,
        "merged_stories": merged,
    }


# -- dates and titles ------------------------------------------------------------------------------------


def evaluate_dates(ds: Dataset, run: BotRun) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for t in sorted(ds.texts.values(), key=lambda t: t.id):
        stored = run.stored[t.id].published
        baseline = date.fromisoformat(t.upload_date) if t.upload_date else None
        rows.append(
            {
                "id": t.id,
                "split": t.split,
                "clue": t.clue,
                "true": t.published.isoformat() if t.published else None,
                "expected": t.expected_date.isoformat() if t.expected_date else None,
                "bot": stored.isoformat() if stored else None,
                "metadata_only": baseline.isoformat() if baseline else None,
            }
        )
    table: dict[str, Any] = {}
    for split in SPLITS:
        mine = [r for r in rows if r["split"] == split]
        table[split] = {"texts": len(mine)}
        for name in ("bot", "metadata_only"):
            table[split][name] = {
                "accuracy": mean([float(r[name] == r["expected"]) for r in mine]),
                # A date that is not the publication date: worse than none (wrong order, wrong digest).
                "wrong": sum(1 for r in mine if r[name] is not None and r[name] != r["true"]),
                "missing": sum(1 for r in mine if r[name] is None and r["expected"] is not None),
            }
    errors = [r for r in rows if r["bot"] != r["expected"]]
    return {"table": table, "errors": errors}


_MONTHS = (
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?|"
    r"қаңтар\w*|ақпан\w*|наурыз\w*|сәуір\w*|мамыр\w*|маусым\w*|шілде\w*|тамыз\w*|қыркүйек\w*|қазан\w*|"
    r"қараша\w*|желтоқсан\w*"
)
_DATELINE_RES = (
    re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2,4}\b"),  # 19.09.2025 10:21
    re.compile(rf"^\d{{1,2}}\s+(?:{_MONTHS})\b", re.IGNORECASE),  # 28 января 2026 года.
    re.compile(r"^\d{4}\s+жылғы\b", re.IGNORECASE),  # 2026 жылғы 3 ақпан.
    re.compile(rf"^[A-ZА-ЯЁ][A-ZА-ЯЁ .\-]{{2,}},\s+(?:{_MONTHS})\s*\d"),  # ASTANA, March 20, 2026
    re.compile(r"^[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][A-ZА-ЯЁӘҒҚҢӨҰҮҺІ .\-]{2,}\.\s*KAZINFORM\b"),  # АСТАНА. KAZINFORM
    re.compile(r"^[A-Z][A-Z \-]{2,}\s[–—-]\s"),  # ASTANA – (Astana Times)
    re.compile(r"^(?:сегодня|вчера|бүгін|кеше|today|yesterday)\b", re.IGNORECASE),  # Вчера, 15:10
)
# A short line holding a date or a time is a stamp («Forbes Kazakhstan · 13 сентября 2025»), not a headline.
_STAMP_RES = (
    re.compile(rf"\b\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}}\b", re.IGNORECASE),
    re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b|\b\d{1,2}:\d{2}\b"),
)
_STAMP_MAX_CHARS = 60
_PRONOUN_START = re.compile(
    r"^[«\"—–\- ]*(?:он|она|оно|они|его|ее|её|их|ему|ей|им|это|этот|эта|эти|этого|этой|такой|там|тогда|"
    r"по его словам|по ее словам|по её словам|при этом|he|she|it|they|this|these|his|her|their|"
    r"ол|олар|оның|бұл|осы|сол)\b",
    re.IGNORECASE,
)


def is_dateline(title: str) -> bool:
    """A dateline, a publication stamp or a relative date where a headline should be."""
    title = title.strip()
    if any(r.search(title) for r in _DATELINE_RES):
        return True
    return len(title) <= _STAMP_MAX_CHARS and any(r.search(title) for r in _STAMP_RES)


def is_pronoun_start(title: str) -> bool:
    return bool(_PRONOUN_START.search(title.strip()))


def _same_title(a: str | None, b: str | None) -> bool:
    def norm(s: str) -> str:
        return " ".join(s.split()).rstrip(".:;, ").casefold()

    return a is not None and b is not None and norm(a) == norm(b)


def evaluate_titles(ds: Dataset, run: BotRun) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for t in sorted(ds.texts.values(), key=lambda t: t.id):
        rows.append(
            {
                "id": t.id,
                "split": t.split,
                "headline": t.headline,
                "bot": run.stored[t.id].title or "",
                "first_line": t.title or baselines.first_line(t.raw),
            }
        )
    table: dict[str, Any] = {}
    for split in SPLITS:
        mine = [r for r in rows if r["split"] == split]
        with_headline = [r for r in mine if r["headline"]]
        table[split] = {"texts": len(mine), "with_headline": len(with_headline)}
        for name in ("bot", "first_line"):
            table[split][name] = {
                "dateline": sum(1 for r in mine if is_dateline(r[name])),
                "pronoun": sum(1 for r in mine if is_pronoun_start(r[name])),
                "headline_kept": mean([float(_same_title(r[name], r["headline"])) for r in with_headline]),
            }
    errors = [
        r
        for r in rows
        if is_dateline(r["bot"])
        or is_pronoun_start(r["bot"])
        or (r["headline"] and not _same_title(r["bot"], r["headline"]))
    ]
    return {"table": table, "errors": errors}


# -- the report ------------------------------------------------------------------------------------------


def evaluate(ds: Dataset, run: BotRun) -> dict[str, Any]:
    stored = run.stored.values()
    return {
        "data": {
            "texts": {s: sum(1 for t in ds.texts.values() if t.split == s) for s in SPLITS},
            "stories": {s: len({t.story for t in ds.texts.values() if t.split == s}) for s in SPLITS},
            "queries": {s: sum(1 for q in ds.queries if q.split == s) for s in SPLITS},
            "gold_summaries": {s: sum(1 for g in ds.summaries if ds.split_of(g.id) == s) for s in SPLITS},
        },
        "ingest": {
            status: sum(1 for s in stored if s.status == status)
            for status in sorted({s.status for s in stored})
        },
        "ingest_failures": [{"id": s.key, "reason": s.reason} for s in stored if s.doc_id is None],
        "search": evaluate_search(ds, run),
        "summaries": evaluate_summaries(ds, run),
        "stories": evaluate_stories(ds, run),
        "dates": evaluate_dates(ds, run),
        "titles": evaluate_titles(ds, run),
        "seconds": run.seconds,
    }


def _row(label: str, cells: Sequence[str], width: int = 30) -> str:
    return f"  {label:<{width}}" + "".join(f"{c:>9}" for c in cells)


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def print_report(r: dict[str, Any]) -> None:
    d = r["data"]
    print(
        f"Alatau News Bot — quality on the evaluation set: {sum(d['texts'].values())} texts "
        f"(tune {d['texts']['tune']}, test {d['texts']['test']}), "
        f"{sum(d['stories'].values())} stories, {sum(d['queries'].values())} queries, "
        f"{sum(d['gold_summaries'].values())} gold extracts"
    )
    print("  ingest: " + ", ".join(f"{k} {v}" for k, v in r["ingest"].items()))
    for f in r["ingest_failures"]:
        print(f"    not stored: {f['id']}: {f['reason']}")

    def header(title: str, metrics: Sequence[str], counts: Mapping[str, int]) -> None:
        print(f"\n{title}")
        spans = [f"tune (n={counts['tune']})", f"test (n={counts['test']})"]
        width = 9 * len(metrics)
        print(f"  {'':<30}" + "".join(f"{s:>{width}}" for s in spans))
        print(_row("", [*metrics, *metrics]))

    s = r["search"]["table"]
    header("SEARCH (top 10)", ["nDCG@10", "R@10", "MRR"], {k: s[k]["queries"] for k in SPLITS})
    for name, label in (("bot", "bot: SearchService"), ("fts5_or_bm25", "plain FTS5, OR, bm25")):
        print(_row(label, [_fmt(s[sp][name][m]) for sp in SPLITS for m in ("ndcg", "recall", "mrr")]))
    print(
        _row(
            "target (test)",
            ["", "", "", f"≥{TARGETS['search.ndcg']:.2f}", f"≥{TARGETS['search.recall']:.2f}", ""],
        )
    )

    m = r["summaries"]["table"]
    header(
        "SUMMARIES (2 sentences vs gold extract)", ["R-1", "R-2", "R-L"], {k: m[k]["texts"] for k in SPLITS}
    )
    for name, label in (
        ("bot", "bot: summarize, 2 sentences"),
        ("lead2", "Lead-2"),
        ("lead3", "Lead-3"),
        ("textrank2", "TextRank, 2 sentences"),
    ):
        print(_row(label, [_fmt(m[sp][name][k]) for sp in SPLITS for k in ("rouge1", "rouge2", "rougeL")]))
    gap = [m[sp]["bot"]["rouge2"] - m[sp]["lead2"]["rouge2"] for sp in SPLITS]
    print(_row("bot R-2 minus Lead-2 R-2", ["", f"{gap[0]:+.3f}", "", "", f"{gap[1]:+.3f}", ""]))
    print(_row("target (test)", ["", "", "", "", f"≥{TARGETS['summaries.rouge2_over_lead2']:+.2f}", ""]))

    st = r["stories"]["table"]
    header("STORIES (B-cubed)", ["P", "R", "F1"], {k: st[k]["texts"] for k in SPLITS})
    for name, label in (
        ("bot", "bot: story ids"),
        ("singletons", "every text alone"),
        ("tfidf_single_link", f"tf-idf single link, t={r['stories']['tfidf_threshold']:.2f}"),
    ):
        print(_row(label, [_fmt(st[sp][name][k]) for sp in SPLITS for k in ("precision", "recall", "f1")]))
    print(_row("target (test)", ["", "", "", "", "", f"≥{TARGETS['stories.f1']:.2f}"]))

    dt = r["dates"]["table"]
    header("PUBLICATION DATES", ["accuracy", "wrong", "missing"], {k: dt[k]["texts"] for k in SPLITS})
    for name, label in (("bot", "bot: stored date"), ("metadata_only", "upload metadata only")):
        print(
            _row(
                label,
                [
                    x
                    for sp in SPLITS
                    for x in (
                        _fmt(dt[sp][name]["accuracy"]),
                        str(dt[sp][name]["wrong"]),
                        str(dt[sp][name]["missing"]),
                    )
                ],
            )
        )
    print(
        "  (accuracy: stored date = the date a reader can know, none when nothing tells; wrong: a date that"
    )
    print("   is not the publication date; missing: none stored though the text or upload tells it)")

    tt = r["titles"]["table"]
    header("TITLES", ["dateline", "pronoun", "headline"], {k: tt[k]["texts"] for k in SPLITS})
    for name, label in (("bot", "bot: stored title"), ("first_line", "upload title, else first line")):
        print(
            _row(
                label,
                [
                    x
                    for sp in SPLITS
                    for x in (
                        str(tt[sp][name]["dateline"]),
                        str(tt[sp][name]["pronoun"]),
                        _fmt(tt[sp][name]["headline_kept"]),
                    )
                ],
            )
        )
    print(
        "  (dateline/pronoun: titles that are a dateline or a stamp / open with a pronoun — fewer is better;"
    )
    print("   headline: share of texts with a real headline whose stored title is that headline)")
    secs = r["seconds"]
    print("\ntime: " + ", ".join(f"{k} {v:.1f}s" for k, v in secs.items()))


def print_details(r: dict[str, Any]) -> None:
    print("\n== DETAILS ==")
    print("\nSearch: queries where the bot's nDCG@10 < 0.7 (relevant texts it missed; its top 3)")
    for q in r["search"]["queries"]:
        b = q["bot"]
        if b["ndcg"] < 0.7:
            print(
                f"  [{q['split']}] {q['q']!r}: nDCG {b['ndcg']:.2f} R {b['recall']:.2f} MRR {b['mrr']:.2f}"
                f" (FTS5 nDCG {q['fts5_or_bm25']['ndcg']:.2f})  top: {', '.join(b['top'][:3]) or '—'}"
            )
    print("\nStories: gold stories the bot split")
    for s in r["stories"]["split_stories"]:
        print(f"  [{s['split']}] {s['story']}: " + " | ".join(", ".join(p) for p in s["parts"]))
    print("Stories: bot stories mixing gold stories")
    for s in r["stories"]["merged_stories"]:
        print(f"  {' + '.join(s['stories'])}: {', '.join(s['texts'])}")
    print("\nSummaries: the bot's R-2 below Lead-2's")
    for t in r["summaries"]["texts"]:
        if t["bot"]["rouge2"] < t["lead2"]["rouge2"]:
            print(
                f"  [{t['split']}] {t['id']}: bot {t['bot']['rouge2']:.2f} < lead2 {t['lead2']['rouge2']:.2f}"
            )
            print(f"      bot:  {' '.join(t['bot']['summary'])[:300]}")
            print(f"      gold: {' '.join(t['gold'])[:300]}")
    print("\nDates: stored ≠ expected")
    for e in r["dates"]["errors"]:
        print(f"  [{e['split']}] {e['id']} ({e['clue']}): expected {e['expected']}, stored {e['bot']}")
    print("\nTitles: datelines, pronoun starts, headlines lost")
    for e in r["titles"]["errors"]:
        print(
            f"  [{e['split']}] {e['id']}: {e['bot'][:90]!r}"
            + (f"  (headline: {e['headline'][:60]!r})" if e["headline"] else "")
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--details", action="store_true", help="also list the failures behind the figures")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="the evaluation set (default: bench/quality/data)"
    )
    parser.add_argument(
        "--database-url",
        help="run the bot on PostgreSQL: a fresh database made on this server (postgresql://…), dropped after",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    t0 = time.perf_counter()
    ds = load(args.data)
    with tempfile.TemporaryDirectory(prefix="alatau-quality-") as tmp:
        run = asyncio.run(run_bot(ds, Path(tmp), args.database_url))
    report = evaluate(ds, run)
    report["seconds"]["total"] = time.perf_counter() - t0
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    print_report(report)
    if args.details:
        print_details(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
