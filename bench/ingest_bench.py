"""Ingest throughput beside a plain FTS5 insert of the same texts, round by round in the same run.

Each round loads a fresh database with the bot's ingest (analysis in a worker process, morphology,
duplicates, stories) and then a fresh plain FTS5 table with the raw texts; the figures are the min and the
median over the rounds (docs/s), and the ratio of the medians. The last round's databases are kept for the
search benchmark.
"""

from __future__ import annotations

import resource
import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.ingest import Corpus, TextInput
from bot.text.morph import Morphology
from storage.backend import Backend, open_backend
from storage.postgres.scratch import create_database, drop_database

Text = tuple[str, str, date]
# Analysis worker processes, as the CLI runs them.
WORKERS = 1


@dataclass
class Loaded:
    """The last round's databases, for the search benchmark."""

    backend: Backend
    corpus: Corpus
    url: str | None  # the PostgreSQL database made for it, to drop at the end
    plain: sqlite3.Connection


@dataclass
class IngestFigures:
    ours: list[float]  # docs/s of each round
    plain: list[float]
    # CPU ms per document of each round (this process and its worker processes): steadier than wall time
    # on a shared machine
    ours_cpu: list[float]
    plain_cpu: list[float]
    # the same, split: this process (event loop, database thread) and the analysis worker(s)
    main_cpu: list[float] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        ours, plain = statistics.median(self.ours), statistics.median(self.plain)
        return {
            "ingest_docs_s": ours,
            "ingest_min_docs_s": min(self.ours),
            "plain_ingest_docs_s": plain,
            "plain_ingest_min_docs_s": min(self.plain),
            "ingest_ratio": ours / plain,
            "ingest_rounds": len(self.ours),
            "ingest_cpu_ms": statistics.median(self.ours_cpu),
            "plain_ingest_cpu_ms": statistics.median(self.plain_cpu),
            "ingest_main_cpu_ms": statistics.median(self.main_cpu) if self.main_cpu else 0.0,
            "ingest_worker_cpu_ms": statistics.median(self.worker_cpu) if self.worker_cpu else 0.0,
        }


def _cpu_split() -> tuple[float, float]:
    """CPU seconds of this process, and of its ended children (the analysis workers, once the pool is shut)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _cpu_seconds() -> float:
    return sum(_cpu_split())


async def _ours(
    docs: Sequence[Text], location: Path | str, morph: Morphology, workers: int = WORKERS
) -> tuple[float, Backend, Corpus]:
    backend = await open_backend(location)
    corpus = Corpus(backend.transactions, morph, min_chars=20, repo=backend.documents)
    inputs = (
        TextInput(text=text, title=title, date=published.isoformat(), source="bench")
        for title, text, published in docs
    )
    t0 = time.perf_counter()
    async with AnalysisPool(20, 200_000, workers=workers) as pool:
        async for _ in corpus.ingest_many(inputs, pool=pool):
            pass
    return time.perf_counter() - t0, backend, corpus


def _plain(docs: Sequence[Text], path: Path) -> tuple[float, sqlite3.Connection]:
    plain = sqlite3.connect(path)
    plain.executescript(
        "PRAGMA journal_mode=WAL; CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, text TEXT);"
        "CREATE VIRTUAL TABLE plain USING fts5(title, text, content='docs', content_rowid='id');"
    )
    t0 = time.perf_counter()
    with plain:
        for i, (title, text, _) in enumerate(docs, start=1):
            plain.execute("INSERT INTO docs VALUES (?, ?, ?)", (i, title, text))
            plain.execute("INSERT INTO plain (rowid, title, text) VALUES (?, ?, ?)", (i, title, text))
    return time.perf_counter() - t0, plain


def _remove(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink()


async def measure_ingest(
    docs: Sequence[Text],
    workdir: Path,
    morph: Morphology,
    rounds: int,
    server_url: str | None = None,
    workers: int = WORKERS,
) -> tuple[IngestFigures, Loaded]:
    """`rounds` rounds of both ingests, alternating (so that both see the same load); with `server_url`,
    the bot's side runs on a fresh PostgreSQL database on that server each round."""
    n = len(docs)
    figures = IngestFigures([], [], [], [])
    loaded: Loaded | None = None
    for r in range(rounds):
        last = r == rounds - 1
        url = await create_database(server_url, "alatau_bench") if server_url else None
        suffix = "" if last else f"-round{r}"
        main_cpu, workers_cpu = _cpu_split()
        seconds, backend, corpus = await _ours(docs, url or workdir / f"ours-{n}{suffix}.db", morph, workers)
        main_after, workers_after = _cpu_split()
        figures.main_cpu.append((main_after - main_cpu) * 1000 / n)
        figures.worker_cpu.append((workers_after - workers_cpu) * 1000 / n)
        figures.ours_cpu.append(figures.main_cpu[-1] + figures.worker_cpu[-1])
        figures.ours.append(n / seconds)
        cpu = _cpu_seconds()
        plain_s, plain = _plain(docs, workdir / f"plain-{n}{suffix}.db")
        figures.plain_cpu.append((_cpu_seconds() - cpu) * 1000 / n)
        figures.plain.append(n / plain_s)
        if last:
            loaded = Loaded(backend, corpus, url, plain)
            continue
        await backend.close()
        plain.close()
        if url is not None and server_url is not None:
            await drop_database(server_url, url)
        _remove(workdir, f"*-{n}{suffix}.db*")
    assert loaded is not None
    return figures, loaded


def _print(n: int, f: IngestFigures) -> None:
    r = f.as_dict()
    print(
        f"{n:>7} texts  ours {min(f.ours):6.0f} / {r['ingest_docs_s']:6.0f} docs/s (min / median)   "
        f"plain FTS5 {min(f.plain):6.0f} / {r['plain_ingest_docs_s']:6.0f}   ratio {r['ingest_ratio']:.3f}"
    )
    print(
        f"{'':>7}        CPU ms per text: ours {r['ingest_cpu_ms']:.2f} (this process "
        f"{r['ingest_main_cpu_ms']:.2f}, worker {r['ingest_worker_cpu_ms']:.2f}), plain FTS5 "
        f"{r['plain_ingest_cpu_ms']:.2f}"
    )
    rounds = ", ".join(
        f"{d:.0f} docs/s {m:.2f}+{w:.2f} ms" for d, m, w in zip(f.ours, f.main_cpu, f.worker_cpu, strict=True)
    )
    print(f"{'':>7}        rounds: {rounds}")


async def _run(sizes: Sequence[int], rounds: int, server_url: str | None, workers: int) -> None:
    import tempfile

    from bench.corpus_gen import generate

    morph = Morphology()
    for n in sizes:
        docs = list(generate(n, morph=morph))
        with tempfile.TemporaryDirectory(prefix="alatau-ingest-") as tmp:
            figures, loaded = await measure_ingest(docs, Path(tmp), morph, rounds, server_url, workers)
            await loaded.backend.close()
            loaded.plain.close()
            if loaded.url is not None and server_url is not None:
                await drop_database(server_url, loaded.url)
        _print(n, figures)


def main() -> None:
    """`python -m bench.ingest_bench [--sizes 2000,10000] [--rounds 3] [--database-url URL]`: the ingest
    alone, with the CPU time per text of this process and of the analysis worker apart."""
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(prog="python -m bench.ingest_bench")
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=WORKERS, help="analysis worker processes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    asyncio.run(_run(sizes, args.rounds, args.database_url, args.workers))


if __name__ == "__main__":
    main()
