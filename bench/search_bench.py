"""`python -m bench.search_bench`: search latency per query class, beside a fair plain-FTS5 baseline.

Corpora take minutes to build at 100k texts, so a corpus can be kept in a file (`--corpus-dir`) and reused:
the bot's database `ours-N.db` and the baseline's `plain-N.db` are built there once, from the same
generated texts. On PostgreSQL (`--database-url`, a server) the bot's side is a database of that server,
named after the size, built once as well (`--rebuild` starts over).

Each query class is run `rounds` times; p95 is taken per round and reported as min / median over rounds, since
on a shared machine the minimum is the steadiest figure and the median the honest one.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bench.corpus_gen import generate
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.ingest import Corpus, TextInput
from bot.query import parse_query
from bot.search import SearchService
from bot.text.morph import Morphology
from storage.backend import Backend, open_backend
from storage.postgres.db import PostgresDatabase
from storage.postgres.scratch import with_database

# Each class several queries, so that one lucky word does not make the class; none is in a cache twice in a
# row within a round (the cache is switched off unless --cache: it measures the search, not the cache).
CLASSES: dict[str, tuple[str, ...]] = {
    "single word": ("криптовалютой", "аэропорт", "меморандум", "университетом", "трамваем"),
    "two words": ("указ президента", "аэропорт строительство", "метро трамвай", "университет студент"),
    "phrase": ('"специальный режим"', '"новый проект"', '"рабочие места"', '"цифровая платформа"'),
    "prefix": ("цифров*", "инвест*", "строит*", "мемор*"),
    "typo": ("министрр", "криптовалюто", "унивеситет", "аэропортт"),
    "frequent word": ("Алатау", "алатау город", "город статус", "Алатау пенсионер"),
    "no hit": ("прокуратура", "прокуратура Алатау", "зоопарк", "xyzzy"),
}


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def plain_query(q: str) -> str:
    """The same query for a plain unicode61 index: its words, quoted, ANDed (phrases kept as phrases)."""
    parts, negated = [], []
    for item in parse_query(q).items:
        phrase = '"' + " ".join(item.words) + '"' + ("*" if item.prefix else "")
        (negated if item.negated else parts).append(phrase)
    out = " AND ".join(parts)
    return out + "".join(f" NOT {p}" for p in negated)


def plain_search(plain: sqlite3.Connection, q: str, limit: int = 10) -> list[tuple[int, str]]:
    """The fair baseline: the best `limit` by FTS5's own rank (bm25, titles ×4), snippets for those only."""
    rows = plain.execute(
        "SELECT rowid FROM plain WHERE plain MATCH ? AND rank MATCH 'bm25(4.0, 1.0)' ORDER BY rank LIMIT ?",
        (plain_query(q), limit),
    ).fetchall()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    marks = ",".join("?" * len(ids))
    return plain.execute(
        f"SELECT rowid, snippet(plain, 1, '<b>', '</b>', '…', 24) FROM plain WHERE plain MATCH ? "
        f"AND rowid IN ({marks})",
        (plain_query(q), *ids),
    ).fetchall()


def build_plain(path: Path, n: int, morph: Morphology) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.executescript(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, text TEXT);"
        "CREATE VIRTUAL TABLE plain USING fts5(title, text, content='docs', content_rowid='id');"
    )
    with conn:
        for i, (title, text, _) in enumerate(generate(n, morph=morph), start=1):
            conn.execute("INSERT INTO docs VALUES (?, ?, ?)", (i, title, text))
            conn.execute("INSERT INTO plain (rowid, title, text) VALUES (?, ?, ?)", (i, title, text))
    conn.close()
    tmp.rename(path)


async def _ingest(backend: Backend, n: int, morph: Morphology) -> Corpus:
    corpus = Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)
    inputs = (
        TextInput(text=text, title=title, date=published.isoformat(), source="bench")
        for title, text, published in generate(n, morph=morph)
    )
    async with AnalysisPool(20, 200_000) as pool:
        async for _ in corpus.ingest_many(inputs, pool=pool):
            pass
    return corpus


def _sqlite_files(folder: Path, n: int, rebuild: bool) -> tuple[Path, Path, bool]:
    """The corpus file, the file it is built in (renamed when complete), whether it is built already."""
    path, part = folder / f"ours-{n}.db", folder / f"ours-{n}.part.db"
    for stale in [*(folder.glob(f"ours-{n}.db*") if rebuild else ()), *folder.glob(f"ours-{n}.part.db*")]:
        stale.unlink()
    return path, part, path.exists()


async def open_ours(
    n: int, folder: Path, morph: Morphology, server_url: str | None, rebuild: bool
) -> tuple[Backend, Corpus]:
    """The bot's corpus of `n` generated texts, built once and reused."""
    if server_url is not None:
        name = f"alatau_search_bench_{n}"
        admin = await asyncpg.connect(server_url)
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists and rebuild:
                await admin.execute(f'DROP DATABASE "{name}"')
            if not exists or rebuild:
                await admin.execute(f'CREATE DATABASE "{name}"')
                built = False
            else:
                built = True
        finally:
            await admin.close()
        backend = await open_backend(with_database(server_url, name))
        if not built or await backend.documents.count() < n:
            await _ingest(backend, n, morph)
            if isinstance(backend.database, PostgresDatabase):
                await backend.database.execute("ANALYZE")
        return backend, Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)
    path, part, built = _sqlite_files(folder, n, rebuild)
    if not built:
        backend = await open_backend(part)
        await _ingest(backend, n, morph)
        await backend.close()
        part.rename(path)
    backend = await open_backend(path)
    return backend, Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)


