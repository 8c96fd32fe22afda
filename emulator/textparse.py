"""Telegram text formatting: the HTML, MarkdownV2 and Markdown parse modes, turned into plain text + entities.

Offsets and lengths are in UTF-16 code units, as in the Bot API.  Error texts follow the ones Telegram
puts after ``can't parse entities:`` so a bot's error handling sees familiar strings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
# Plain formatting may nest anywhere and is merged when ranges of one type touch, as Telegram does.
_FORMATTING = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_CODE = frozenset({"code", "pre"})
# What Telegram strips from both ends of a message after parsing.
_TRIM_CHARS = " \t\n\r\v\f\u200b\u200c\u200d\u2060\ufeff"


class EntityParseError(ValueError):
    """The markup could not be parsed; the message is what follows ``can't parse entities:``."""


class UnsupportedParseModeError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Entity:
    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    unix_time: int | None = None
    date_time_format: str | None = None
    user_id: int | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            data["url"] = self.url
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        if self.unix_time is not None:
            data["unix_time"] = self.unix_time
        if self.date_time_format is not None:
            data["date_time_format"] = self.date_time_format
        return data


@dataclass(frozen=True)
class FormattedText:
    text: str
    entities: tuple[Entity, ...]

    @property
    def length(self) -> int:
        """Length in UTF-16 code units, which is what Telegram's limits count."""
        return utf16_len(self.text)

    def entities_api(self) -> list[dict[str, Any]]:
        return [entity.to_api() for entity in self.entities]


def parse_text(text: str, parse_mode: str | None, *, strict_html: bool = True) -> FormattedText:
    """Parse ``text`` per ``parse_mode`` (None/"" = plain) and normalise like Telegram (trim, merge, nest)."""
    mode = (parse_mode or "").strip().lower()
    # Telegram drops carriage returns from incoming text before anything else.
    source = text.replace("\r", "")
    entities: list[Entity]
    if not mode:
        plain, entities = source, []
    elif mode == "html":
        plain, entities = _HtmlParser(source, strict=strict_html).parse()
    elif mode == "markdownv2":
        plain, entities = _MarkdownV2Parser(source).parse()
    elif mode == "markdown":
        plain, entities = _parse_legacy_markdown(source)
    else:
        raise UnsupportedParseModeError(parse_mode)
    return normalize(plain, entities)


_ANY_TAG = re.compile(r"<[^>]*>")


class FastParser:
    """For benchmarks, which measure the bot rather than this server: HTML is not validated, only stripped
    of its tags (no entities), and every parse is cached, since a benchmark sends the same texts over and
    over. A malformed text that Telegram would refuse is accepted here, so tests keep the strict parser."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._cache: dict[tuple[str, str | None], FormattedText] = {}

    def __call__(self, text: str, parse_mode: str | None) -> FormattedText:
        key = (text, parse_mode)
        found = self._cache.get(key)
        if found is None:
            if (parse_mode or "").strip().lower() == "html":
                found = normalize(html.unescape(_ANY_TAG.sub("", text.replace("\r", ""))), [])
            else:
                found = parse_text(text, parse_mode)
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[key] = found
        return found


def with_explicit_entities(text: str, raw_entities: Any) -> FormattedText:
    """Use entities given as JSON (the ``entities`` parameter) instead of a parse mode."""
    source = text.replace("\r", "")
    return normalize(source, entities_from_api(raw_entities, utf16_len(source)))


def entities_from_api(raw: Any, text_length: int) -> list[Entity]:
    if not isinstance(raw, list):
        raise EntityParseError("entities must be an Array")
    result: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("MessageEntity must be an Object")
        kind = item.get("type")
        offset = item.get("offset")
        length = item.get("length")
        if not isinstance(kind, str) or kind not in ENTITY_TYPES:
            raise EntityParseError(f'Unsupported entity type "{kind}"')
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise EntityParseError('Fields "offset" and "length" must be non-negative Integers')
        url = item.get("url")
        if kind == "text_link" and not isinstance(url, str):
            raise EntityParseError('Field "url" must be of type String')
        emoji_id = item.get("custom_emoji_id")
        if kind == "custom_emoji" and not isinstance(emoji_id, str):
            raise EntityParseError('Field "custom_emoji_id" must be of type String')
        user = item.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        if kind == "text_mention" and not isinstance(user_id, int):
            raise EntityParseError('Field "user" must be of type User')
        # Entities that run past the text are clipped rather than refused, like Telegram does.
        end = min(offset + length, text_length)
        if end <= offset:
            continue
        language = item.get("language")
        unix_time = item.get("unix_time")
        fmt = item.get("date_time_format")
        result.append(
            Entity(
                kind,
                offset,
                end - offset,
                url=url if kind == "text_link" else None,
                language=language if kind == "pre" and isinstance(language, str) else None,
                custom_emoji_id=emoji_id if kind == "custom_emoji" else None,
                unix_time=unix_time if kind == "date_time" and isinstance(unix_time, int) else None,
                date_time_format=fmt if kind == "date_time" and isinstance(fmt, str) else None,
                user_id=user_id if kind == "text_mention" else None,
            )
        )
    return result


def normalize(text: str, entities: list[Entity]) -> FormattedText:
    """Apply Telegram's entity rules: merge touching formatting, drop illegal nesting, trim the text."""
    merged = _merge_formatting([e for e in entities if e.length > 0])
    nested = _enforce_nesting(merged)
    return _trim(text, nested)


