from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))
    assert keys == {name.upper() for name in Settings.model_fields}
    # Each key has a comment line above it (or belongs to a commented group).
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            above = [ln for ln in lines[:i] if ln.strip()]
            assert above[-1].startswith("#") or re.match(r"^[A-Z_]+=", above[-1]), line


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n.upper() for n in Settings.model_fields if f"`{n.upper()}`" not in readme]
    assert not missing


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE"),
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("WEBHOOK_PORT", "99999", "WEBHOOK_PORT"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL"),
        ("BOT_MODE", "carrier-pigeon", "BOT_MODE"),
    ],
)
def test_a_wrong_value_names_the_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_admin_ids_accept_commas_and_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2;3")
    assert load_settings().admin_ids == frozenset({1, 2, 3})
