"""Russian morphology of the index: forms that must meet, and words that must stay apart."""

from __future__ import annotations

import pytest

from bot.text.morph import Morphology, iter_tokens, kazakh_stem

SAME = [
    ("город", "города", "городу", "городом", "городе", "городами"),
    ("криптовалюта", "криптовалютой", "криптовалюту", "криптовалюты", "криптовалютами"),
    ("указ", "указом", "указа", "указе"),
    ("президент", "президента", "президентом"),
    ("конституционный", "конституционным", "конституционного", "конституционная"),
    ("статус", "статуса", "статусом"),
    ("режим", "режимы", "режимов", "режимами"),
    ("человек", "люди", "людей"),
    ("ещё", "еще", "ЕЩЁ"),
    ("инвестиция", "инвестиций", "инвестициями"),
]

DIFFERENT = [
    ("город", "горе"),
    ("указ", "указатель"),
    ("закон", "законность"),
    ("режим", "режиссер"),
    ("статус", "статуя"),
    ("совет", "советник"),
]

NAMES = [
    ("Токаев", "Токаева", "Токаеву", "Токаевым"),
    ("Сарсембаев", "Сарсембаева", "Сарсембаевым"),
    ("Путин", "Путина", "Путиным"),
]


@pytest.mark.parametrize("forms", SAME)
def test_forms_share_a_term(morph: Morphology, forms: tuple[str, ...]) -> None:
    terms = {morph.terms_of(f)[0] for f in forms}
    assert len(terms) == 1, terms


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_unrelated_words_stay_apart(morph: Morphology, a: str, b: str) -> None:
    assert morph.terms_of(a) != morph.terms_of(b)


@pytest.mark.parametrize("forms", NAMES)
def test_surnames_in_text_share_a_term(morph: Morphology, forms: tuple[str, ...]) -> None:
    assert len({morph.terms_of(f"Сказал {f}")[1] for f in forms}) == 1


@pytest.mark.parametrize("forms", NAMES)
def test_lowercase_query_reaches_capitalized_name(morph: Morphology, forms: tuple[str, ...]) -> None:
    indexed = morph.terms_of(f"Сказал {forms[1]}")[1]
    for f in forms:
        assert indexed in morph.query_terms(f.lower())


def test_query_expands_ambiguous_readings(morph: Morphology) -> None:
    # "стали" is both the verb стать and the noun сталь: a query must be able to reach either.
    assert "стать" in morph.query_terms("стали")
    assert morph.query_terms("сталь") == {"сталь"}


def test_kazakh_suffixes() -> None:
    assert kazakh_stem("қаласы") == kazakh_stem("қалада") == kazakh_stem("қаланың") == "қала"
    assert kazakh_stem("заңы") == "заң"


def test_latin_words_are_stemmed(morph: Morphology) -> None:
    assert morph.terms_of("cities")[0] == morph.terms_of("city")[0]
    assert morph.terms_of("Decree decrees")[0] == morph.terms_of("Decree decrees")[1]


def test_tokens_keep_offsets_and_fold() -> None:
    text = "Ёлка, «Alatau City» — 2025!"
    toks = list(iter_tokens(text))
    assert [t[2] for t in toks] == ["елка", "alatau", "city", "2025"]
    assert all(text[s:e].lower().replace("ё", "е") == w for s, e, w, _ in toks)
    assert [t[3] for t in toks] == [True, True, True, False]