# For equal ranges the container kinds sort first, so that e.g. bold on exactly the code's range counts
# as nested inside the code (and is dropped) rather than the other way round.
_CONTAINER_RANK = MappingProxyType(
    {"blockquote": 0, "expandable_blockquote": 0, "pre": 1, "code": 2, "text_link": 3, "text_mention": 3}
)


def _sort_key(entity: Entity) -> tuple[int, int, int, str]:
    return (entity.offset, -entity.length, _CONTAINER_RANK.get(entity.type, 9), entity.type)


def _merge_formatting(entities: list[Entity]) -> list[Entity]:
    others = [e for e in entities if e.type not in _FORMATTING]
    merged: list[Entity] = []
    for kind in sorted(_FORMATTING):
        spans = sorted((e for e in entities if e.type == kind), key=_sort_key)
        current: Entity | None = None
        for span in spans:
            if current is not None and span.offset <= current.end:
                current = replace(current, length=max(current.end, span.end) - current.offset)
            else:
                if current is not None:
                    merged.append(current)
                current = span
        if current is not None:
            merged.append(current)
    return sorted(others + merged, key=_sort_key)


def _enforce_nesting(entities: list[Entity]) -> list[Entity]:
    accepted: list[Entity] = []
    for entity in sorted(entities, key=_sort_key):
        ok = True
        for outer in accepted:
            if outer.end <= entity.offset or entity.end <= outer.offset:
                continue
            contained = outer.offset <= entity.offset and entity.end <= outer.end
            if not contained:
                # Partial overlaps are only possible with hand-made entities; Telegram keeps the first.
                ok = False
            elif outer.type in _CODE or (entity.type in _QUOTES and outer.type in _QUOTES):
                ok = False
            if not ok:
                break
        if ok:
            # A <code class="language-x"> only means something inside <pre>.
            accepted.append(replace(entity, language=None) if entity.type == "code" else entity)
    return accepted


def _trim(text: str, entities: list[Entity]) -> FormattedText:
    left_chars = len(text) - len(text.lstrip(_TRIM_CHARS))
    left_units = utf16_len(text[:left_chars])
    trimmed = text.strip(_TRIM_CHARS)
    total = utf16_len(trimmed)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity.offset - left_units, 0)
        end = min(entity.end - left_units, total)
        if end > start:
            result.append(replace(entity, offset=start, length=end - start))
    return FormattedText(trimmed, tuple(sorted(result, key=_sort_key)))


_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "mailto"})


