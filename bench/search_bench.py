"""`python -m bench.search_bench`: search latency per query class, beside a fair plain-FTS5 baseline.

Corpora take minutes to build at 100k texts, so a corpus can be kept in a file (`--corpus-dir`) and reused:
the bot's database `ours-N.db` and the baseline's `plain-N.db` are built there once, from the same
generated texts. With `--database-url` (a server) the same searches run on PostgreSQL too, beside SQLite and
the plain baseline in the same rounds: PostgreSQL's corpus is a database of that server made once by copying
`ours-N.db` into it (`migrate-db`'s copy: minutes at 100k, where ingesting runs ~35 texts/s), named after
the size and the schema version (`--pg-corpus ingest` ingests it instead; `--rebuild` starts over).

Each query class is run `rounds` times; p95 is taken per round and reported as min / median over rounds, since
on a shared machine the minimum is the steadiest figure and the median the honest one. CPU time is this
process's (SQLite's thread included) and, on PostgreSQL, the server's: the backends serving the corpus's
database, read from /proc (schedstat, ns) around each search.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
from storage.postgres.migrations import MIGRATIONS
from storage.postgres.scratch import with_database
from storage.transfer import copy_to_postgres

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
    """The bot's corpus of `n` generated texts, built once and reused (on PostgreSQL: ingested)."""
    if server_url is not None:
        return await open_postgres(n, folder, morph, server_url, rebuild, "ingest")
    path, part, built = _sqlite_files(folder, n, rebuild)
    if not built:
        backend = await open_backend(part)
        await _ingest(backend, n, morph)
        await backend.close()
        part.rename(path)
    backend = await open_backend(path)
    return backend, Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)


def postgres_name(n: int, how: str) -> str:
    # A copy is named after the schema version: the code of another version then never opens it (an older
    # one refuses a newer schema), and each keeps its own.
    return f"alatau_search_bench_{n}" if how == "ingest" else f"alatau_search_bench_{n}_m{len(MIGRATIONS)}"


async def _fresh_database(server_url: str, name: str, rebuild: bool) -> bool:
    """Whether database `name` existed (and is kept); made empty otherwise."""
    admin = await asyncpg.connect(server_url)
    try:
        exists = bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        if exists and rebuild:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or rebuild:
            await admin.execute(f'CREATE DATABASE "{name}"')
            return False
        return True
    finally:
        await admin.close()


