"""`python -m bot.app.healthcheck`: the container's HEALTHCHECK. Asks this process's own /healthz (on the
webhook's port in webhook mode, else on HEALTH_PORT) and exits 0 when it answers 200, 1 otherwise.

The image has no curl; the standard library is enough, and only the settings are imported (no aiogram, no
database), so a probe every 30 s costs little.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from bot.app.settings import BotMode, BotRole, Settings, SettingsError, load_settings

TIMEOUT = 4.0


def health_url(settings: Settings) -> str | None:
    """Where this process serves /healthz; None when it serves none (HEALTH_PORT=0 outside webhook mode)."""
    webhook = settings.bot_role is BotRole.WEB or (
        settings.bot_role is BotRole.ALL and settings.bot_mode is BotMode.WEBHOOK
    )
    host, port = (
        (settings.webhook_host, settings.webhook_port)
        if webhook
        else (settings.health_host, settings.health_port)
    )
    if port == 0:
        return None
    # A server listening on every address is reached on loopback.
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{host}:{port}/healthz"


def probe(url: str) -> str | None:
    """None when `url` answers 200; else why not."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return str(getattr(exc, "reason", exc))


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    url = health_url(settings)
    if url is None:
        print("HEALTH_PORT=0: this process serves no /healthz to probe", file=sys.stderr)
        return 1
    problem = probe(url)
    if problem:
        print(f"{url}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