def normalize_link(href: str) -> str | None:
    """Telegram silently drops links it can't use and treats scheme-less ones as http."""
    url = href.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if _URL_SCHEME.match(url) is None:
        return "http://" + url
    scheme = url.split(":", 1)[0].lower()
    return url if scheme in _LINK_SCHEMES else None


# --------------------------------------------------------------------------------------------- HTML

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "tg-spoiler",
        "span",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)
_HTML_SIMPLE = MappingProxyType(
    {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
)
_NAMED_ENTITIES = MappingProxyType({"lt": "<", "gt": ">", "amp": "&", "quot": '"'})
_HTML_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|([a-zA-Z][a-zA-Z0-9]{0,31}));")
_SPACES = frozenset(" \t\n\v\f")


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int
    byte_offset: int
    first_entity: int


class _HtmlParser:
    def __init__(self, source: str, *, strict: bool) -> None:
        self.src = source
        self.strict = strict
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[Entity] = []

    def parse(self) -> tuple[str, list[Entity]]:
        src = self.src
        i = 0
        while i < len(src):
            ch = src[i]
            if ch == "&":
                i = self._text_ampersand(i, self._emit)
            elif ch == "<":
                i = self._end_tag(i) if src.startswith("</", i) else self._start_tag(i)
            else:
                self._emit(ch)
                i += 1
        if self.stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return "".join(self.out), self.entities

    def _emit(self, chars: str) -> None:
        self.out.append(chars)
        self.u16 += sum(_units(ch) for ch in chars)

    def _offset(self, index: int) -> int:
        return _byte_offset(self.src, index)

    def _decode_entity(self, i: int) -> tuple[str, int] | None:
        match = _HTML_ENTITY.match(self.src, i)
        if match is None:
            return None
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            char = _NAMED_ENTITIES.get(name)
            return None if char is None else (char, match.end())
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end()

    def _text_ampersand(self, i: int, sink: Callable[[str], object]) -> int:
        decoded = self._decode_entity(i)
        if decoded is not None:
            sink(decoded[0])
            return decoded[1]
        if self.strict:
            # Telegram itself lets a stray "&" through, but its docs require escaping; being strict here
            # catches bots that forget to escape user-supplied text before it breaks on a real "&lt;".
            match = re.match(r"&[a-zA-Z0-9#]*;?", self.src[i:])
            token = match.group(0) if match else "&"
            if token.endswith(";") and len(token) > 2:
                raise EntityParseError(f'Unsupported HTML entity "{token}" at byte offset {self._offset(i)}')
            raise EntityParseError(
                f'Character "&" must be escaped as "&amp;" at byte offset {self._offset(i)}'
            )
        sink("&")
        return i + 1

    def _start_tag(self, begin: int) -> int:
        src = self.src
        n = len(src)
        i = begin + 1
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {self._offset(begin)}")
        name = src[begin + 1 : i].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self._offset(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {self._offset(begin)}')
            if src[i] == ">":
                break
            attr_begin = i
            while i < n and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            attr_name = src[attr_begin:i].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {self._offset(begin)}'
                )
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n or src[i] != "=":
                attrs[attr_name] = ""
                continue
            i += 1
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {self._offset(begin)}')
            value, i = self._attribute_value(i, begin)
            attrs[attr_name] = value
        self._check_tag(name, attrs, begin)
        self.stack.append(_OpenTag(name, attrs, self.u16, self._offset(begin), len(self.entities)))
        return i + 1

    def _attribute_value(self, i: int, tag_begin: int) -> tuple[str, int]:
        src = self.src
        n = len(src)
        if src[i] in "\"'":
            quote = src[i]
            i += 1
            chars: list[str] = []
            while i < n and src[i] != quote:
                if src[i] == "&":
                    i = self._text_ampersand(i, chars.append)
                    continue
                chars.append(src[i])
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {self._offset(tag_begin)}")
            return "".join(chars), i + 1
        token_begin = i
        while i < n and src[i].isascii() and (src[i].isalnum() or src[i] in ".-"):
            i += 1
        if i >= n or (src[i] not in _SPACES and src[i] != ">"):
            raise EntityParseError(f"Unexpected end of name token at byte offset {self._offset(token_begin)}")
        return src[token_begin:i].lower(), i

    def _check_tag(self, name: str, attrs: dict[str, str], begin: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset(begin)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError("Invalid custom emoji identifier specified")
        if name == "tg-time" and not attrs.get("unix", "").lstrip("-").isdigit():
            raise EntityParseError("Invalid Unix time specified")

    def _end_tag(self, begin: int) -> int:
        src = self.src
        n = len(src)
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._offset(begin)}")
        i = begin + 2
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        end_name = src[begin + 2 : i].lower()
        while i < n and src[i] in _SPACES:
            i += 1
        if i >= n or src[i] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self._offset(begin)}")
        top = self.stack[-1]
        if end_name and end_name != top.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self._offset(begin)}, expected "</{top.name}>", '
                f'found "</{end_name}>"'
            )
        self.stack.pop()
        self._close(top)
        return i + 1

    def _close(self, tag: _OpenTag) -> None:
        length = self.u16 - tag.start
        if length <= 0:
            return
        name = tag.name
        entity: Entity | None
        if name in _HTML_SIMPLE:
            entity = Entity(_HTML_SIMPLE[name], tag.start, length)
        elif name == "a":
            url = normalize_link(tag.attrs.get("href", ""))
            entity = None if url is None else Entity("text_link", tag.start, length, url=url)
        elif name == "code":
            css = tag.attrs.get("class", "")
            language = css.removeprefix("language-") if css.startswith("language-") else None
            entity = Entity("code", tag.start, length, language=language or None)
        elif name == "pre":
            entity = Entity("pre", tag.start, length, language=self._absorb_code_language(tag, length))
        elif name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
            entity = Entity(kind, tag.start, length)
        elif name == "tg-emoji":
            entity = Entity("custom_emoji", tag.start, length, custom_emoji_id=tag.attrs["emoji-id"])
        else:  # tg-time
            entity = Entity(
                "date_time",
                tag.start,
                length,
                unix_time=int(tag.attrs["unix"]),
                date_time_format=tag.attrs.get("format") or None,
            )
        if entity is not None:
            self.entities.append(entity)

    def _absorb_code_language(self, tag: _OpenTag, length: int) -> str | None:
        # <pre><code class="language-x">…</code></pre> is one pre entity carrying the language.
        for index in range(len(self.entities) - 1, tag.first_entity - 1, -1):
            inner = self.entities[index]
            if inner.type == "code" and inner.offset == tag.start and inner.length == length:
                del self.entities[index]
                return inner.language
        return None


