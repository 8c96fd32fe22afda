"""A small curated lexicon of the domain: one language-neutral *concept* for the ways Russian, Kazakh and
English reports (and their abbreviations, compounds and hyphenations) name the same thing.

указ / жарлық / decree → `decree`; генплан / генеральный план / бас жоспар / master plan → `master_plan`;
СЭЗ / АЭА / арнайы экономикалық аймақ / special economic zone → `sez`; Касым-Жомарт Токаев / Қасым-Жомарт
Тоқаев / Kassym-Jomart Tokayev → `tokayev`. Stories use the concepts as keys shared by every language; search
can expand a query word to the `variants` of its concepts.

A pattern is a phrase of space-separated tokens as `iter_tokens` yields them (lower case, ё → е; a hyphen
splits tokens, so «аэро-такси» is the phrase «аэро такси»). A token matches a word exactly, or the word's index
term (a Russian lemma: «указом» → «указ»), or, written with a trailing `*`, any word that starts with it and
goes on for at most `MAX_ENDING` letters: a case ending, a Kazakh suffix chain («жарлығымен»), an English plural.
Stems are chosen long enough not to catch other words (жарлық «decree», not жарлы «poor»; Kazakh stems that
mutate before a vowel are listed in both forms: жарлық / жарлығ).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress

MAX_ENDING = 5
_MIN_STEM = 2
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")

# concept → patterns, roughly ru | kk | en (and the other spellings outlets use).
CONCEPTS: Mapping[str, tuple[str, ...]] = {
    # People (transliterations as the outlets spell them; a surname alone is the person too).
    "tokayev": (
        "касым жомарт токаев*", "касым жомарт", "токаев*", "к токаев*",
        "қасым жомарт тоқаев*", "қасым жомарт", "тоқаев*",
        "kassym jomart tokayev", "kassym jomart", "tokayev*", "tokaev*", "tokajew", "toqaev*",
    ),
    "bektenov": ("олжас бектенов*", "бектенов*", "olzhas bektenov", "bektenov*"),
    "bozumbayev": (
        "канат бозумбаев*", "бозумбаев*", "қанат бозымбаев*", "бозымбаев*",
        "kanat bozumbayev", "bozumbayev*", "bozumbaev*", "bozymbaev*", "qanat bozymbaev",
    ),
    "sultangaziyev": ("марат султангазиев*", "султангазиев*", "сұлтанғазиев*", "sultangaziyev*", "sultangaziev*"),
    "smailov": ("алихан смаилов*", "смаилов*", "smailov*", "smaıylov*"),
    "tskhay": ("юрий цхай*", "цхай*", "yuri tskhay", "tskhay", "tskhai"),
    "wong": ("вонг хэн файн", "хеан файн вонг", "вонг*", "wong heang fine", "wong"),
    "lawrence_wong": ("лоуренс вонг*", "lawrence wong"),  # Singapore's Prime Minister: not Wong Heang Fine
    "sabilyanov": ("нұртай сабильянов*", "сабильянов*", "sabilyanov*"),
    "ashimzhan": ("жанарбек әшімжан*", "әшімжан*", "ашимжан*", "ashimzhan*"),
    "nurmukhanov": ("бакыт нурмуханов*", "нурмуханов*", "nurmukhanov*"),
    "kim_bok_hwan": ("ким пок хван", "kim bok hwan"),
    # Places.
    "alatau": ("алатау*", "alatau", "알라타우"),
    "alatau_city_authority": ("alatau city authority", "aca"),
    "g4_city": ("g4 city", "g4 сити", "g4"),
    "gate_city": ("гейт сити", "gate city"),
    "zhetygen": ("жетыген*", "жетіген*", "zhetygen", "jetigen", "schetygen"),
    "konaev": ("конаев*", "кунаев*", "қонаев*", "konaev", "konayev", "kunayev", "qonaev"),
    "kapchagay": ("капшагай*", "капчагай*", "қапшағай*", "kapchagay", "kapshagay", "qapshagai"),
    "ile_district": ("илийск* район*", "илийск*", "іле аудан*", "іле", "ile district"),
    "talgar": ("талгар*", "талғар*", "talgar"),
    "almaty": ("алматы*", "алматин*", "almaty"),
    "akorda": ("акорд*", "ақорда*", "akorda"),
    "kazakhstan": ("казахстан*", "қазақстан*", "kazakhstan*", "рк", "қр", "республик* казахстан*"),
    "korea": ("корея", "кореи", "корею", "корейск*", "корея*", "korea*", "seoul", "сеул*"),
    # State, its acts and bodies.
    "president": ("президент", "глава государства", "мемлекет басшы*", "президент*", "president*", "head of state"),
    "address": ("послание", "жолдау*", "address to the nation", "state of the nation address"),
    "decree": ("указ", "жарлық*", "жарлығ*", "decree*", "фармон*"),
    "sign": ("подписать", "подписание", "подписан*", "қол қой*", "қол қою*", "sign", "signs", "signed", "signing"),
    "project": ("проект", "жоба*", "draft*", "project*"),  # проект, жоба: a project and a draft alike
    "law": ("закон", "законопроект", "заң*", "law", "laws", "bill"),
    "constitution": ("конституция", "конституционный", "конституциял*", "constitution*"),
    "status": ("статус", "мәртебе*", "status"),
    "special": ("специальный", "особый", "арнайы", "арнаулы", "ерекше", "special"),
    "legal_regime": ("правов* режим*", "құқықтық режим*", "legal regime*"),
    "regime": ("режим", "режим*", "regime*"),
    "government": ("правительство", "үкімет*", "government*", "cabinet"),
    "prime_minister": ("премьер министр*", "үкімет басшы*", "prime minister*", "premier"),
    "deputy_prime_minister": (
        "вице премьер*", "премьер министрдің орынбасар*", "deputy prime minister*", "deputy pm",
    ),
    "minister": ("министр", "министр*", "minister*"),
    "ministry": ("министерство", "министрлі*", "ministry", "ministries"),
    "emergencies_ministry": ("мчс", "министерство по чрезвычайн* ситуаци*", "emergencies ministry"),
    "economy_ministry": ("мнэ", "министерство национальной экономики", "national economy ministry"),
    "akim": ("аким", "әкім", "әкімі*", "akim*", "governor*"),
    "akimat": ("акимат", "әкімдік*", "әкімдіг*", "akimat*"),
    "maslikhat": ("маслихат*", "мәслихат*", "maslikhat*"),
    "parliament": ("парламент*", "parliament*"),
    "mazhilis": ("мажилис*", "мәжіліс*", "mazhilis*", "majilis*"),
    "senate": ("сенат*", "senate*"),
    "deputy": ("депутат*", "deputy", "deputies", "mp", "mps"),
    "inquiry": ("депутатск* запрос*", "запрос", "сауал*", "inquiry", "inquiries"),
    "first_reading": ("перв* чтени*", "бірінші оқылым*", "first reading"),
    "joint_session": ("совместн* заседани*", "бірлескен отырыс*", "joint session", "joint sitting"),
    "meeting": ("заседание", "отырыс*", "meeting*", "session*", "sitting"),
    "council": ("совет", "кеңес", "кеңесі*", "кеңест*", "council*"),
    "commission": ("комиссия", "комиссия*", "commission*"),
    "advanced_development": ("опережающ* развити*", "озық даму*", "озық дамыт*", "advanced development"),
    "development": ("развитие", "даму", "дамуы*", "дамыт*", "development*"),
    "project_office": ("проектн* офис*", "жобалық кеңсе*", "project office*"),
    "master_plan": (
        "генеральн* план*", "генплан*", "бас жоспар*", "мастер план*", "master plan*", "general plan*",
        "masterplan*",
    ),
    "road_map": ("дорожн* карт*", "жол картасы*", "road map*", "roadmap*"),
    "sez": (
        "сэз", "аэа", "sez", "специальн* экономическ* зон*", "особ* экономическ* зон*",
        "арнайы экономикалық аймақ*", "арнайы экономикалық аймағ*", "special economic zone*",
    ),
    "admin_territorial": (
        "административно территориальн* устройств*", "әкімшілік аумақтық құрылыс*",
        "administrative territorial",
    ),
    "regional_city": (
        "город* областного значения", "облыстық маңызы бар қала*", "city of regional significance",
    ),
    "city": (
        "город", "қала", "қаласы*", "қаланың", "қалаға", "қалада", "қаладан", "қаланы", "қалалар*",
        "city", "cities",
    ),
    "satellite_city": ("город* спутник*", "қала серіг*", "satellite city", "satellite town*"),
    "smart_city": ("смарт сити", "smart city"),
    "village": ("село", "ауыл*", "village*"),
    "settlement": ("населенн* пункт*", "елді мекен*", "settlement*"),
    "district": ("район", "аудан*", "district*"),
    "region": ("область", "облыс*", "region", "regions", "regional", "oblast*"),
    "microdistrict": ("микрорайон*", "шағын аудан*", "microdistrict*"),
    "working_trip": ("рабоч* поездк*", "жұмыс сапар*", "working trip*", "working visit*"),
    "press_service": ("пресс служб*", "баспасөз қызмет*", "press service*", "press office"),
    # Money, measures, economy.
    "budget": ("бюджет", "бюджет*", "budget*"),
    "tenge": ("тенге", "теңге*", "tenge", "kzt"),
    "billion": ("млрд", "миллиард", "миллиард*", "billion*", "bn"),
    "trillion": ("трлн", "триллион", "триллион*", "trillion*", "trn"),
    "million": ("млн", "миллион", "миллион*", "million*", "mln"),
    "hectare": ("га", "гектар", "гектар*", "hectare*", "ha"),
    "kilometre": ("км", "километр", "километр*", "шақырым*", "km", "kilometre*", "kilometer*"),
    "ppp": (
        "гчп", "мжә", "ppp", "государственн* частн* партнерств*", "мемлекеттік жекешелік әріптестік*",
        "public private partnership*",
    ),
    "legal_acts": ("открыт* нпа", "ашық нқа", "нпа", "нқа", "open nla", "legal acts"),
    "aifc": ("мфца", "aifc", "астана халықаралық қаржы орталығ*"),
    "investment": ("инвестор", "инвестиция", "инвестор*", "инвестиция*", "invest*"),
    "construction": ("строительство", "құрылыс*", "construction*", "build*"),
    "company": ("компания", "компания*", "company", "companies"),
    "agreement": ("соглашение", "меморандум*", "келісім*", "agreement*", "memorandum*"),
    "business": ("бизнес*", "кәсіпкер*", "business*"),
    "forum": ("форум*", "forum*"),
    # Things the city builds or suffers.
    "air_taxi": (
        "аэротакси*", "аэро такси*", "әуе такси*", "air taxi*", "airtaxi*",
        "дрон такси*", "дронтакси*", "drone taxi*",  # outlets call the same eVTOL service either
    ),
    "crypto": ("криптовалют*", "криптохаб*", "cryptocurrenc*", "crypto", "crypto hub*"),
    "digital": ("цифров*", "цифрлық*", "digital"),
    "airport": ("аэропорт*", "әуежай*", "airport*"),
    "railway": ("железн* дорог*", "железнодорожн*", "теміржол*", "темір жол*", "railway*", "rail"),
    "station": ("станция", "станци*", "стансас*", "station*"),
    "reservoir": ("водохранилищ*", "су қойма*", "reservoir*"),
    "emergency": ("чс", "чрезвычайн* ситуаци*", "төтенше жағдай*", "emergency", "state of emergency"),
    "landfill": (
        "полигон* тбо", "тбо", "тверд* бытов* отход*", "полигон", "свалк*", "қоқыс полигон*", "полигон*",
        "landfill*", "solid waste",
    ),
    "fire": ("пожар", "пожар*", "өрт", "өрті*", "өртт*", "fire", "fires", "blaze"),
    "avalanche": ("лавин*", "қар көшкін*", "көшкін*", "avalanche*"),
    "gas": ("газ", "газа", "газом", "газу", "газиф*", "газдандыру*", "gas", "gasification"),
    "referendum": ("референдум*", "referendum*"),
    "casino": ("казино", "игорн* зон*", "casino*", "gambling zone*"),
    "school": ("школа", "школ*", "мектеп*", "school*"),
    "resident": ("житель", "жител*", "тұрғын*", "resident*", "inhabitant*"),
    "population": ("население", "населени*", "халқы*", "population"),
    "boundary": ("граница", "границ*", "шекара*", "boundar*", "border*"),
    "territory": ("территория", "территори*", "аумақ*", "аумағ*", "territor*"),
}  # fmt: skip


@dataclass(frozen=True)
class _Pattern:
    concept: str
    tokens: tuple[str, ...]


def _split(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.replace("-", " ").replace("ё", "е").lower().split())


def _build() -> tuple[dict[str, tuple[_Pattern, ...]], dict[str, frozenset[str]]]:
    first: dict[str, list[_Pattern]] = {}
    single: dict[str, set[str]] = {}
    for concept, patterns in CONCEPTS.items():
        for raw in patterns:
            p = _Pattern(concept, _split(raw))
            first.setdefault(p.tokens[0], []).append(p)
            if len(p.tokens) == 1:
                single.setdefault(p.tokens[0], set()).add(concept)
    # Longer patterns first: «глава государства» before «глава», «премьер министр» before «министр».
    by_first = {k: tuple(sorted(v, key=lambda p: -len(p.tokens))) for k, v in first.items()}
    return by_first, {k: frozenset(v) for k, v in single.items()}


_FIRST, _SINGLE = _build()


def _usable_term(word: str, term: str | None) -> str | None:
    # Kazakh stems are too short to trust (қалады «remains» → қала «city»): Kazakh patterns list their forms.
    return None if term is None or _KAZAKH_LETTERS.intersection(word) else term


def _token_keys(word: str, term: str | None) -> list[str]:
    """The keys under which patterns starting with this word are filed: exact first, then stems*."""
    keys = [word]
    term = _usable_term(word, term)
    if term and term != word:
        keys.append(term)
    for end in range(len(word), max(len(word) - MAX_ENDING, _MIN_STEM) - 1, -1):
        keys.append(word[:end] + "*")
    return keys


def _token_matches(token: str, word: str, term: str | None) -> bool:
    if token.endswith("*"):
        stem = token[:-1]
        return word.startswith(stem) and len(word) - len(stem) <= MAX_ENDING
    return token == word or token == _usable_term(word, term)


# The patterns that may start at a token, longest first (see `starting`).
Starting = tuple[_Pattern, ...]


@lru_cache(maxsize=65_536)
def starting(word: str, term: str | None) -> Starting:
    """The patterns that may start at a token (`word` as `iter_tokens` yields it, `term` its index term or
    None): what `find_from` takes for each token, so that a caller can keep it per spelling."""
    found: list[_Pattern] = []
    for key in _token_keys(word, term):
        found.extend(_FIRST.get(key, ()))
    return tuple(sorted(found, key=lambda p: -len(p.tokens)))


def find(words: Sequence[str], terms: Sequence[str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, concept) of the lexicon's phrases in a token sequence: the longest at each position,
    never overlapping. `words` as `iter_tokens` yields them; `terms`, if given, their index terms."""
    found = list(map(starting, words, terms if terms is not None else [None] * len(words)))
    # Most tokens start no pattern: only the others, and only the rest of each pattern, need checking.
    starts = list(compress(range(len(words)), found))
    return find_from(words, terms, starts, [found[i] for i in starts])


