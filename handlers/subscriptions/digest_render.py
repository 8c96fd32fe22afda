"""Digests as Telegram HTML: a story per block, every source a link, at most 4096 characters a message.

A message is filled with whole story blocks (a tag or a word is never cut: blocks are never cut at all);
what does not fit waits behind a "show the rest" button. Every piece of corpus text is escaped here.
"""

from __future__ import annotations

import html as std_html
from collections.abc import Sequence

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.digests.builder import DigestContent, DigestSource, DigestStory
from bot.digests.schedule import Rendered
from handlers.subscriptions.keyboards import rest_keyboard
from handlers.ui.render import MESSAGE_LIMIT, short

TITLE_CHARS = 150
LINE_CHARS = 300
MAX_LINKS = 8
MAX_URL_CHARS = 500
# A story block stays well under a message, so that every message holds at least one with its header.
MAX_BLOCK = 3000


def tg_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); over the HTML source, which is never shorter than
    the text the reader sees, so a message that fits by this measure fits."""
    return len(text.encode("utf-16-le")) // 2


def _href(source: DigestSource, bot_username: str) -> str:
    url = source.url or ""
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL_CHARS:
        # No address of its own (or an unusable one): the document's card in the bot.
        url = f"https://t.me/{bot_username}?start=doc_{source.doc_id}"
    return std_html.escape(url, quote=True)


def _links(sources: Sequence[DigestSource], bot_username: str, shown: int) -> str:
    parts = []
    unnamed = sum(1 for s in sources[:shown] if not s.name)
    for n, source in enumerate(sources[:shown], start=1):
        # A source without an outlet has no address either: the link opens its card in the bot.
        name = source.name or (_("text {n}").format(n=n) if unnamed > 1 else _("open in the bot"))
        parts.append(f'<a href="{_href(source, bot_username)}">{html.quote(short(name, 60))}</a>')
    rest = len(sources) - shown
    if rest > 0:
        parts.append(ngettext("and {n} more", "and {n} more", rest).format(n=rest))
    return " · ".join(parts)


def story_block(number: int, story: DigestStory, bot_username: str, headlines_only: bool = False) -> str:
    title = html.bold(html.quote(f"{number}. {short(story.title, TITLE_CHARS)}"))
    lines = [title]
    if not headlines_only and story.line and story.line.strip() != story.title.strip():
        lines.append(html.quote(short(story.line, LINE_CHARS)))
    count = len(story.sources)
    label = ngettext("📚 {n} source", "📚 {n} sources", count).format(n=count)
    shown = min(count, MAX_LINKS)
    while True:
        block = "\n".join([*lines, f"{label}: {_links(story.sources, bot_username, shown)}"])
        if tg_length(block) <= MAX_BLOCK or shown <= 1:
            return block
        shown -= 1


def _header(total: int, start: int, end: int, topic: str) -> str:
    if start == 0:
        head = html.bold(ngettext("📰 Digest: {n} story", "📰 Digest: {n} stories", total).format(n=total))
    else:
        head = html.bold(
            _("📰 Digest, continued: {first}–{last} of {total}").format(
                first=start + 1, last=end, total=total
            )
        )
    if topic:
        head += "\n" + _("Topic: «{topic}»").format(topic=html.quote(short(topic, 100)))
    return head


def deep_link(bot_username: str, payload: str) -> str:
    return std_html.escape(f"https://t.me/{bot_username}?start={payload}", quote=True)


# Deep-link payloads of the digest footer (handled by handlers/subscriptions/links.py): a person's digest
# links to the reader's own subscription; a channel's or a group topic's to that subscription,
# "sub_settings_<id>" (who may change it is checked when the link is opened).
SETTINGS_LINK = "sub_settings"
UNSUBSCRIBE_LINK = "sub_stop"


def footer(bot_username: str, subscription_id: int | None = None) -> str:
    """Under every digest: where to change it and how to stop it (links that open the bot)."""
    settings_label, stop_label = html.quote(_("⚙ Digest settings")), html.quote(_("🚫 Unsubscribe"))
    suffix = f"_{subscription_id}" if subscription_id is not None else ""
    settings = f'<a href="{deep_link(bot_username, SETTINGS_LINK + suffix)}">{settings_label}</a>'
    stop = f'<a href="{deep_link(bot_username, UNSUBSCRIBE_LINK + suffix)}">{stop_label}</a>'
    return f"{settings} · {stop}"


def render_page(
    stories: Sequence[DigestStory],
    start: int,
    topic: str,
    bot_username: str,
    limit: int = MESSAGE_LIMIT,
    *,
    headlines_only: bool = False,
    with_footer: bool = False,
    subscription_id: int | None = None,
) -> tuple[str, int]:
    """The message with the stories from `start` on that fit; and where the next message would start."""
    blocks: list[str] = []
    tail = footer(bot_username, subscription_id) if with_footer else ""
    # The header names the last story shown, which is known only at the end: leave room for its longest form.
    reserve = (
        tg_length(_header(len(stories), start, len(stories), topic))
        + 2
        + (tg_length(tail) + 2 if tail else 0)
    )
    size = reserve
    end = start
    for number, story in enumerate(stories[start:], start=start + 1):
        block = story_block(number, story, bot_username, headlines_only)
        cost = tg_length(block) + 2
        if blocks and size + cost > limit:
            break
        blocks.append(block)
        size += cost
        end = number
    text = "\n\n".join([_header(len(stories), start, end, topic), *blocks, *([tail] if tail else [])])
    return text, end


class DigestRenderer:
    """What the scheduler stores and the engine sends: the first page, and the button to the rest."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    def __call__(self, digest_id: int, content: DigestContent, language: str, bot_username: str) -> Rendered:
        with self.i18n.context(), self.i18n.use_locale(language):
            text, end = render_page(
                content.stories,
                0,
                content.filter_query,
                bot_username,
                headlines_only=content.headlines_only,
                with_footer=True,
                subscription_id=content.subscription_id,
            )
            markup = rest_keyboard(digest_id, end, len(content.stories))
        return Rendered(text, _markup_json(markup))


def _markup_json(markup: InlineKeyboardMarkup | None) -> str | None:
    return markup.model_dump_json(exclude_none=True) if markup is not None else None


def preview_text(content: DigestContent, who: str, bot_username: str) -> str:
    """An admin's look at what a chat would get now (nothing is stored, so no button: a count instead)."""
    intro = html.italic(_("Preview for {who}:").format(who=html.quote(who)))
    limit = MESSAGE_LIMIT - tg_length(intro) - 120
    text, end = render_page(
        content.stories,
        0,
        content.filter_query,
        bot_username,
        limit=limit,
        headlines_only=content.headlines_only,
    )
    rest = len(content.stories) - end
    parts = [intro, text]
    if rest:
        parts.append(
            html.italic(ngettext("…and {n} more story", "…and {n} more stories", rest).format(n=rest))
        )
    return "\n\n".join(parts)
