"""What a sentence of a news text is, from its form alone: a byline, boilerplate, background, or a sentence
that points back to an earlier one and means nothing without it. Titles and summaries both avoid these."""

from __future__ import annotations

import re

from bot.text.dates import is_relative_stamp, read_dateline

# A sentence that opens with one of these refers to what was said before it: «Он напомнил…», «При этом…»,
# «По его словам…», «Об этом сообщил…», «Ол…», «Бұл туралы…», "He said…", "This was reported…".
_POINTS_BACK_RE = re.compile(
    r"^(?:"
    r"он|она|оно|они|его|ее|её|их|ему|ей|им|ими|нем|ней|них|это|этот|эта|эти|этого|этой|этим|этих|этому|"
    r"такой|такая|такое|такие|тогда|там|туда|однако|напротив|поэтому|именно|при этом|"
    r"вместе с тем|в то же время|тем не менее|в свою очередь|в связи с этим|"
    r"в этой связи|впрочем|зато|данный|данная|данное|данные|последний|последняя|"
    r"по (?:его|ее|её|их) (?:словам|мнению|данным)|об этом|о нем|о ней|о них|"
    r"ол|олар|оның|олардың|оған|оларға|бұл|бұның|бұған|мұны|мұнда|осы|осыған|сол|соның|"
    r"алайда|дегенмен|сондықтан|сонда|ал|"
    r"he|she|it|they|his|her|their|its|this(?! (?:year|week|month|spring|summer|autumn|fall|winter)\b)|"
    r"these|those|that|however|meanwhile|according to (?:him|her|them)|there|then|but|and|such"
    r")(?![\w-])",
    re.IGNORECASE,
)
# A sentence that adds to what was said («Также…», «Сондай-ақ…», "In addition…") names its own subject: it
# reads well after any sentence of the report, but it cannot open a summary or be a title.
_ADDS_RE = re.compile(
    r"^(?:также|кроме того|помимо этого|помимо того|к тому же|а также|вдобавок|"
    r"сондай-ақ|сонымен қатар|сонымен бірге|бұдан бөлек|бұған қоса|"
    r"also|in addition|additionally|moreover|furthermore|besides)(?![\w-])",
    re.IGNORECASE,
)
# The frame of a reported statement whose pronoun points back; what follows it often stands alone.
_REPORTING_FRAME_RE = re.compile(
    r"^(?:(?:он|она|они)(?: также| еще| ещё)? (?:напомнил|отметил|сообщил|подчеркнул|добавил|заявил|пояснил|"
    r"рассказал|уточнил|сказал|указал|заверил|считает|полагает)\w*,? что|по (?:его|ее|её|их) (?:словам|мнению),|"
    r"(?:оның|олардың) (?:айтуынша|сөзінше|пікірінше),|"
    r"(?:he|she|they)(?: also)? (?:said|noted|added|stressed|recalled|explained|emphasi[sz]ed|stated|"
    r"pointed out|believes)(?: that)?,?|according to (?:him|her|them),)\s+",
    re.IGNORECASE,
)
_BYLINE_RE = re.compile(
    r"^(?:(?:автор(?:ы| фото)?|текст|фото(?:граф)?|видео|источник|редактор|корреспондент|дереккөз|"
    r"сурет(?:тер)?|тілші|author|photo(?:s| by)?|video|source|credit|image|editor|reporter)\s*[:—–-]"
    r"|материал подготовил|by [A-Z][\w'-]+ [A-Z][\w'-]+\s*$)",
    re.IGNORECASE,
)
_BOILERPLATE_RE = re.compile(
    r"^(?:читайте (?:также|нас)|подписывайтесь|подпишитесь|поделиться|присоединяйтесь|материалы по теме|"
    r"реклама|просмотров|фото из открытых источников|фото с сайта|фото предоставлен|иллюстративное фото|"
    r"сондай-ақ оқыңыз|жазылыңыз|біздің telegram|telegram-арна|"
    r"read (?:also|more)|subscribe|follow us|share this|related:|advertisement|photo credit)",
    re.IGNORECASE,
)
_BACKGROUND_RE = re.compile(
    r"^(?:напомним|ранее сообщалось|как сообщалось|ранее мы писали|ранее\b|справочно|отметим, что ранее|"
    r"recall|earlier\b|it was earlier reported|let us remind|as previously reported|бұған дейін|еске сала кетейік|"
    r"айта кетейік)",
    re.IGNORECASE,
)
# A sentence that only names where the news came from: the reader learns nothing about the event.
_SOURCE_ONLY_RE = re.compile(
    r"^(?:об этом (?:сообщ|заяв|рассказ|пиш|информир|говорится|стало известно)|бұл туралы|this was (?:reported|announced|"
    r"stated|said)|as reported by|информацию (?:подтвердили|сообщили))",
    re.IGNORECASE,
)
# «…, сообщает Zakon.kz.», «…, деп хабарлайды BAQ.KZ.», "…, Kazinform News Agency reports."
_ATTRIBUTION_TAIL_RE = re.compile(
    r",\s*(?:[—–-]\s*)?(?:(?:сообщает|сообщают|сообщили|передает|передаёт|пишет|информирует)\b[^,]{0,80}"
    r"(?:,\s*со ссылкой на [^,]{0,80})?|деп (?:хабарлайды|жазады)[^,]{0,60}|[^,]{0,60}\breports?)\s*[.!]?$",
    re.IGNORECASE,
)
_OPENERS = "—–-«\"'“„( "