async def measure_classes(
    search: SearchService, plain: sqlite3.Connection, rounds: int = 3, limit: int = 10
) -> dict[str, dict[str, float]]:
    """{class: figures} in ms: the p95 of each round (wall clock, and CPU time of this process, which on a
    shared machine moves far less), as min and median over the rounds, ours and the plain baseline's."""
    for queries in CLASSES.values():  # warm-up: vocabulary, term statistics, pages
        for q in queries:
            await search.search(q, limit=limit)
            plain_search(plain, q, limit)
    keys = ("ours", "ours_cpu", "plain", "plain_cpu")
    per_round: dict[str, dict[str, list[float]]] = {c: {k: [] for k in keys} for c in CLASSES}
    for _ in range(rounds):
        samples: dict[str, dict[str, list[float]]] = {c: {k: [] for k in keys} for c in CLASSES}
        for _ in range(5):
            for cls, queries in CLASSES.items():
                for q in queries:
                    w, c = time.perf_counter(), time.process_time()
                    await search.search(q, limit=limit)
                    samples[cls]["ours"].append((time.perf_counter() - w) * 1000)
                    samples[cls]["ours_cpu"].append((time.process_time() - c) * 1000)
                    w, c = time.perf_counter(), time.process_time()
                    plain_search(plain, q, limit)
                    samples[cls]["plain"].append((time.perf_counter() - w) * 1000)
                    samples[cls]["plain_cpu"].append((time.process_time() - c) * 1000)
        for cls in CLASSES:
            for k in keys:
                per_round[cls][k].append(_pct(samples[cls][k], 95))
    out: dict[str, dict[str, float]] = {}
    for cls in CLASSES:
        out[cls] = {}
        for k in keys:
            out[cls][f"{k}_min"] = min(per_round[cls][k])
            out[cls][f"{k}_median"] = statistics.median(per_round[cls][k])
    return out


async def measure(
    n: int,
    folder: Path,
    morph: Morphology,
    rounds: int,
    server_url: str | None = None,
    rebuild: bool = False,
    cache: bool = False,
    limit: int = 10,
) -> dict[str, dict[str, float]]:
    backend, corpus = await open_ours(n, folder, morph, server_url, rebuild)
    plain = sqlite3.connect(folder / f"plain-{n}.db")
    try:
        return await measure_classes(
            SearchService(corpus, cache_size=256 if cache else 0), plain, rounds, limit
        )
    finally:
        plain.close()
        await backend.close()


def format_classes(n: int, figures: dict[str, dict[str, float]], backend: str) -> str:
    lines = [
        f"search p95 per query class, {n:,} documents, {backend}, ms (min / median of the rounds' p95; CPU: median)",
        f"  {'class':<14} {'ours':>15} {'CPU':>6}   {'plain FTS5':>15} {'CPU':>6}   {'ours/plain':>10}",
    ]
    for cls, f in figures.items():
        ratio = f["ours_median"] / f["plain_median"] if f["plain_median"] else float("inf")
        lines.append(
            f"  {cls:<14} {f['ours_min']:6.2f} / {f['ours_median']:6.2f} {f['ours_cpu_median']:6.2f}   "
            f"{f['plain_min']:6.2f} / {f['plain_median']:6.2f} {f['plain_cpu_median']:6.2f}   {ratio:10.2f}"
        )
    worst = max(figures, key=lambda c: figures[c]["ours_median"])
    lines.append(f"  slowest class: {worst} (p95 median {figures[worst]['ours_median']:.2f} ms)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search_bench")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus-dir", default="/tmp/alatau-search-bench", help="where corpora are kept")
    parser.add_argument("--database-url", help="the bot's side on PostgreSQL: a database made on this server")
    parser.add_argument("--rebuild", action="store_true", help="build the corpora again")
    parser.add_argument("--cache", action="store_true", help="with the cache of popular queries on")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    morph = Morphology()
    for n in [int(s) for s in args.sizes.split(",") if s]:
        folder = Path(args.corpus_dir)
        if args.build_only:
            folder.mkdir(parents=True, exist_ok=True)
            build_plain(folder / f"plain-{n}.db", n, morph)

            async def build(n: int = n, folder: Path = folder) -> None:
                backend, _ = await open_ours(n, folder, morph, args.database_url, args.rebuild)
                await backend.close()

            asyncio.run(build())
            continue
        folder.mkdir(parents=True, exist_ok=True)
        build_plain(folder / f"plain-{n}.db", n, morph)
        figures = asyncio.run(
            measure(n, folder, morph, args.rounds, args.database_url, args.rebuild, args.cache)
        )
        print("\n" + format_classes(n, figures, "PostgreSQL" if args.database_url else "SQLite"))


if __name__ == "__main__":
    main()
