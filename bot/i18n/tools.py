"""Catalog maintenance: `python -m bot.i18n.tools` extracts every translatable string into the .po files.

New strings are added with an empty translation (a test then fails until they are translated); strings no
longer used are dropped.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "__": None, "lazy_gettext": None, "N_": None}
SOURCES = ("bot", "handlers")


def extract() -> Catalog:
    catalog = Catalog(domain=DOMAIN)
    for folder in SOURCES:
        method_map = [("**.py", "python")]
        for filename, lineno, message, comments, _context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            catalog.add(message, locations=[(f"{folder}/{filename}", lineno)], auto_comments=comments)
    return catalog


def update() -> None:
    template = extract()
    for lang in LANGUAGES:
        po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as f:
                catalog = read_po(f, locale=lang)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with po_path.open("wb") as f:
            write_po(f, catalog, width=110, omit_header=False, sort_output=False)
        missing = sum(
            1 for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
        )
        print(f"{po_path.relative_to(ROOT)}: {len(catalog)} messages, {missing} untranslated")


if __name__ == "__main__":
    import argparse

    # Only so that `--help` explains instead of rewriting the catalogs: the tool takes no options.
    argparse.ArgumentParser(
        prog="python -m bot.i18n.tools",
        description="Extract every translatable string of bot/ and handlers/ into the ru/kk/en .po files "
        "(new strings untranslated, unused ones dropped); then fill the msgstr entries.",
    ).parse_args()
    update()
