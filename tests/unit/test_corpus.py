from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from bot.corpus.ingest import Corpus, IngestResult, Status, TextInput
from bot.text.morph import Morphology
from bot.text.normalize import detect_language, find_date, normalize_text, split_markers
from storage.db import Database
from tests.conftest import text_input
from tests.corpus_texts import COUNCIL, DECREE, ENGLISH, KAZAKH
from tests.storage.services import on_postgres


def test_normalize_text() -> None:
    raw = "Прези\u00adдент  подписал\u200b указ\r\n\r\n\r\n„Алатау“\tСити\x07"
    assert normalize_text(raw) == "Президент подписал указ\n\n«Алатау» Сити"


def test_markers_title_and_dates() -> None:
    meta = split_markers(DECREE)
    assert meta.published == date(2025, 9, 15)
    assert meta.title == "Президент подписал указ об особом статусе Алатау"
    assert meta.text.startswith("Глава государства")
    seed = split_markers(" date 2026-01-24 Он напомнил, что указом Президента...")
    assert seed.published == date(2026, 1, 24)
    assert seed.text.startswith("Он напомнил")
    assert find_date("Астана, 5 марта 2026 года. Текст") == date(2026, 3, 5)
    assert find_date("Опубликовано 07.10.2025 в 10:00") == date(2025, 10, 7)
    assert find_date("ALMATY, September 24, 2025 — text") == date(2025, 9, 24)
    assert find_date("31.02.2025 не дата") is None


def test_language_detection() -> None:
    assert detect_language(split_markers(DECREE).text) == "ru"
    assert detect_language(split_markers(ENGLISH).text) == "en"
    assert detect_language(split_markers(KAZAKH).text) == "kk"


async def test_ingest_reads_metadata(corpus: Corpus) -> None:
    result = await corpus.ingest(text_input(DECREE, url="https://example.kz/a"))
    assert result.status is Status.ADDED
    assert result.id is not None
    doc = await corpus.repo.get(result.id)
    assert doc is not None
    assert doc.title.startswith("Президент подписал указ")
    assert doc.published == date(2025, 9, 15)
    assert doc.lang == "ru"
    assert doc.url == "https://example.kz/a"
    assert doc.story_id == doc.id


async def test_exact_duplicate_is_refused(corpus: Corpus) -> None:
    first = await corpus.ingest(text_input(DECREE))
    # Same text with different whitespace, case and ё: still the same content.
    again = await corpus.ingest(text_input(DECREE.replace("расчёты", "расчеты").replace(" ", "  ")))
    assert again.status is Status.DUPLICATE
    assert again.duplicate_of == first.id
    assert await corpus.repo.count() == 1


async def test_near_duplicate_is_kept_and_linked(corpus: Corpus) -> None:
    first = await corpus.ingest(text_input(COUNCIL))
    edited = COUNCIL.replace("прошло в Алматы", "состоялось в Алматы") + "\nИсточник: пресс-служба акимата."
    second = await corpus.ingest(text_input(edited))
    assert second.status is Status.NEAR_DUPLICATE
    assert second.duplicate_of == first.id
    assert second.story_id == first.story_id
    # A republication of the republication still points at the original.
    third = await corpus.ingest(text_input(edited + " Фото: архив."))
    assert third.duplicate_of == first.id
    assert await corpus.repo.count() == 3


async def test_unrelated_text_is_not_a_near_duplicate(corpus: Corpus) -> None:
    await corpus.ingest(text_input(COUNCIL))
    other = await corpus.ingest(text_input(DECREE))
    assert other.status is Status.ADDED


async def test_bad_texts_get_reasons(db: object, morph: object) -> None:
    strict = Corpus(db, morph, min_chars=200, max_chars=2000)  # type: ignore[arg-type]
    short = await strict.ingest(TextInput("Коротко.", source="s"))
    assert short.status is Status.FAILED
    assert short.reason is not None
    assert "too short" in short.reason
    long = await strict.ingest(TextInput("Слово. " * 1000, source="l"))
    assert long.reason is not None
    assert "limit is 2000" in long.reason
    empty = await strict.ingest(TextInput("  \n\u200b ", source="e"))
    assert empty.reason == "the text is empty"
    assert await strict.repo.count() == 0


