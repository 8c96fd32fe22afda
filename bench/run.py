"""`python -m bench [--sizes 1000,10000,100000] [--only corpus|bot|broadcast|sources|deploy]`: every benchmark,
figures printed."""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bench.corpus_gen import QUERIES, generate
from bench.ingest_bench import measure_ingest
from bench.search_bench import format_classes, measure_classes, plain_search
from bot.search import SearchService, parse_query
from bot.text.morph import Morphology
from bot.text.summarize import summarize
from storage.postgres.db import PostgresDatabase
from storage.postgres.scratch import drop_database

# Ingest rounds per size (min and median printed); each loads a fresh database.
INGEST_ROUNDS = 3


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _size(folder: Path, pattern: str) -> float:
    return sum(p.stat().st_size for p in folder.glob(pattern)) / 1e6


def _like_sql(q: str) -> tuple[str, list[str]]:
    clauses, params = [], []
    for item in parse_query(q).items:
        clauses.append("lower(text) NOT LIKE ?" if item.negated else "lower(text) LIKE ?")
        params.append("%" + " ".join(item.words) + "%")
    return "SELECT id FROM docs WHERE " + " AND ".join(clauses) + " LIMIT 5", params


async def bench_corpus(
    n: int,
    workdir: Path,
    morph: Morphology,
    rounds: int,
    server_url: str | None = None,
    ingest_rounds: int = INGEST_ROUNDS,
) -> dict[str, float]:
    """With `server_url`, the bot's side runs on a fresh PostgreSQL database made on that server."""
    docs = list(generate(n, morph=morph))
    ingest, loaded = await measure_ingest(docs, workdir, morph, ingest_rounds, server_url)
    backend, corpus, url, plain = loaded.backend, loaded.corpus, loaded.url, loaded.plain
    if url is not None and isinstance(backend.database, PostgresDatabase):
        # What autovacuum does within a minute of a bulk load: the planner's statistics of the new rows.
        await backend.database.execute("ANALYZE")

    # The cache of recent queries off: the figures are of searching, not of remembering.
    search = SearchService(corpus, cache_size=0)
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
            plain_search(plain, q, 5)  # the fair baseline: ORDER BY rank LIMIT 5, snippets for those only
            base_fts.append((time.perf_counter() - t) * 1000)
    like_rounds = max(1, rounds // 3) if n >= 100_000 else rounds
    for _ in range(like_rounds):
        for q in QUERIES:
            sql, params = _like_sql(q)
            t = time.perf_counter()
            plain.execute(sql, params).fetchall()
            base_like.append((time.perf_counter() - t) * 1000)

    classes = await measure_classes(search, plain, rounds=3)

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
        **ingest.as_dict(),
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
        "search_classes": classes,  # type: ignore[dict-item]
        "search_backend": "PostgreSQL" if url else "SQLite",  # type: ignore[dict-item]
    }


def _print_corpus(r: dict[str, float]) -> None:
    print(f"\n== corpus engine, {int(r['docs']):,} documents ==")
    print(
        f"ingest        {r['ingest_docs_s']:8.0f} docs/s   median of {int(r['ingest_rounds'])} rounds, min "
        f"{r['ingest_min_docs_s']:.0f} (analysis in a worker process; plain FTS5 without morphology, duplicates, "
        f"stories: median {r['plain_ingest_docs_s']:.0f}, min {r['plain_ingest_min_docs_s']:.0f} docs/s; "
        f"ratio {r['ingest_ratio']:.3f})"
    )
    print(
        f"ingest CPU    {r['ingest_cpu_ms']:8.2f} ms/doc   (this process and its analysis worker; plain FTS5 "
        f"{r['plain_ingest_cpu_ms']:.2f} ms/doc; ratio {r['plain_ingest_cpu_ms'] / r['ingest_cpu_ms']:.3f})"
    )
    print(
        f"search p50    {r['p50_ms']:8.2f} ms       plain FTS5 {r['fts_p50_ms']:.2f} ms   LIKE scan {r['like_p50_ms']:.2f} ms"
    )
    print(
        f"search p95    {r['p95_ms']:8.2f} ms       plain FTS5 {r['fts_p95_ms']:.2f} ms   LIKE scan {r['like_p95_ms']:.2f} ms"
        f"   (ours/plain {r['p95_ms'] / r['fts_p95_ms']:.2f}, ours/LIKE {r['p95_ms'] / r['like_p95_ms']:.3f})"
    )
    print(f"slowest query {r['worst_query']!r}: p95 {r['worst_query_p95_ms']:.2f} ms")
    print(format_classes(int(r["docs"]), r["search_classes"], str(r["search_backend"])))  # type: ignore[arg-type]
    print(f"summary       {r['summary_ms']:8.2f} ms per document")
    print(f"database      {r['db_mb']:8.1f} MB        plain FTS5 {r['plain_db_mb']:.1f} MB")
    print(f"peak memory   {r['peak_rss_mb']:8.0f} MB (whole process so far)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ingest-rounds", type=int, default=INGEST_ROUNDS, help="fresh loads per size")
    parser.add_argument("--only", choices=["corpus", "bot", "broadcast", "sources", "deploy"])
    parser.add_argument(
        "--bot-sizes", default="10000", help="corpus sizes of the bot benchmark (its RSS goal is at 100000)"
    )
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        help="the bot benchmark keeps its corpora here (bot-<n>.db) and reuses them",
    )
    parser.add_argument(
        "--bench-rounds", type=int, default=3, help="rounds of the bot, broadcast and sources benchmarks"
    )
    parser.add_argument(
        "--database-url",
        help="the corpus benchmark on PostgreSQL: a fresh database made on this server (also the server of deploy)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    morph = Morphology()
    if args.only in (None, "corpus"):
        with tempfile.TemporaryDirectory(prefix="alatau-bench-") as tmp:
            for n in sizes:
                figures = bench_corpus(
                    n, Path(tmp), morph, args.rounds, args.database_url, args.ingest_rounds
                )
                _print_corpus(asyncio.run(figures))
    if args.only in (None, "bot"):
        try:
            from bench.bot_bench import run as run_bot_bench
        except ImportError:
            print("\n(bot benchmark not available yet)")
        else:
            for n in (int(s) for s in args.bot_sizes.split(",") if s):
                run_bot_bench(n, rounds=args.bench_rounds, corpus_dir=args.corpus_dir)
    if args.only in (None, "broadcast"):
        try:
            from bench.broadcast_bench import run as run_broadcast_bench
        except ImportError:
            print("\n(broadcast benchmark not available yet)")
        else:
            run_broadcast_bench(rounds=args.bench_rounds)
    if args.only in (None, "sources"):
        from bench.sources_bench import run as run_sources_bench

        run_sources_bench(rounds=args.bench_rounds)
    if args.only in (None, "deploy"):
        from bench.deploy_bench import run as run_deploy_bench

        # Web workers and workers on PostgreSQL + Redis (skipped, with the reason, when either is missing).
        run_deploy_bench(rounds=args.bench_rounds, server_url=args.database_url)
