"""`python -m bench [--sizes 1000,10000,100000] [--only corpus|bot|broadcast]`: every benchmark, figures printed."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.corpus_gen import QUERIES, generate
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.ingest import Corpus, TextInput
from bot.search import SearchService, parse_query
from bot.text.morph import Morphology
from bot.text.summarize import summarize
from storage.backend import open_backend
from storage.postgres.db import PostgresDatabase
from storage.postgres.scratch import create_database, drop_database


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _size(folder: Path, pattern: str) -> float:
    return sum(p.stat().st_size for p in folder.glob(pattern)) / 1e6


def _plain_query(q: str) -> str:
    """The same query for a plain unicode61 index: its words, quoted, ANDed (phrases kept as phrases)."""
    parts = []
    for item in parse_query(q).items:
        phrase = '"' + " ".join(item.words) + '"' + ("*" if item.prefix else "")
        parts.append(("NOT " if item.negated else "") + phrase)
    out = " AND ".join(p for p in parts if not p.startswith("NOT "))
    for p in parts:
        if p.startswith("NOT "):
            out += " " + p
    return out


def _like_sql(q: str) -> tuple[str, list[str]]:
    clauses, params = [], []
    for item in parse_query(q).items:
        clauses.append("lower(text) NOT LIKE ?" if item.negated else "lower(text) LIKE ?")
        params.append("%" + " ".join(item.words) + "%")
    return "SELECT id FROM docs WHERE " + " AND ".join(clauses) + " LIMIT 5", params


async def bench_corpus(
    n: int, workdir: Path, morph: Morphology, rounds: int, server_url: str | None = None
) -> dict[str, float]:
    """With `server_url`, the bot's side runs on a fresh PostgreSQL database made on that server."""
    docs = list(generate(n, morph=morph))
    url = await create_database(server_url, "alatau_bench") if server_url else None
    backend = await open_backend(url or workdir / f"ours-{n}.db")
    corpus = Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)
    t0 = time.perf_counter()
    inputs = (
        TextInput(text=text, title=title, date=published.isoformat(), source="bench")
        for title, text, published in docs
    )
    async with AnalysisPool(20, 200_000) as pool:
        async for _ in corpus.ingest_many(inputs, pool=pool):
            pass
    ingest_s = time.perf_counter() - t0
    if url is not None and isinstance(backend.database, PostgresDatabase):
        # What autovacuum does within a minute of a bulk load: the planner's statistics of the new rows.
        await backend.database.execute("ANALYZE")

    plain_path = workdir / f"plain-{n}.db"
    plain = sqlite3.connect(plain_path)
    plain.executescript(
        "PRAGMA journal_mode=WAL; CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, text TEXT);"
        "CREATE VIRTUAL TABLE plain USING fts5(title, text, content='docs', content_rowid='id');"
    )
    t0 = time.perf_counter()
    with plain:
        for i, (title, text, _) in enumerate(docs, start=1):
            plain.execute("INSERT INTO docs VALUES (?, ?, ?)", (i, title, text))
            plain.execute("INSERT INTO plain (rowid, title, text) VALUES (?, ?, ?)", (i, title, text))
    plain_ingest_s = time.perf_counter() - t0

    search = SearchService(corpus)
    for q in QUERIES:  # warm-up: caches, vocabulary, SQLite pages
        await search.search(q, limit=5)
    ours: list[float] = []
    base_fts: list[float] = []
    base_like: list[float] = []
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(rounds):
        for q in QUERIES:
            t = time.perf_counter()
            await search.search(q, limit=5)
            dt = (time.perf_counter() - t) * 1000
            ours.append(dt)
            per_query[q].append(dt)
            t = time.perf_counter()
            plain.execute(
                "SELECT rowid, snippet(plain, 1, '<b>', '</b>', '…', 24) FROM plain WHERE plain MATCH ? "
                "ORDER BY bm25(plain, 4.0, 1.0) LIMIT 5",
                (_plain_query(q),),
            ).fetchall()
            base_fts.append((time.perf_counter() - t) * 1000)
    like_rounds = max(1, rounds // 3) if n >= 100_000 else rounds
    for _ in range(like_rounds):
        for q in QUERIES:
            sql, params = _like_sql(q)
            t = time.perf_counter()
            plain.execute(sql, params).fetchall()
            base_like.append((time.perf_counter() - t) * 1000)

    sample = [text for _, text, _ in docs[:300]]
    t0 = time.perf_counter()
    for text in sample:
        summarize(text, morph=morph)
    summary_ms = (time.perf_counter() - t0) * 1000 / len(sample)

    db_mb = _size(workdir, f"ours-{n}.db*")
    if url is not None and server_url is not None:
        db_mb = (await backend.documents.stats()).database_bytes / 1e6
    await backend.close()
    if url is not None and server_url is not None:
        await drop_database(server_url, url)
    plain.close()
    worst = max(per_query, key=lambda k: _pct(per_query[k], 95))
    return {
        "docs": n,
        "ingest_docs_s": n / ingest_s,
        "plain_ingest_docs_s": n / plain_ingest_s,
        "p50_ms": _pct(ours, 50),
        "p95_ms": _pct(ours, 95),
        "fts_p50_ms": _pct(base_fts, 50),
        "fts_p95_ms": _pct(base_fts, 95),
        "like_p50_ms": _pct(base_like, 50),
        "like_p95_ms": _pct(base_like, 95),
        "summary_ms": summary_ms,
        "db_mb": db_mb,
        "plain_db_mb": _size(workdir, f"plain-{n}.db*"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worst_query": worst,  # type: ignore[dict-item]
        "worst_query_p95_ms": _pct(per_query[worst], 95),
    }


def _print_corpus(r: dict[str, float]) -> None:
    print(f"\n== corpus engine, {int(r['docs']):,} documents ==")
    print(
        f"ingest        {r['ingest_docs_s']:8.0f} docs/s   (analysis in a worker process; plain FTS5 without morphology, duplicates, stories: "
        f"{r['plain_ingest_docs_s']:.0f} docs/s; ratio {r['ingest_docs_s'] / r['plain_ingest_docs_s']:.3f})"
    )
    print(
        f"search p50    {r['p50_ms']:8.2f} ms       plain FTS5 {r['fts_p50_ms']:.2f} ms   LIKE scan {r['like_p50_ms']:.2f} ms"
    )
    print(
        f"search p95    {r['p95_ms']:8.2f} ms       plain FTS5 {r['fts_p95_ms']:.2f} ms   LIKE scan {r['like_p95_ms']:.2f} ms"
        f"   (ours/plain {r['p95_ms'] / r['fts_p95_ms']:.2f}, ours/LIKE {r['p95_ms'] / r['like_p95_ms']:.3f})"
    )
    print(f"slowest query {r['worst_query']!r}: p95 {r['worst_query_p95_ms']:.2f} ms")
    print(f"summary       {r['summary_ms']:8.2f} ms per document")
    print(f"database      {r['db_mb']:8.1f} MB        plain FTS5 {r['plain_db_mb']:.1f} MB")
    print(f"peak memory   {r['peak_rss_mb']:8.0f} MB (whole process so far)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["corpus", "bot", "broadcast"])
    parser.add_argument(
        "--database-url", help="the corpus benchmark on PostgreSQL: a fresh database made on this server"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    morph = Morphology()
    if args.only in (None, "corpus"):
        with tempfile.TemporaryDirectory(prefix="alatau-bench-") as tmp:
            for n in sizes:
                _print_corpus(asyncio.run(bench_corpus(n, Path(tmp), morph, args.rounds, args.database_url)))
    if args.only in (None, "bot"):
        try:
            from bench.bot_bench import run as run_bot_bench
        except ImportError:
            print("\n(bot benchmark not available yet)")
        else:
            run_bot_bench()
    if args.only in (None, "broadcast"):
        try:
            from bench.broadcast_bench import run as run_broadcast_bench
        except ImportError:
            print("\n(broadcast benchmark not available yet)")
        else:
            run_broadcast_bench()