async def test_sample_corpus_loads_once(corpus: Corpus) -> None:
    assert await corpus.ensure_sample() == 1
    assert await corpus.ensure_sample() == 0
    docs = await corpus.repo.latest(10)
    assert docs[0].published == date(2026, 1, 24)
    assert "Алатау" in docs[0].text


@pytest.mark.skipif(on_postgres(), reason="breaks the insert with an SQLite trigger (TEST_BACKEND=postgres)")
async def test_failed_save_leaves_nothing(corpus: Corpus) -> None:
    prepared = await corpus.prepare(text_input(DECREE))
    # Break the insert half-way: the FTS row would be written after the document row.
    await corpus.db.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON doc_features BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(Exception, match="boom"):
        await corpus.save(prepared)
    assert await corpus.db.int_scalar("SELECT count(*) FROM documents") == 0
    assert await corpus.db.int_scalar("SELECT count(*) FROM doc_fts") == 0
    assert await corpus.db.int_scalar("SELECT count(*) FROM doc_bands") == 0


@pytest.mark.skipif(on_postgres(), reason="poisons the insert with an SQLite trigger (TEST_BACKEND=postgres)")
async def test_one_poisoned_text_never_loses_its_batch(corpus: Corpus) -> None:
    from tests.corpus_texts import ALL

    # The database refuses one text of the batch (as a constraint would): only that one is lost.
    await corpus.db.conn.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON documents WHEN NEW.title LIKE 'POISON%' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
    )
    items = [TextInput(text, source=f"t{i}") for i, text in enumerate(ALL)]
    items.insert(2, TextInput(ALL[0] + " Другой текст.", source="poison", title="POISON"))
    items.append(TextInput(ALL[1], source="again"))  # a repeat within the batch
    results = [r async for r in corpus.ingest_many(items)]
    statuses = {r.source: r.status for r in results}
    assert statuses.pop("poison") is Status.FAILED
    assert statuses.pop("again") is Status.DUPLICATE
    assert set(statuses.values()) == {Status.ADDED}, results
    assert await corpus.repo.count() == len(ALL)
    assert results[-1].duplicate_of == results[1].id
    for result in results:
        if result.status is Status.ADDED:
            stored = await corpus.repo.get(result.id or 0)
            assert stored is not None and stored.story_id == result.story_id
    # Its terms are not counted as if it were stored.
    assert corpus.term_stats.n_docs == len(ALL)


@pytest.mark.parametrize("batched", [False, True])
async def test_story_fixtures_group_by_event_through_ingest(corpus: Corpus, batched: bool) -> None:
    # The fixtures are named EVENT__OUTLET.txt: reports of one event must end up in one story, and
    # different events (even on the same topic, days apart) in different stories — whether texts come one
    # at a time (chat uploads) or in batches (the CLI, zip uploads).
    from pathlib import Path

    folder = Path(__file__).parents[1] / "fixtures" / "stories"
    # In file-name order, not date order: texts reach the bot in any order.
    paths = sorted(folder.glob("*.txt"))
    inputs = [TextInput(p.read_text(encoding="utf-8"), source=p.name) for p in paths]
    if batched:
        results = [r async for r in corpus.ingest_many(inputs)]
    else:
        results = [await corpus.ingest(i) for i in inputs]
    story_of: dict[str, int] = {}
    for path, result in zip(paths, results, strict=True):
        assert result.story_id is not None, result
        story_of[path.stem] = result.story_id
    events: dict[str, set[int]] = {}
    for name, story in story_of.items():
        events.setdefault(name.split("__")[0], set()).add(story)
    assert all(len(stories) == 1 for stories in events.values()), sorted(events.items())
    firsts = [next(iter(s)) for s in events.values()]
    assert len(firsts) == len(set(firsts)), sorted(events.items())


