"""`python -m bot webhook set|info|delete`: the webhook registered once, by an operator, rather than by every
web worker as it starts (several of them would keep overwriting each other, and a worker starting late
would re-register an address being retired)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.app.failures import StartupFailure
from bot.app.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot

EXIT_REFUSED = 1


def add_parser(sub: Any) -> None:
    webhook = sub.add_parser(
        "webhook",
        help="register, show or remove the bot's webhook (set uses WEBHOOK_URL, WEBHOOK_PATH, WEBHOOK_SECRET)",
        description="Register the webhook once for every web worker (BOT_ROLE=web never does it itself), "
        "show what Telegram has, or remove it (back to polling).",
    )
    webhook.add_argument("action", choices=["set", "info", "delete"])
    webhook.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="set/delete: forget the updates waiting at Telegram",
    )


async def run_webhook_command(settings: Settings, args: argparse.Namespace) -> int:
    # aiogram only now: every other command of the CLI starts without it.
    from aiogram.exceptions import AiogramError

    from bot.app.runners import _api_failure, make_bot

    if settings.bot_token is None:
        raise StartupFailure("BOT_TOKEN is not set: put it in .env (see .env.example).", exit_code=2)
    if args.action == "set":
        _check_set(settings)
    bot = make_bot(settings, settings.bot_token.get_secret_value())
    try:
        if args.action == "set":
            return await _set(bot, settings, args.drop_pending_updates)
        if args.action == "delete":
            await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
            print("webhook deleted" + (" (pending updates dropped)" if args.drop_pending_updates else ""))
            return 0
        await _info(bot)
        return 0
    except AiogramError as exc:
        raise _api_failure(exc, settings) from None
    finally:
        await bot.session.close()


def _check_set(settings: Settings) -> None:
    if not settings.webhook_url:
        raise StartupFailure("webhook set needs WEBHOOK_URL (the public https address).", exit_code=2)
    if settings.webhook_secret is None:
        # The web workers refuse every request without it: registering without one would lose every update.
        raise StartupFailure(
            "webhook set needs WEBHOOK_SECRET (the same value the web workers run with).", exit_code=2
        )


async def _set(bot: Bot, settings: Settings, drop_pending: bool) -> int:
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    url = settings.webhook_url + settings.webhook_path
    ok = await bot.set_webhook(
        url, secret_token=settings.webhook_secret.get_secret_value(), drop_pending_updates=drop_pending
    )
    if not ok:
        print(f"Telegram did not set the webhook to {url}")
        return EXIT_REFUSED
    print(f"webhook set: {url} (with the secret token)")
    return 0


async def _info(bot: Bot) -> None:
    info = await bot.get_webhook_info()
    print(f"url: {info.url or '(none: the bot may use polling)'}")
    print(f"pending updates: {info.pending_update_count}")
    if info.max_connections is not None:
        print(f"max connections: {info.max_connections}")
    if info.allowed_updates is not None:
        print(f"allowed updates: {', '.join(info.allowed_updates)}")
    if info.ip_address:
        print(f"ip address: {info.ip_address}")
    if info.last_error_date is not None:
        print(f"last error: {_when(info.last_error_date)} {info.last_error_message or ''}".rstrip())
    if info.last_synchronization_error_date is not None:
        print(f"last synchronization error: {_when(info.last_synchronization_error_date)}")


def _when(value: datetime | int) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)
