"""Latin ↔ Cyrillic spellings of names (Tokayev ↔ Токаев, Alatau ↔ Алатау).

Transliteration of names is not one-to-one (Tokayev/Tokaev, Kassym/Kasym), so these functions give one
plausible spelling; callers compare it with real words of the corpus by edit distance.
"""

from __future__ import annotations

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Kazakh letters, as in the official 2021 Latin alphabet but without diacritics, as news spell them.
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip

_LAT_TO_CYR = [
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("ye", "е"), ("ay", "ай"), ("ey", "ей"), ("oy", "ой"),
    ("iy", "ий"), ("uy", "уй"), ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"),
    ("g", "г"), ("h", "х"), ("i", "и"), ("j", "дж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"),
    ("w", "в"), ("x", "кс"), ("y", "ы"), ("z", "з"),
]  # fmt: skip


def to_latin(word: str) -> str:
    return "".join(_CYR_TO_LAT.get(ch, ch) for ch in word.lower())


def to_cyrillic(word: str) -> str:
    word = word.lower()
    out: list[str] = []
    i = 0
    while i < len(word):
        for lat, cyr in _LAT_TO_CYR:
            if word.startswith(lat, i):
                # "ay" before a vowel is а+я-like, not а+й: Kayrat → Кайрат but Mayak → Маяк.
                if lat in {"ay", "ey", "oy", "iy", "uy"} and i + 2 < len(word) and word[i + 2] in "aeiouy":
                    continue
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def is_latin(word: str) -> bool:
    return any("a" <= ch <= "z" for ch in word.lower()) and not any("а" <= ch <= "я" for ch in word.lower())


def is_cyrillic(word: str) -> bool:
    return any("а" <= ch <= "я" or ch in "ёәғқңөұүһі" for ch in word.lower())