# --------------------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_NAMES = MappingProxyType(
    {
        "bold": "Bold",
        "italic": "Italic",
        "underline": "Underline",
        "strikethrough": "Strikethrough",
        "spoiler": "Spoiler",
        "code": "Code",
        "pre": "Pre",
        "text_link": "TextUrl",
        "custom_emoji": "CustomEmoji",
    }
)
_EMOJI_URL = re.compile(r"^tg://emoji\?id=(\d+)$")


@dataclass
class _MdOpen:
    kind: str
    marker: str
    start: int
    byte_offset: int
    language: str | None = None


class _MarkdownV2Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_MdOpen] = []
        self.entities: list[Entity] = []
        self.quote: _MdOpen | None = None

    def _emit(self, chars: str) -> None:
        self.out.append(chars)
        self.u16 += sum(_units(ch) for ch in chars)

    def _offset(self, index: int) -> int:
        return _byte_offset(self.src, index)

    def _reserved(self, ch: str) -> EntityParseError:
        return EntityParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")

    def parse(self) -> tuple[str, list[Entity]]:
        src = self.src
        i = 0
        while i < len(src):
            i = self._step(i)
        if self.stack:
            top = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MD_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
            )
        self._close_quote()
        return "".join(self.out), self.entities

    def _step(self, i: int) -> int:
        src = self.src
        ch = src[i]
        nxt = src[i + 1] if i + 1 < len(src) else ""
        if ch == "\\" and nxt and 0 < ord(nxt) <= 126:
            self._emit(nxt)
            return i + 2
        top = self.stack[-1] if self.stack else None
        if top is not None and top.kind in _CODE:
            return self._inside_code(i, top)
        if i == 0 or src[i - 1] == "\n":
            handled = self._line_start(i)
            if handled is not None:
                return handled
        if ch == "\n" and self.quote is not None and not src.startswith(">", i + 1):
            self._close_quote()
        if (
            ch == "|"
            and src.startswith("||", i)
            and self.quote is not None
            and self.quote.kind == "expandable_blockquote"
            and src[i + 2 : i + 3] in ("", "\n")
        ):
            self._close_quote()
            return i + 2
        if ch not in _MDV2_RESERVED:
            self._emit(ch)
            return i + 1
        return self._markup(i, ch, nxt)

    def _inside_code(self, i: int, top: _MdOpen) -> int:
        src = self.src
        if src[i] != "`":
            self._emit(src[i])
            return i + 1
        if top.kind == "code":
            self._close(top)
            return i + 1
        if src.startswith("```", i):
            self._close(top)
            return i + 3
        raise self._reserved("`")

    def _line_start(self, i: int) -> int | None:
        src = self.src
        if src.startswith("**>", i) and self.quote is None:
            self.quote = _MdOpen("expandable_blockquote", "**>", self.u16, self._offset(i))
            return i + 3
        if src[i] == ">":
            if self.quote is None:
                self.quote = _MdOpen("blockquote", ">", self.u16, self._offset(i))
            return i + 1
        return None

    def _close_quote(self) -> None:
        if self.quote is not None and self.u16 > self.quote.start:
            self.entities.append(Entity(self.quote.kind, self.quote.start, self.u16 - self.quote.start))
        self.quote = None

    def _markup(self, i: int, ch: str, nxt: str) -> int:
        src = self.src
        if ch == "`":
            if src.startswith("```", i):
                return self._open_pre(i)
            self.stack.append(_MdOpen("code", "`", self.u16, self._offset(i)))
            return i + 1
        if ch == "*":
            return self._toggle(i, "bold", "*")
        if ch == "_":
            if nxt == "_":
                return self._toggle(i, "underline", "__")
            return self._toggle(i, "italic", "_")
        if ch == "~":
            return self._toggle(i, "strikethrough", "~")
        if ch == "|" and nxt == "|":
            return self._toggle(i, "spoiler", "||")
        if ch == "[":
            self.stack.append(_MdOpen("text_link", "]", self.u16, self._offset(i)))
            return i + 1
        if ch == "!" and nxt == "[":
            self.stack.append(_MdOpen("custom_emoji", "]", self.u16, self._offset(i)))
            return i + 2
        if ch == "]" and self.stack and self.stack[-1].marker == "]":
            return self._close_link(i, self.stack[-1])
        raise self._reserved(ch)

    def _open_pre(self, i: int) -> int:
        src = self.src
        j = i + 3
        newline = src.find("\n", j)
        language: str | None = None
        if newline != -1:
            head = src[j:newline]
            if "`" not in head and not any(c.isspace() for c in head):
                language = head or None
                j = newline + 1
        self.stack.append(_MdOpen("pre", "```", self.u16, self._offset(i), language=language))
        return j

    def _toggle(self, i: int, kind: str, marker: str) -> int:
        top = self.stack[-1] if self.stack else None
        if top is not None and top.marker == marker:
            self._close(top)
            return i + len(marker)
        if any(open_.marker == marker for open_ in self.stack) and top is not None:
            raise EntityParseError(
                f"Can't find end of {_MD_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
            )
        self.stack.append(_MdOpen(kind, marker, self.u16, self._offset(i)))
        return i + len(marker)

    def _close(self, top: _MdOpen, *, url: str | None = None) -> None:
        self.stack.pop()
        length = self.u16 - top.start
        if length <= 0:
            return
        if top.kind == "text_link":
            if url is not None:
                self.entities.append(Entity("text_link", top.start, length, url=url))
        elif top.kind == "custom_emoji":
            match = _EMOJI_URL.match(url or "")
            if match is None:
                raise EntityParseError("Invalid custom emoji URL specified")
            self.entities.append(Entity("custom_emoji", top.start, length, custom_emoji_id=match.group(1)))
        else:
            self.entities.append(Entity(top.kind, top.start, length, language=top.language))

    def _close_link(self, i: int, top: _MdOpen) -> int:
        src = self.src
        if not src.startswith("(", i + 1):
            # "[text]" without a URL leaves the text as it is.
            self._close(top)
            return i + 1
        j = i + 2
        chars: list[str] = []
        while j < len(src) and src[j] != ")":
            if src[j] == "\\" and j + 1 < len(src):
                chars.append(src[j + 1])
                j += 2
                continue
            chars.append(src[j])
            j += 1
        if j >= len(src):
            raise EntityParseError(f"Can't find end of a URL at byte offset {self._offset(i + 1)}")
        raw_url = "".join(chars)
        url = raw_url if top.kind == "custom_emoji" else normalize_link(raw_url)
        self._close(top, url=url)
        return j + 1