def bare(sentence: str) -> str:
    """The sentence without the dash or quote mark that may open it."""
    return sentence.lstrip(_OPENERS)


def points_back(sentence: str) -> bool:
    return bool(_POINTS_BACK_RE.match(bare(sentence)))


def adds_to_previous(sentence: str) -> bool:
    return bool(_ADDS_RE.match(bare(sentence)))


def is_byline(sentence: str) -> bool:
    s = sentence.strip()
    return len(s) <= 120 and bool(_BYLINE_RE.match(s))


def is_boilerplate(sentence: str) -> bool:
    return bool(_BOILERPLATE_RE.match(bare(sentence)))


def is_background(sentence: str) -> bool:
    return bool(_BACKGROUND_RE.match(bare(sentence)))


def is_source_only(sentence: str) -> bool:
    return bool(_SOURCE_ONLY_RE.match(bare(sentence)))


def is_dateline_only(sentence: str) -> bool:
    """«24 января 2026 года.», «2026 жылғы 24 қаңтар», "ASTANA." (razdel splits "ASTANA. KAZINFORM –")."""
    s = sentence.strip()
    if len(s) > 80:  # the longest dateline alone is a place, a country, a date, a time and an agency
        return False
    found = read_dateline(s)
    if found is not None and not s[found.end :].strip(" .,:;—–-"):
        return True
    if is_relative_stamp(s):
        return True
    return len(s) <= 40 and s.rstrip(".").isupper() and " " not in s.rstrip(".")


def is_metadata(sentence: str) -> bool:
    """Not a sentence of the report: a dateline, a byline, a credit or a call to subscribe."""
    return is_dateline_only(sentence) or is_byline(sentence) or is_boilerplate(sentence)


def without_reporting_frame(sentence: str) -> str | None:
    """«Он напомнил, что указом Президента…» → «Указом Президента…»; None when there is no such frame."""
    s = bare(sentence)
    m = _REPORTING_FRAME_RE.match(s)
    if m is None:
        return None
    rest = s[m.end() :].strip()
    if len(rest.split()) < 4:
        return None
    return rest[0].upper() + rest[1:]


def without_attribution(sentence: str) -> str:
    """The sentence without a closing «, сообщает Zakon.kz» — a title says what happened, not who told it."""
    m = _ATTRIBUTION_TAIL_RE.search(sentence)
    if m is None or len(sentence[: m.start()].split()) < 4:
        return sentence
    return sentence[: m.start()].rstrip()
