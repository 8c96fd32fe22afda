"""The domain lexicon: one concept for the Russian, Kazakh and English names of a thing, its abbreviations,
compounds and hyphenations."""

from __future__ import annotations

import pytest

from bot.text.lexicon import CONCEPTS, concept_words, concepts, find, variants
from bot.text.morph import Morphology, iter_tokens


@pytest.fixture(scope="module")
def morph() -> Morphology:
    return Morphology()


def _found(text: str, morph: Morphology) -> list[tuple[str, str]]:
    tokens = list(iter_tokens(text))
    words = [t[2] for t in tokens]
    terms = [morph.token_term(t[2], t[3]) for t in tokens]
    return [(" ".join(words[a:b]), c) for a, b, c in find(words, terms)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Касым-Жомарт Токаев подписал указ",
            [("касым жомарт токаев", "tokayev"), ("подписал", "sign"), ("указ", "decree")],
        ),
        (
            "Қасым-Жомарт Тоқаев Жарлыққа қол қойды",
            [("қасым жомарт тоқаев", "tokayev"), ("жарлыққа", "decree"), ("қол қойды", "sign")],
        ),
        (
            "Kassym-Jomart Tokayev signed the decree",
            [("kassym jomart tokayev", "tokayev"), ("signed", "sign"), ("decree", "decree")],
        ),
        ("по генеральному плану", [("генеральному плану", "master_plan")]),
        ("Генплан и бас жоспары", [("генплан", "master_plan"), ("бас жоспары", "master_plan")]),
        ("специальной экономической зоны", [("специальной экономической зоны", "sez")]),
        ("СЭЗ", [("сэз", "sez")]),
        ("арнайы экономикалық аймағы", [("арнайы экономикалық аймағы", "sez")]),
        (
            "аэро-такси и аэротакси, air taxis",
            [("аэро такси", "air_taxi"), ("аэротакси", "air_taxi"), ("air taxis", "air_taxi")],
        ),
        (
            "Премьер-министр и Үкімет басшысы",
            [("премьер министр", "prime_minister"), ("үкімет басшысы", "prime_minister")],
        ),
        ("Жарлығымен бекітілді", [("жарлығымен", "decree")]),
    ],
)
def test_phrases_map_to_concepts(text: str, expected: list[tuple[str, str]], morph: Morphology) -> None:
    assert _found(text, morph) == expected


def test_the_longest_phrase_wins_and_phrases_do_not_overlap(morph: Morphology) -> None:
    # «специальная экономическая зона» is the SEZ, not «special» + a zone.
    assert [c for _, c in _found("Специальная экономическая зона", morph)] == ["sez"]
    assert [c for _, c in _found("вице-премьер и премьер-министр", morph)] == [
        "deputy_prime_minister",
        "prime_minister",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "жарлы адам",  # «poor», not «decree» (жарлық)
        "указание",  # an instruction, not a decree (указ)
        "ол қалады",  # «remains», not «city» (қала), though the Kazakh stemmer makes both қала
    ],
)
def test_look_alike_words_are_not_concepts(text: str, morph: Morphology) -> None:
    assert [c for _, c in _found(text, morph) if c in {"decree", "city"}] == []


def test_concepts_of_a_word() -> None:
    assert concepts("указ") == {"decree"}
    assert concepts("Жарлығымен") == {"decree"}
    assert concepts("генплан") == {"master_plan"}
    assert concepts("әкімдігі") == {"akimat"}  # the longest stem decides: not the akim
    assert concepts("дерево") == frozenset()


def test_variants_for_query_expansion() -> None:
    plan = variants("генплан")
    assert {"генплан", "бас жоспар", "master plan"} <= plan
    assert variants("генеральный план") == plan
    assert {"аэротакси", "аэро такси", "air taxi"} <= variants("аэро-такси")
    assert {"касым жомарт токаев", "kassym jomart tokayev", "тоқаев"} <= variants("Токаев")
    assert variants("дерево") == set()


def test_every_concept_has_a_usable_pattern() -> None:
    for concept, patterns in CONCEPTS.items():
        assert patterns, concept
        for p in patterns:
            assert p == p.strip() and "  " not in p, p
            # A stem of one or two letters would catch any word.
            assert all(len(tok.rstrip("*")) >= 2 or not tok.endswith("*") for tok in p.split()), p
        assert concept_words(concept) or any(" " in p for p in patterns), concept