# ---------------------------------------------------------------------------------- legacy Markdown

_LEGACY_KINDS = MappingProxyType({"*": "bold", "_": "italic", "`": "code"})


def _parse_legacy_markdown(src: str) -> tuple[str, list[Entity]]:
    out: list[str] = []
    entities: list[Entity] = []
    u16 = 0

    def emit(chars: str) -> None:
        nonlocal u16
        out.append(chars)
        u16 += utf16_len(chars)

    def unclosed(index: int) -> EntityParseError:
        return EntityParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(src, index)}"
        )

    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "\\" and src[i + 1 : i + 2] in ("_", "*", "`", "["):
            emit(src[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            emit(ch)
            i += 1
            continue
        start = u16
        if ch == "[":
            close = src.find("]", i + 1)
            if close == -1:
                raise unclosed(i)
            label = src[i + 1 : close]
            emit(label)
            if src.startswith("(", close + 1):
                url_end = src.find(")", close + 2)
                if url_end == -1:
                    raise unclosed(i)
                url = normalize_link(src[close + 2 : url_end])
                if url is not None and u16 > start:
                    entities.append(Entity("text_link", start, u16 - start, url=url))
                i = url_end + 1
            else:
                i = close + 1
            continue
        if src.startswith("```", i):
            close = src.find("```", i + 3)
            if close == -1:
                raise unclosed(i)
            body = src[i + 3 : close]
            language: str | None = None
            head, sep, rest = body.partition("\n")
            if sep and head and not any(c.isspace() for c in head):
                language, body = head, rest
            emit(body)
            if u16 > start:
                entities.append(Entity("pre", start, u16 - start, language=language))
            i = close + 3
            continue
        close = src.find(ch, i + 1)
        if close == -1:
            raise unclosed(i)
        emit(src[i + 1 : close])
        if u16 > start:
            entities.append(Entity(_LEGACY_KINDS[ch], start, u16 - start))
        i = close + 1
    return "".join(out), entities


# ------------------------------------------------------------------- entities Telegram adds by itself

_AUTO_ENTITY_PATTERNS = (
    ("bot_command", re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/@])")),
    ("url", re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")),
    ("email", re.compile(r"(?<![\w.@])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)


def detect_entities(text: str) -> list[Entity]:
    """Entities Telegram adds to messages users type: commands, links, e-mails, mentions, hashtags."""
    found: list[Entity] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            offset = utf16_len(text[: match.start()])
            found.append(Entity(kind, offset, utf16_len(match.group(0))))
    found.sort(key=_sort_key)
    result: list[Entity] = []
    for entity in found:
        if all(entity.offset >= kept.end or entity.end <= kept.offset for kept in result):
            result.append(entity)
    return result
