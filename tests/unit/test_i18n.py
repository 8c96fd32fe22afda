"""Every user-facing string is in every catalog, translated, with the same placeholders."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR, compile_catalogs, make_i18n, pick_language
from bot.i18n.tools import extract

_PLACEHOLDER = re.compile(r"\{(\w*)\}")


@pytest.fixture(scope="module")
def used() -> dict[object, object]:
    return {m.id: m for m in extract() if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_every_string_translated(lang: str, used: dict[object, object]) -> None:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    missing = []
    for msgid in used:
        message = catalog.get(msgid)  # type: ignore[arg-type]
        strings = message.string if message is not None else None
        ok = all(strings) if isinstance(strings, tuple) else bool(strings)
        if not ok:
            missing.append(msgid)
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:3]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_placeholders(lang: str) -> None:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        want = set(_PLACEHOLDER.findall(ids[0]))
        for s in strings:
            assert set(_PLACEHOLDER.findall(s)) <= want | {"n"}, (lang, message.id, s)
            assert want - {"n"} <= set(_PLACEHOLDER.findall(s)), (lang, message.id, s)
            # HTML in a translation must be as balanced as in the original.
            assert s.count("<") == s.count(">"), (lang, s)


def test_catalogs_compile_and_translate() -> None:
    compile_catalogs()
    i18n = make_i18n()
    assert set(i18n.available_locales) >= set(LANGUAGES)
    assert i18n.gettext("Search the texts", locale="ru") != "Search the texts"
    assert i18n.gettext("Search the texts", locale="kk") not in (
        "Search the texts",
        i18n.gettext("Search the texts", locale="ru"),
    )


def test_language_choice() -> None:
    assert pick_language("kk", "en") == "kk"
    assert pick_language(None, "en-US") == "en"
    assert pick_language(None, "kz") == "kk"
    assert pick_language(None, "de") == "ru"
    assert pick_language(None, None) == "ru"