async def test_bulk_ingest_with_a_worker_process(corpus: Corpus) -> None:
    from bot.corpus.analysis_pool import AnalysisPool

    items = [
        TextInput(DECREE, source="a"),
        TextInput("коротко", source="short"),
        TextInput(COUNCIL, source="b"),
        TextInput(DECREE, source="again"),
    ]
    async with AnalysisPool(corpus.min_chars + 10, corpus.max_chars) as pool:
        results = [r async for r in corpus.ingest_many(items, pool=pool)]
    assert [r.status for r in results] == [Status.ADDED, Status.FAILED, Status.ADDED, Status.DUPLICATE]
    assert results[1].reason is not None
    assert "too short" in results[1].reason
    found = await corpus.repo.get(results[0].id or 0)
    assert found is not None
    assert found.published == date(2025, 9, 15)


async def _one_by_one(path: Path, morph: Morphology, inputs: list[TextInput]) -> list[IngestResult]:
    """The texts ingested one at a time, each in its own transaction, into a fresh SQLite corpus."""
    async with Database(path) as db:
        one = Corpus(db, morph, min_chars=20)
        return [await one.ingest(i) for i in inputs]


def _grouping(results: list[IngestResult]) -> list[tuple[Status, int | None, int | None, int | None]]:
    return [(r.status, r.id, r.story_id, r.duplicate_of) for r in results]


