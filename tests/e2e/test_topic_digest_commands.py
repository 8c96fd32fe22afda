"""`/digest preview` and `/digest send` inside a forum topic reach that topic's subscription (issue 9,
leftover): each topic of a group has its own, and a bot's admin asks for it from inside the topic."""

from __future__ import annotations

import pytest

from bot.app.playground import LocalBot
from bot.clock import ManualClock
from tests.corpus_texts import CRYPTO, DECREE
from tests.e2e.helpers import StartBot, ingest
from tests.e2e.test_forum_topics import (
    BOT_ADMIN,
    MONDAY_8AM_ALMATY,
    digests,
    in_topic,
    subscribe_topic,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def local(start_bot: StartBot) -> LocalBot:
    return await start_bot(clock=ManualClock(MONDAY_8AM_ALMATY), admin_ids=frozenset({BOT_ADMIN}))


async def test_digest_preview_and_send_inside_a_topic_address_that_topic(local: LocalBot) -> None:
    await ingest(local, DECREE, CRYPTO)
    owner = local.emulator.create_user("Owner", id=731, language_code="en", started=True)
    admin = local.emulator.create_user("Bot admin", id=BOT_ADMIN, language_code="en", started=True)
    group = local.emulator.create_group(
        "Alatau forum", forum=True, owner=owner, members=[admin], bot_status="administrator"
    )
    news, economy, chatter = (
        group.create_topic("News"),
        group.create_topic("Economy"),
        group.create_topic("Chat"),
    )
    await subscribe_topic(local, owner, group, news)
    await subscribe_topic(local, owner, group, economy)

    # A topic without a subscription says so, in that topic.
    none = await in_topic(admin, group, chatter, "/digest preview")
    assert "this topic has no subscription" in (none.text or ""), none.text

    preview = await in_topic(admin, group, news, "/digest preview")
    assert "this topic" in (preview.text or "") and "2 stories" in (preview.text or ""), preview.text
    assert digests(group) == [], "a preview sends nothing"

    sent = await in_topic(admin, group, economy, "/digest send")
    assert "The digest for this topic is on its way" in (sent.text or ""), sent.text
    await local.digests.engine.wait_idle()
    (digest,) = digests(group)
    assert digest.message_thread_id == economy, "the digest goes into the topic it was asked in"
    economy_sub = await local.digests.subscriptions.get(group.id, economy)
    news_sub = await local.digests.subscriptions.get(group.id, news)
    assert economy_sub is not None and economy_sub.last_digest_at is not None
    assert news_sub is not None and news_sub.last_digest_at is None, "the other topic's is untouched"

    # Sent again at once: nothing new for that topic.
    again = await in_topic(admin, group, economy, "/digest send")
    assert "Nothing new for this topic since its last digest" in (again.text or ""), again.text

    # /digest alone shows the help, which names the form used inside a topic.
    help_text = await in_topic(admin, group, economy, "/digest")
    assert "inside a topic of a forum group" in (help_text.text or "")
