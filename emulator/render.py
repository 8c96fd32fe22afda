"""Turn stored messages into terminal text: ANSI styling (or **markers**), links as ``text (url)`` and
inline buttons numbered ``[1] Latest  [2] Search`` so a playground can let the user pick one by number."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .markup import iter_inline_buttons

if TYPE_CHECKING:
    from .models import StoredMessage

# (opener, closer) per entity type; closers switch off only their own attribute so nesting survives.
_ANSI: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "bold": ("\x1b[1m", "\x1b[22m"),
        "italic": ("\x1b[3m", "\x1b[23m"),
        "underline": ("\x1b[4m", "\x1b[24m"),
        "strikethrough": ("\x1b[9m", "\x1b[29m"),
        "spoiler": ("\x1b[7m", "\x1b[27m"),
        "code": ("\x1b[36m", "\x1b[39m"),
        "pre": ("\x1b[36m", "\x1b[39m"),
        "text_link": ("\x1b[4;34m", "\x1b[24;39m"),
        "text_mention": ("\x1b[4;34m", "\x1b[24;39m"),
        "url": ("\x1b[34m", "\x1b[39m"),
        "mention": ("\x1b[34m", "\x1b[39m"),
        "hashtag": ("\x1b[34m", "\x1b[39m"),
        "bot_command": ("\x1b[34m", "\x1b[39m"),
    }
)
_MARKERS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "bold": ("**", "**"),
        "italic": ("_", "_"),
        "underline": ("__", "__"),
        "strikethrough": ("~", "~"),
        "spoiler": ("||", "||"),
        "code": ("`", "`"),
    }
)
_DIM = ("\x1b[2m", "\x1b[22m")


def render_text(text: str, entities: list[dict[str, Any]], *, ansi: bool = True) -> str:
    """Apply entities (UTF-16 offsets) to ``text`` for a terminal."""
    opens: dict[int, list[dict[str, Any]]] = {}
    closes: dict[int, list[dict[str, Any]]] = {}
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        opens.setdefault(entity["offset"], []).append(entity)
        closes.setdefault(entity["offset"] + entity["length"], []).insert(0, entity)
    quote_prefix = "│ " if ansi else "> "
    out: list[str] = []
    quote_depth = 0
    position = 0

    def boundary(at: int) -> None:
        nonlocal quote_depth
        for entity in closes.get(at, []):
            if entity["type"] in ("blockquote", "expandable_blockquote"):
                quote_depth -= 1
            out.append(_closer(entity, ansi))
        for entity in opens.get(at, []):
            if entity["type"] in ("blockquote", "expandable_blockquote"):
                quote_depth += 1
            out.append(_opener(entity, ansi, quote_prefix))

    for char in text:
        boundary(position)
        out.append(char + quote_prefix if char == "\n" and quote_depth > 0 else char)
        position += 2 if ord(char) > 0xFFFF else 1
    boundary(position)
    return "".join(out)


def _opener(entity: dict[str, Any], ansi: bool, quote_prefix: str) -> str:
    kind = entity["type"]
    if kind in ("blockquote", "expandable_blockquote"):
        return quote_prefix
    if kind == "pre" and not ansi:
        return f"```{entity.get('language') or ''}\n"
    table = _ANSI if ansi else _MARKERS
    return table.get(kind, ("", ""))[0]


def _closer(entity: dict[str, Any], ansi: bool) -> str:
    kind = entity["type"]
    if kind == "pre" and not ansi:
        return "\n```"
    table = _ANSI if ansi else _MARKERS
    closer = table.get(kind, ("", ""))[1]
    if kind == "text_link":
        closer += f" ({entity.get('url', '')})"
    elif kind == "text_mention" and isinstance(entity.get("user"), dict):
        closer += f" (tg://user?id={entity['user'].get('id')})"
    return closer


def numbered_buttons(message: StoredMessage) -> list[dict[str, Any]]:
    """Inline buttons in the order render_message numbers them (number = index + 1)."""
    return iter_inline_buttons(message.reply_markup)


def render_inline_keyboard(markup: dict[str, Any] | None, *, ansi: bool = True) -> str:
    lines: list[str] = []
    number = 1
    for row in (markup or {}).get("inline_keyboard", []):
        cells: list[str] = []
        for button in row:
            label = f"[{number}] {button.get('text', '')}"
            if "url" in button:
                label += f" ({button['url']})"
            elif "switch_inline_query" in button or "switch_inline_query_current_chat" in button:
                query = button.get("switch_inline_query", button.get("switch_inline_query_current_chat"))
                label += f" (inline: {query})"
            elif "web_app" in button:
                label += " (web app)"
            cells.append(label)
            number += 1
        lines.append("  ".join(cells))
    return "\n".join(lines)


def render_reply_keyboard(markup: dict[str, Any] | None) -> str:
    """A reply keyboard (the buttons under the input field) as one line per row."""
    if not markup:
        return ""
    if "keyboard" not in markup:
        return "(keyboard removed)" if markup.get("remove_keyboard") else "(reply requested)"
    rows = ["  ".join(f"[{b.get('text', '')}]" for b in row) for row in markup["keyboard"]]
    return "Keyboard: " + "\n          ".join(rows)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def render_message(message: StoredMessage, *, ansi: bool = True) -> str:
    """A message as terminal text: header notes, media lines, formatted body, numbered buttons."""
    dim_on, dim_off = _DIM if ansi else ("", "")
    lines: list[str] = []
    origin = message.forward_origin
    if origin is not None:
        source = origin.get("chat", {}).get("title") or origin.get("sender_user", {}).get("first_name") or "?"
        lines.append(f"{dim_on}↪ forwarded from {source}{dim_off}")
    if message.reply_to is not None:
        quoted = message.reply_to.content.replace("\n", " ")
        lines.append(f"{dim_on}↩ reply to: {quoted[:60]}{dim_off}")
    if message.document is not None:
        document = message.document
        lines.append(f"📎 {document.file_name or 'file'} ({_size(document.size)}, {document.mime_type})")
    if message.photo is not None:
        lines.append(f"🖼 photo {message.photo.width}×{message.photo.height} ({_size(message.photo.size)})")
    if message.text is not None:
        lines.append(render_text(message.text, message.entities, ansi=ansi))
    elif message.caption:
        lines.append(render_text(message.caption, message.caption_entities, ansi=ansi))
    if message.edit_date is not None:
        lines.append(f"{dim_on}(edited){dim_off}")
    if message.reply_markup:
        lines.append(render_inline_keyboard(message.reply_markup, ansi=ansi))
    if message.keyboard:
        lines.append(render_reply_keyboard(message.keyboard))
    return "\n".join(lines)
