"""The delivery engine as its own process, for the broadcast benchmark: delivers what the ledger holds, then
prints its figures (JSON) — including its own peak memory, which is what a bot process would add."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from bot.app.session import RedactingSession
from bot.digests.delivery import DeliveryConfig, DeliveryEngine
from bot.digests.telegram import TelegramSender
from storage.db import Database
from storage.deliveries import DeliveryRepository


async def deliver(db_path: Path, api: str, token: str, rate: float, paid: bool) -> dict[str, float]:
    db = Database(db_path)
    await db.connect()
    # The bot's own session, as `python -m bot` makes it (JSON bodies, token redaction, 429 retries).
    bot = Bot(token, session=RedactingSession(api=TelegramAPIServer.from_base(api)))
    try:
        engine = DeliveryEngine(
            DeliveryRepository(db), TelegramSender(bot), DeliveryConfig(rate=rate, paid=paid)
        )
        started, cpu = time.monotonic(), time.process_time()
        stats = await engine.run_until_idle()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    finally:
        await bot.session.close()
        await db.close()
    first, last = stats.first_send or 0.0, stats.last_send or 0.0
    return {
        "sent": stats.sent,
        "blocked": stats.blocked,
        "failed": stats.failed,
        "retries": stats.retries,
        "flood_waits": stats.flood_waits,
        "flood_wait_seconds": stats.flood_wait_seconds,
        "sending_seconds": last - first,
        "widest_margin": stats.widest_margin,
        "elapsed_seconds": elapsed,
        "sending_cpu_seconds": cpu,  # start-up (imports, connecting) left out
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--paid", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(deliver(args.db, args.api, args.token, args.rate, args.paid))
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