def find_from(
    words: Sequence[str], terms: Sequence[str] | None, starts: Sequence[int], patterns: Sequence[Starting]
) -> list[tuple[int, int, str]]:
    """`find`, given the positions where a pattern may start, in order, and `starting` of each."""
    n = len(words)
    spans: list[tuple[int, int, str]] = []
    free = 0  # phrases never overlap: the first position after the last one found
    for i, found in zip(starts, patterns, strict=True):
        if i < free:
            continue
        for p in found:
            end = i + len(p.tokens)
            if end > n:
                continue
            # Most patterns are one word, and most longer ones fail at their second: checked inline.
            if end > i + 1 and not (
                _token_matches(p.tokens[1], words[i + 1], terms[i + 1] if terms is not None else None)
                and all(
                    _token_matches(tok, words[j], terms[j] if terms is not None else None)
                    for j, tok in zip(range(i + 2, end), p.tokens[2:], strict=True)
                )
            ):
                continue
            spans.append((i, end, p.concept))
            free = end
            break
    return spans


def concepts(lemma: str) -> frozenset[str]:
    """Concepts a single word or lemma stands for on its own (phrases need `find`)."""
    word = lemma.lower().replace("ё", "е")
    out: set[str] = set()
    for key in _token_keys(word, None):
        out |= _SINGLE.get(key, frozenset())
        if out:
            break  # the longest stem decides: «әкімдік» is the akimat, not «әкім»
    return frozenset(out)


def concepts_of(text_words: Sequence[str]) -> list[str]:
    """The concepts of a phrase as a query types it: «генеральный план» → ["master_plan"]."""
    return [c for _, _, c in find([w.lower().replace("ё", "е") for w in text_words])]


def variants(term: str) -> set[str]:
    """Every written form the lexicon knows for the concepts of `term` (a word or a phrase): «генплан» →
    {"генплан", "генеральн план", "бас жоспар", "master plan", …}. Stems lose their `*`; a search should
    stem or prefix-match them as it does any word."""
    words = _split(term)
    keys = set(concepts_of(words)) if len(words) > 1 else set(concepts(term))
    if not keys and words:
        keys = set(concepts_of(words))
    return {" ".join(tok.rstrip("*") for tok in _split(p)) for c in keys for p in CONCEPTS[c]}


@lru_cache(maxsize=1024)
def concept_words(concept: str) -> tuple[str, ...]:
    """The single-word forms of a concept, stems without their `*` (Russian lemmas, «алатау», "alatau"):
    a stand-in for its frequency in a corpus that counts words, not concepts."""
    singles = (_split(p) for p in CONCEPTS.get(concept, ()))
    return tuple(toks[0].rstrip("*") for toks in singles if len(toks) == 1)
