"""`python -m bot export FILE.jsonl` and `python -m bot import FILE.jsonl`: the whole corpus as JSON Lines
(bot/corpus/archive.py says what a line holds and why import restores rather than ingests)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.app.container import Services
from bot.app.failures import StartupFailure
from bot.app.settings import Settings
from bot.corpus.archive import CorpusArchive

EXIT_SOME_FAILED = 1


async def export_corpus(settings: Settings, target: Path) -> int:
    services = await Services.open(settings, load_sample=False, read_only=True)
    partial = target.with_name(target.name + ".part")
    count = 0
    try:
        archive = CorpusArchive(services.corpus, services.backend.archive)
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            async for line in archive.export():
                out.write(line + "\n")
                count += 1
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StartupFailure(f"cannot write {target} ({exc.strerror}).", exit_code=1) from None
    finally:
        await services.close()
    print(f"exported {count} documents to {target}")
    return 0


def _lines(path: Path) -> Iterator[str]:
    """The file's lines as they are read: a corpus of 100k texts need not be held twice in memory."""
    with path.open(encoding="utf-8") as source:
        yield from source


async def import_corpus(settings: Settings, source: Path) -> int:
    if not await asyncio.to_thread(source.is_file):
        raise StartupFailure(f"{source} is not a file.", exit_code=1)
    services = await Services.open(settings, load_sample=False)
    try:
        archive = CorpusArchive(services.corpus, services.backend.archive)
        report = await archive.import_lines(_lines(source))
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupFailure(
            f"cannot read {source} as UTF-8 JSON Lines ({exc}); the lines before it were imported.",
            exit_code=1,
        ) from None
    finally:
        await services.close()
    for number, why in report.failed:
        print(f"failed: {source}:{number}: {why}")
    summary = (
        f"imported {report.added} documents, already stored {report.already_stored} (skipped), "
        f"failed {len(report.failed)}"
    )
    if report.unresolved:
        summary += f", links to documents not found {report.unresolved} (left out)"
    print(summary, file=sys.stdout)
    return EXIT_SOME_FAILED if report.failed else 0
