"""Interface languages: gettext catalogs (ru, kk, en) compiled on start, and how a user's locale is chosen."""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}


def N_(message: str) -> str:
    """Marks a string for extraction where it is translated later (e.g. per language at start-up)."""
    return message


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> None:
    """Build .mo files from the .po sources when missing or stale (the .po files are what we keep in git)."""
    for po in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parent.parent.name)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as dst:
            write_mo(dst, catalog)
        tmp.replace(mo)


def make_i18n(default: str = DEFAULT_LANGUAGE) -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default, domain=DOMAIN)


def pick_language(stored: str | None, telegram_code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The stored choice, else the user's Telegram language if we speak it, else the default."""
    if stored in LANGUAGES:
        return stored
    code = (telegram_code or "").lower().split("-")[0]
    if code == "kz":
        code = "kk"
    return code if code in LANGUAGES else default
