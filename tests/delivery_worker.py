"""The delivery engine alone, as its own process: delivers what the ledger in --db holds through the Bot API
server at --api, then exits. The crash test kills it with SIGKILL mid-broadcast and then finishes the job.

    python -m tests.delivery_worker --db ledger.db --api http://127.0.0.1:PORT --token 123:abc
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.digests.delivery import DeliveryConfig, DeliveryEngine
from bot.digests.pacing import FREE_BROADCAST_RATE
from bot.digests.telegram import TelegramSender
from storage.db import Database
from storage.deliveries import DeliveryRepository


async def deliver(db_path: Path, api: str, token: str, rate: float, in_flight: int) -> dict[str, int]:
    db = Database(db_path)
    await db.connect()
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    try:
        # As the bot configures itself for that rate (paid broadcasts above the free one).
        config = DeliveryConfig(rate=rate, paid=rate > FREE_BROADCAST_RATE, max_in_flight=in_flight)
        engine = DeliveryEngine(DeliveryRepository(db), TelegramSender(bot), config)
        stats = await engine.run_until_idle()
    finally:
        await bot.session.close()
        await db.close()
    return {"sent": stats.sent, "unknown": stats.unknown, "failed": stats.failed, "blocked": stats.blocked}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--in-flight", type=int, default=0)  # 0: as many as the rate calls for
    args = parser.parse_args()
    print(
        json.dumps(asyncio.run(deliver(args.db, args.api, args.token, args.rate, args.in_flight))), flush=True
    )


if __name__ == "__main__":
    main()
