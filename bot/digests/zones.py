"""Time zones as people name them: cities of Kazakhstan and its neighbours in Russian, Kazakh and English
(Астана, Ақтөбе, Almaty …) mapped to IANA zones, and a zone's name in the reader's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class City:
    zone: str
    en: str
    ru: str
    kk: str
    aliases: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return {"ru": self.ru, "kk": self.kk}.get(locale, self.en)


# The first city of a zone names it on buttons and in the settings. Since March 2024 all of Kazakhstan is on
# UTC+5, but the tz database keeps the regions apart (their past differs), so each city maps to its own.
CITIES: tuple[City, ...] = (
    City("Asia/Almaty", "Almaty", "Алматы", "Алматы", ("Alma-Ata", "Алма-Ата", "Alatau", "Алатау")),
    City("Asia/Almaty", "Astana", "Астана", "Астана", ("Nur-Sultan", "Нур-Султан", "Нұр-Сұлтан", "Akmola")),
    City("Asia/Almaty", "Shymkent", "Шымкент", "Шымкент", ("Chimkent", "Чимкент")),
    City("Asia/Almaty", "Karaganda", "Караганда", "Қарағанды", ("Karagandy",)),
    City("Asia/Almaty", "Taraz", "Тараз", "Тараз"),
    City("Asia/Almaty", "Pavlodar", "Павлодар", "Павлодар"),
    City("Asia/Almaty", "Oskemen", "Усть-Каменогорск", "Өскемен", ("Ust-Kamenogorsk", "Оскемен")),
    City("Asia/Almaty", "Semey", "Семей", "Семей", ("Semipalatinsk", "Семипалатинск")),
    City("Asia/Almaty", "Kokshetau", "Кокшетау", "Көкшетау"),
    City("Asia/Almaty", "Taldykorgan", "Талдыкорган", "Талдықорған"),
    City("Asia/Almaty", "Konaev", "Конаев", "Қонаев", ("Kapchagay", "Капчагай", "Qonaev")),
    City("Asia/Almaty", "Turkistan", "Туркестан", "Түркістан", ("Turkestan",)),
    City("Asia/Almaty", "Petropavl", "Петропавловск", "Петропавл"),
    City("Asia/Almaty", "Ekibastuz", "Экибастуз", "Екібастұз"),
    City("Asia/Qostanay", "Kostanay", "Костанай", "Қостанай", ("Qostanay",)),
    City("Asia/Aqtobe", "Aktobe", "Актобе", "Ақтөбе", ("Aqtobe", "Актюбинск")),
    City("Asia/Aqtau", "Aktau", "Актау", "Ақтау", ("Aqtau", "Zhanaozen", "Жанаозен")),
    City("Asia/Atyrau", "Atyrau", "Атырау", "Атырау"),
    City("Asia/Oral", "Oral", "Уральск", "Орал", ("Uralsk",)),
    City("Asia/Qyzylorda", "Kyzylorda", "Кызылорда", "Қызылорда", ("Qyzylorda", "Baikonur", "Байконур")),
    City("Asia/Tashkent", "Tashkent", "Ташкент", "Ташкент", ("Toshkent",)),
    City("Asia/Samarkand", "Samarkand", "Самарканд", "Самарқанд", ("Bukhara", "Бухара")),
    City("Asia/Bishkek", "Bishkek", "Бишкек", "Бішкек", ("Osh", "Ош")),
    City("Asia/Dushanbe", "Dushanbe", "Душанбе", "Душанбе"),
    City("Asia/Ashgabat", "Ashgabat", "Ашхабад", "Ашхабад"),
    City(
        "Europe/Moscow",
        "Moscow",
        "Москва",
        "Мәскеу",
        ("Saint Petersburg", "Санкт-Петербург", "Kazan", "Казань"),
    ),
    City("Europe/Samara", "Samara", "Самара", "Самара"),
    City("Asia/Yekaterinburg", "Yekaterinburg", "Екатеринбург", "Екатеринбург", ("Chelyabinsk", "Челябинск")),
    City("Asia/Omsk", "Omsk", "Омск", "Омбы"),
    City("Asia/Novosibirsk", "Novosibirsk", "Новосибирск", "Новосибирск"),
    City("Asia/Barnaul", "Barnaul", "Барнаул", "Барнаул"),
    City("Asia/Urumqi", "Urumqi", "Урумчи", "Үрімжі"),
    City("Asia/Shanghai", "Beijing", "Пекин", "Бейжің", ("Shanghai", "Шанхай")),
    City("Asia/Baku", "Baku", "Баку", "Баку"),
    City("Asia/Tbilisi", "Tbilisi", "Тбилиси", "Тбилиси"),
    City("Asia/Yerevan", "Yerevan", "Ереван", "Ереван"),
    City("Europe/Minsk", "Minsk", "Минск", "Минск"),
    City("Europe/Kyiv", "Kyiv", "Киев", "Киев", ("Kiev", "Київ")),
    City("Europe/Istanbul", "Istanbul", "Стамбул", "Ыстамбұл"),
    City("Asia/Dubai", "Dubai", "Дубай", "Дубай"),
    City("Europe/Berlin", "Berlin", "Берлин", "Берлин"),
    City("Europe/London", "London", "Лондон", "Лондон"),
    City("America/New_York", "New York", "Нью-Йорк", "Нью-Йорк"),
    City("Asia/Seoul", "Seoul", "Сеул", "Сеул"),
    City("Asia/Tokyo", "Tokyo", "Токио", "Токио"),
)

# Kazakh letters read as their nearest Russian ones, so that "Актобе" finds "Ақтөбе" and the other way round.
_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")
_IGNORED = re.compile(r"[\s\-_'’`.,]+")


def fold(name: str) -> str:
    """A typed city name, reduced to what decides it: case, spaces, dashes and Kazakh letters do not."""
    return _IGNORED.sub("", name.lower().translate(_FOLD))


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for city in CITIES:
        for name in (city.en, city.ru, city.kk, *city.aliases):
            names.setdefault(fold(name), city.zone)
    return names


@lru_cache(maxsize=1)
def _zone_city() -> dict[str, City]:
    first: dict[str, City] = {}
    for city in CITIES:
        first.setdefault(city.zone, city)
    return first


def zone_of_city(text: str) -> str | None:
    """The IANA zone of a city typed in Russian, Kazakh or English; None when it is not one we know."""
    return _by_name().get(fold(text))


def city_name(zone: str, locale: str) -> str | None:
    """The zone's city in the reader's language ("Алматы" for Asia/Almaty in ru); None when not curated."""
    city = _zone_city().get(zone)
    return city.name(locale) if city is not None else None