async def _documents_in(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('documents') IS NOT NULL"):
            return 0
        return int(await conn.fetchval("SELECT count(*) FROM documents"))
    finally:
        await conn.close()


async def _settle(url: str) -> None:
    """What autovacuum does soon after a bulk load: the planner's statistics, and the visibility map that
    lets an index-only scan skip the table."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def open_postgres(
    n: int, folder: Path, morph: Morphology, server_url: str, rebuild: bool, how: str = "migrate"
) -> tuple[Backend, Corpus]:
    """The bot's corpus on PostgreSQL, a database of the server of `server_url` made once: `how` is
    "migrate" (the SQLite corpus copied by migrate-db's copy, built first if need be) or "ingest"."""
    name = postgres_name(n, how)
    url = with_database(server_url, name)
    existed = await _fresh_database(server_url, name, rebuild)
    if how == "migrate":
        source = folder / f"ours-{n}.db"
        if not source.exists():
            backend, _ = await open_ours(n, folder, morph, None, False)
            await backend.close()
        lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            expected = int(lite.execute("SELECT count(*) FROM documents").fetchone()[0])
        finally:
            lite.close()
        if not existed or await _documents_in(url) != expected:
            if existed:  # an interrupted copy leaves nothing (one transaction); anything else starts over
                await _fresh_database(server_url, name, True)
            started = time.perf_counter()
            await copy_to_postgres(source, url)
            await _settle(url)
            print(f"copied {source} into {name} in {time.perf_counter() - started:.0f} s")
    backend = await open_backend(url)
    if how == "ingest" and (not existed or await backend.documents.count() < n):
        await _ingest(backend, n, morph)
        if isinstance(backend.database, PostgresDatabase):
            await backend.database.execute("ANALYZE")
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


class ServerCpu:
    """CPU seconds spent so far by the PostgreSQL backends serving database `name` on this machine: the
    schedstat (ns) of every process whose title names it. A backend that exits keeps its last figure."""

    def __init__(self, name: str) -> None:
        self._needle = f" {name} ".encode()
        self._last: dict[int, int] = {}
        self._gone = 0

    def _pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and self._needle in title:
                pids.append(int(entry.name))
        return pids

    def seconds(self, rescan: bool = True) -> float:
        """Before a search, `rescan` finds the backends (a scan of /proc); after it, the same ones are read."""
        now: dict[int, int] = {}
        for pid in self._pids() if rescan else list(self._last):
            try:
                now[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        self._gone += sum(v for pid, v in self._last.items() if pid not in now)
        self._last = now
        return (self._gone + sum(now.values())) / 1e9


@dataclass
class Side:
    """One way of searching, measured beside the others in the same rounds."""

    name: str
    run: Callable[[str], Awaitable[object]]
    server: ServerCpu | None = None


_SIDE_KEYS = ("wall", "cpu", "server", "total")


async def measure_sides(sides: Sequence[Side], rounds: int = 3) -> dict[str, dict[str, dict[str, float]]]:
    """{class: {side: figures}} in ms: per round the p95 of wall time, of this process's CPU time, of the
    server's and of both together, each as min and median over the rounds. Each query runs on every side
    in turn, so that a burst of load on the machine falls on all of them alike."""
    for queries in CLASSES.values():  # warm-up: vocabulary, term statistics, pages, the server's caches
        for q in queries:
            for side in sides:
                await side.run(q)
    per_round: dict[str, dict[str, dict[str, list[float]]]] = {
        c: {s.name: {k: [] for k in _SIDE_KEYS} for s in sides} for c in CLASSES
    }
    for _ in range(rounds):
        samples: dict[str, dict[str, dict[str, list[float]]]] = {
            c: {s.name: {k: [] for k in _SIDE_KEYS} for s in sides} for c in CLASSES
        }
        for _ in range(5):
            for cls, queries in CLASSES.items():
                for q in queries:
                    for side in sides:
                        before = side.server.seconds() if side.server else 0.0
                        w, c = time.perf_counter(), time.process_time()
                        await side.run(q)
                        wall, cpu = time.perf_counter() - w, time.process_time() - c
                        server = side.server.seconds(rescan=False) - before if side.server else 0.0
                        got = samples[cls][side.name]
                        for key, value in zip(_SIDE_KEYS, (wall, cpu, server, cpu + server), strict=True):
                            got[key].append(value * 1000)
        for cls in CLASSES:
            for side in sides:
                for key in _SIDE_KEYS:
                    per_round[cls][side.name][key].append(_pct(samples[cls][side.name][key], 95))
    return {
        cls: {
            name: {
                f"{key}_{how}": f(values[key])
                for key in _SIDE_KEYS
                for how, f in (("min", min), ("median", statistics.median))
            }
            for name, values in by_side.items()
        }
        for cls, by_side in per_round.items()
    }


def format_sides(n: int, figures: dict[str, dict[str, dict[str, float]]]) -> str:
    names = list(next(iter(figures.values())))
    lines = [
        f"search p95 per query class, {n:,} documents, ms: wall min / median of the rounds' p95; CPU median "
        "(with a server: this process + the server = both)",
        f"  {'class':<14}" + "".join(f"  {name + ' wall':>17} {'CPU':>22}" for name in names),
    ]
    for cls, by_side in figures.items():
        row = f"  {cls:<14}"
        for f in by_side.values():
            cpu = (
                f"{f['cpu_median']:5.1f} + {f['server_median']:5.1f} = {f['total_median']:5.1f}"
                if f["server_median"]
                else f"{f['cpu_median']:6.2f}"
            )
            row += f"  {f['wall_min']:7.2f} / {f['wall_median']:7.2f} {cpu:>22}"
        lines.append(row)
    return "\n".join(lines)


def _plain_side(plain: sqlite3.Connection, limit: int) -> Side:
    async def run(q: str) -> object:
        return plain_search(plain, q, limit)

    return Side("plain FTS5", run)


async def measure_backends(
    n: int,
    folder: Path,
    morph: Morphology,
    rounds: int,
    server_url: str,
    how: str = "migrate",
    rebuild: bool = False,
    cache: bool = False,
    limit: int = 10,
) -> dict[str, dict[str, dict[str, float]]]:
    """The query classes on SQLite, on PostgreSQL and on plain FTS5, in the same rounds."""
    lite, lite_corpus = await open_ours(n, folder, morph, None, False)
    pg, pg_corpus = await open_postgres(n, folder, morph, server_url, rebuild, how)
    plain = sqlite3.connect(folder / f"plain-{n}.db")
    size = 256 if cache else 0
    try:
        on_lite, on_pg = (
            SearchService(lite_corpus, cache_size=size),
            SearchService(pg_corpus, cache_size=size),
        )

        async def lite_run(q: str) -> object:
            return await on_lite.search(q, limit=limit)

        async def pg_run(q: str) -> object:
            return await on_pg.search(q, limit=limit)

        sides = [
            Side("SQLite", lite_run),
            Side("PostgreSQL", pg_run, ServerCpu(postgres_name(n, how))),
            _plain_side(plain, limit),
        ]
        return await measure_sides(sides, rounds)
    finally:
        plain.close()
        await lite.close()
        await pg.close()


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
    parser.add_argument(
        "--database-url", help="a PostgreSQL server: the searches run there too, beside SQLite and plain FTS5"
    )
    parser.add_argument(
        "--pg-corpus",
        choices=("migrate", "ingest"),
        default="migrate",
        help="PostgreSQL's corpus: the SQLite one copied (migrate-db, minutes) or ingested (~35 texts/s)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the corpora again")
    parser.add_argument("--cache", action="store_true", help="with the cache of popular queries on")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    morph = Morphology()
    folder = Path(args.corpus_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for n in [int(s) for s in args.sizes.split(",") if s]:
        build_plain(folder / f"plain-{n}.db", n, morph)
        if args.build_only:

            async def build(n: int = n) -> None:
                if args.database_url:
                    backend, _ = await open_postgres(
                        n, folder, morph, args.database_url, args.rebuild, args.pg_corpus
                    )
                else:
                    backend, _ = await open_ours(n, folder, morph, None, args.rebuild)
                await backend.close()

            asyncio.run(build())
        elif args.database_url:
            sides = asyncio.run(
                measure_backends(
                    n, folder, morph, args.rounds, args.database_url, args.pg_corpus, args.rebuild, args.cache
                )
            )
            print("\n" + format_sides(n, sides))
        else:
            figures = asyncio.run(measure(n, folder, morph, args.rounds, None, args.rebuild, args.cache))
            print("\n" + format_classes(n, figures, "SQLite"))


if __name__ == "__main__":
    main()