@pytest.mark.skipif(on_postgres(), reason="the one-by-one corpus is on SQLite")
@pytest.mark.parametrize(
    ("limit", "per_key", "margin", "shuffled"),
    [
        (60, 25, 20, False),
        (1, 25, 20, False),
        (3, 1, 2, False),
        (2, 3, 0, False),
        (3, 2, 2, True),
        (2, 1, 0, True),
        (5, 2, 1, True),
    ],
)
async def test_a_batch_groups_texts_as_one_by_one(
    corpus: Corpus,
    morph: Morphology,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    per_key: int,
    margin: int,
    shuffled: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Stories must not depend on the batch size: a batch of all the texts groups them as one by one, also
    # when storage's limits bite (few candidates per lookup, few documents per key), as they do on a large
    # corpus: then the batch's earlier texts push stored candidates out, as they would had they been stored.
    from bot.corpus import batch, ingest

    for module in (batch, ingest):
        monkeypatch.setattr(module, "STORY_CANDIDATES", limit)
        monkeypatch.setattr(module, "STORY_PER_KEY", per_key)
    # With no margin, every lookup that the batch takes part in needs storage's whole ranking.
    monkeypatch.setattr(batch, "STORY_MARGIN", margin)
    root = Path(__file__).parents[2]
    paths = sorted((root / "tests/fixtures/stories").glob("*.txt")) + sorted(
        (root / "bench/quality/data/texts").glob("*.txt")
    )
    texts = [p.read_text(encoding="utf-8") for p in paths]
    # Undated copies too: they are looked up both ways.
    texts += [t.split("\n", 1)[1] + "\nПовтор." for t in texts[::3]]
    inputs = [TextInput(t, source=f"t{i}") for i, t in enumerate(texts)]
    if shuffled:  # later batches bring older texts than some stored ones
        random.Random(3).shuffle(inputs)
    # Three batches: the later ones meet stored texts and their own earlier ones together.
    monkeypatch.setattr(ingest, "BATCH_SIZE", len(inputs) // 3 + 1)
    single = await _one_by_one(tmp_path / "one.db", morph, inputs)
    # A small cache of parsed fingerprints: most candidates' are read from storage again.
    corpus.fingerprints = batch.Fingerprints(2)
    batched = [r async for r in corpus.ingest_many(inputs)]
    assert _grouping(batched) == _grouping(single)
    assert "rolled back" not in caplog.text, (
        "the batches were stored as batches, not one by one after a failure"
    )


@pytest.mark.skipif(on_postgres(), reason="the one-by-one corpus is on SQLite")
async def test_batches_with_repeats_group_texts_as_one_by_one(
    corpus: Corpus, morph: Morphology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Repeats of texts stored two batches back, of the batch before, and of the same batch: each is found
    # stored (or planned) and not counted into the statistics that weigh the later texts' fingerprints.
    from bot.corpus import ingest

    root = Path(__file__).parents[2]
    paths = sorted((root / "tests/fixtures/stories").glob("*.txt"))
    paths += sorted((root / "bench/quality/data/texts").glob("*.txt"))[:60]
    inputs = [TextInput(p.read_text(encoding="utf-8"), source=f"t{i}") for i, p in enumerate(paths)]
    size = 20
    repeated = list(inputs)
    for at in range(2 * size, len(inputs), size):
        # the first of two batches back, the first of the batch before, and one of its own batch
        repeated[at + 1 : at + 1] = [inputs[at - 2 * size], inputs[at - size], inputs[at]]
    monkeypatch.setattr(ingest, "BATCH_SIZE", size)
    single = await _one_by_one(tmp_path / "one.db", morph, repeated)
    batched = [r async for r in corpus.ingest_many(repeated)]
    assert _grouping(batched) == _grouping(single)
    assert sum(r.status is Status.DUPLICATE for r in batched) >= 3
    stats = await corpus.stats()
    fresh = Corpus(corpus.db, morph, min_chars=20, repo=corpus.repo)
    assert (await fresh.stats()).df == +stats.df
    assert (await fresh.stats()).n_docs == stats.n_docs


@pytest.mark.skipif(on_postgres(), reason="the page limit is SQLite's")
async def test_a_full_disk_while_the_next_batch_waits_names_every_text_once(
    db: Database, morph: Morphology, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fills in the middle of a run of nine batches: the batch being stored is rolled back whole,
    # and it and every text not reached come out FAILED (disk full), each once and in order; the batches
    # before stay stored.
    from bot.corpus import ingest

    root = Path(__file__).parents[2]
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "bench/quality/data/texts").glob("*.txt"))]
    inputs = [TextInput(t, source=f"t{i}") for i, t in enumerate(texts[:90])]
    monkeypatch.setattr(ingest, "BATCH_SIZE", 10)
    corpus = Corpus(db, morph, min_chars=20)
    # Room for about two batches more than the schema.
    pages = await db.int_scalar("PRAGMA page_count")
    await db.conn.execute(f"PRAGMA max_page_count = {pages + 60}")
    results = [r async for r in corpus.ingest_many(inputs)]
    assert [r.source for r in results] == [i.source for i in inputs]
    stored = [r for r in results if r.id is not None]
    refused = [r for r in results if ingest.stopped_by_storage(r)]
    assert len(stored) + len(refused) == len(inputs)
    assert stored == results[: len(stored)], "the texts stored come first: nothing after the stop"
    assert len(stored) % 10 == 0 and 10 <= len(stored) <= len(inputs) - 30, len(stored)
    assert await db.int_scalar("SELECT count(*) FROM documents") == len(stored)


def test_an_earlier_text_of_the_batch_pushes_out_the_stored_one_it_overtakes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A key offers its two most recent texts. An earlier text of the batch from 4 March overtakes a stored
    # one of 3 March, which then shares one key less and drops out; one of 1 March would overtake none.
    from bot.corpus import batch
    from storage.models import FeatureRow, StoryQuery

    monkeypatch.setattr(batch, "STORY_PER_KEY", 2)
    monkeypatch.setattr(batch, "STORY_CANDIDATES", 3)

    def lookup(day: int) -> batch._Lookup:
        query = StoryQuery(("k1", "k2"), date(2026, 3, 1), date(2026, 3, 10), limit=4)
        found = batch._Lookup(query, {"k1": [(date(2026, 3, day), batch.PENDING)]})
        found.answer([FeatureRow(doc_id, None, None, "ru", "{}", shared=2) for doc_id in (10, 11, 12)])
        found.key_docs = [[(date(2026, 3, 5), 12), (date(2026, 3, 3), 11)]]
        assert found.rank()
        return found

    assert lookup(6).best == [12, 10]
    assert lookup(4).best == [12, 10]
    assert lookup(1).best == [12, 11, 10]
