"""A generated corpus of Russian news-sized texts (~300 words) with a realistic shape for search.

Words are real Russian word forms (inflected by pymorphy3 from a list of news vocabulary), drawn with a Zipf
distribution, plus invented surnames (unknown to the dictionary) and the city's name in most documents — the
"word found in most documents" that makes plain FTS5 slow.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from bot.text.morph import Morphology

LEMMAS = [
    "город",
    "статус",
    "указ",
    "президент",
    "совет",
    "развитие",
    "закон",
    "конституция",
    "режим",
    "инвестиция",
    "инвестор",
    "проект",
    "строительство",
    "дорога",
    "аэропорт",
    "вокзал",
    "жильё",
    "школа",
    "больница",
    "университет",
    "технология",
    "цифровизация",
    "криптовалюта",
    "банк",
    "финансы",
    "налог",
    "льгота",
    "бизнес",
    "предприниматель",
    "компания",
    "рабочий",
    "место",
    "экономика",
    "бюджет",
    "министр",
    "министерство",
    "правительство",
    "парламент",
    "депутат",
    "сенат",
    "заседание",
    "решение",
    "документ",
    "программа",
    "план",
    "стратегия",
    "область",
    "район",
    "аким",
    "акимат",
    "житель",
    "население",
    "транспорт",
    "метро",
    "трамвай",
    "автобус",
    "энергия",
    "вода",
    "газ",
    "электричество",
    "экология",
    "парк",
    "территория",
    "земля",
    "участок",
    "граница",
    "регион",
    "страна",
    "республика",
    "государство",
    "власть",
    "управление",
    "контроль",
    "суд",
    "право",
    "гарантия",
    "услуга",
    "качество",
    "доступность",
    "инфраструктура",
    "связь",
    "интернет",
    "данные",
    "платформа",
    "сервис",
    "цифровой",
    "новый",
    "специальный",
    "правовой",
    "экономический",
    "социальный",
    "международный",
    "национальный",
    "первый",
    "крупный",
    "современный",
    "подписать",
    "принять",
    "обсудить",
    "заявить",
    "отметить",
    "сообщить",
    "подчеркнуть",
    "объявить",
    "построить",
    "открыть",
    "запустить",
    "создать",
    "обеспечить",
    "привлечь",
    "развивать",
    "поддержать",
    "утвердить",
    "рассмотреть",
    "предложить",
    "планировать",
    "завершить",
    "год",
    "месяц",
    "неделя",
    "день",
    "срок",
    "этап",
    "миллиард",
    "миллион",
    "тенге",
    "доллар",
    "процент",
    "рост",
    "объём",
    "показатель",
    "результат",
    "встреча",
    "визит",
    "делегация",
    "соглашение",
    "меморандум",
    "партнёр",
    "инициатива",
    "реформа",
    "модель",
    "механизм",
    "условие",
    "требование",
    "специалист",
    "эксперт",
    "инженер",
    "архитектор",
    "учёный",
    "студент",
    "молодёжь",
    "семья",
    "ребёнок",
    "пенсионер",
    "врач",
    "учитель",
]

FUNCTION_WORDS = [
    "в",
    "на",
    "и",
    "с",
    "по",
    "для",
    "о",
    "что",
    "как",
    "также",
    "при",
    "от",
    "до",
    "из",
    "не",
    "это",
    "его",
    "их",
    "все",
    "уже",
    "более",
    "около",
]
SYLLABLES = [
    "ка",
    "ба",
    "ра",
    "са",
    "ма",
    "та",
    "на",
    "жа",
    "ку",
    "бе",
    "ке",
    "те",
    "ер",
    "ан",
    "ай",
    "ул",
    "ым",
    "ас",
    "ар",
    "ол",
    "ен",
]


def _forms(morph: Morphology, rng: random.Random) -> list[str]:
    analyzer = morph._morph
    forms: set[str] = set()
    for lemma in LEMMAS:
        for p in analyzer.parse(lemma)[:1]:
            forms.update(f.word for f in p.lexeme)
    words = sorted(forms)
    rng.shuffle(words)
    return words


def _surname(rng: random.Random) -> str:
    base = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return base + rng.choice(["ов", "ев", "ин", "бек", "улы"])


def generate(n: int, seed: int = 7, morph: Morphology | None = None) -> Iterator[tuple[str, str, date]]:
    """(title, text, date) triples, deterministic for a seed."""
    rng = random.Random(seed)
    morph = morph or Morphology()
    words = _forms(morph, rng)
    surnames = [_surname(rng) for _ in range(2000)]
    weights = [1.0 / (i + 1) ** 1.05 for i in range(len(words))]
    start = date(2025, 9, 1)
    for i in range(n):
        published = start + timedelta(days=i * 450 // max(n, 1))
        sentences = []
        total = 0
        while total < 300:
            k = rng.randint(8, 18)
            chosen = rng.choices(words, weights=weights, k=k)
            for _ in range(k // 4):
                chosen.insert(rng.randrange(len(chosen)), rng.choice(FUNCTION_WORDS))
            if rng.random() < 0.3:
                chosen.insert(rng.randrange(1, len(chosen)), rng.choice(surnames))
            if rng.random() < 0.35:
                chosen.insert(rng.randrange(1, len(chosen)), "Алатау")
            sentences.append(" ".join(chosen).capitalize() + ".")
            total += len(chosen)
        if rng.random() < 0.85 and "Алатау" not in " ".join(sentences):
            sentences[0] = "В Алатау " + sentences[0][0].lower() + sentences[0][1:]
        title = " ".join(rng.choices(words, weights=weights, k=rng.randint(4, 8))).capitalize()
        yield title, " ".join(sentences), published


QUERIES = [
    "Алатау",  # in ~85% of documents
    "алатау город",  # both very common
    "город статус",
    "криптовалютой",
    "указ президента",
    '"специальный режим"',
    "аэропорт строительство",
    "инвестиции -налог",
    "цифров*",
    "метро трамвай",
    "меморандум делегация",
    "Алатау пенсионер",
    "университет студент",
    "прокуратура",  # not in the corpus
    "министрр",  # a typo
    "закон о статусе Алатау",
]
