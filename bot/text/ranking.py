"""Which sentences of a news text make its summary: the choice behind `summarize` and `ranked_sentences`.

A summary is made of whole sentences of the text, in their original order. News put the event in the lead,
so the summary opens with the lead: the first sentence of the report that stands alone — not a dateline, a
byline, a credit or the headline repeated, and not a sentence that points back to one before it («Он
напомнил…», «По его словам…», «Бұл туралы…», "He said…"). The sentences after it come from the next three
sentences of the report, where it gives its key details, ranked by
* position: a prior that decays with the rank of the sentence in the report;
* informativeness: centrality (cosine between the sentence and the rest of the document over index terms
  weighted by inverse sentence frequency) and overlap with the title, the author's own summary;
and lose part of their score when they are unlikely to stand on a card: very short or very long, direct
speech without its speaker, background formulas («Напомним, …»), a bare credit («Об этом сообщили…») and a
reference to the previous sentence unless that sentence is chosen too. Deeper sentences (background, quotes,
reactions) are taken only when the window has nothing left that fits. A lead-biased choice like this beats
both Lead-2 and centrality-first ranking on news, which is written in the inverted pyramid.

Everything here is pure computation over strings; the caller passes the one `Morphology` of the process.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.text import cues
from bot.text.morph import Morphology, fold, iter_tokens
from bot.text.normalize import sentences as split_sentences

# Function words and reporting verbs in the forms the index gives them (Russian lemmas, English stems) and as
# folded tokens (Kazakh, whose stemmer leaves particles alone). They say nothing about what a text is about.
_STOP_TEXT = """
    и в во на с со что чтобы по о об обо к ко из от до за для при у же а но или либо не ни как так также тоже
    это этот тот такой он она оно они я мы вы ты его ее их свой себя быть который весь все уже еще лишь только
    бы ли если где когда там здесь тут сам самый через после между под над перед около более менее очень
    другой каждый ранее кроме однако поэтому именно данный тем чем год слово сообщить сообщать отметить
    отмечать сказать заявить подчеркнуть пояснить рассказать добавить напомнить являться стать мочь один
    какой никакой свой наш ваш
    the a an of to in on for and or by with at from as is be has have had will would that this these those it
    its no said say says which who was were are been he she they their them also than then there not but into
    және мен бен пен бұл осы ол оның олар үшін туралы деп да де та те бойынша жылы жыл қарай еді болды болып
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())

_DASHES = ("—", "–", "-")
# «…, — сказал он.» / "…," said he: a quotation that names its speaker.
_ATTRIBUTION_RE = re.compile(r"[,!?…]\s*[»\"]?\s*[—–-]\s*\w|[,!?]\s*[\"»”]\s+\w+")
_TERMINAL = (".", "!", "?", "…", "»", '"', ")")
_SENTENCE_END = (".", "!", "?", "…")

# Position prior by rank among the sentences of the report (metadata lines do not count): 1, .62, .46, .38…
_POSITION_DECAY = 0.7
# How much informativeness adds to the prior. For the opening, little: the first sentence of the report that
# stands alone opens the summary unless it is poor (very short, says nothing of the headline). For the rest,
# chosen within a window after the lead, more: which of the next few sentences carries the key detail.
_LEAD_INFO_WEIGHT = 0.4
_INFO_WEIGHT = 1.0
_DANGLING_FACTOR = 0.35
# A sentence before the lead was passed over as an opening; chosen after it, it would open the summary.
_BEFORE_LEAD_FACTOR = 0.2
# The rest of the summary comes from the few sentences after the lead, where a report gives its key details;
# deeper sentences are background and quotes, taken only when the window has nothing left that fits.
_WINDOW = 3
_BEYOND_WINDOW_FACTOR = 0.4
# Background is old news, a bare credit says nothing of the event, metadata is not part of the report.
_FORM_FACTORS = {"metadata": 0.05, "background": 0.6, "source": 0.5}
_LEAD_MIN_QUALITY = 0.5
_DUPLICATE_JACCARD = 0.6
DUPLICATE_RATIO = 90.0


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    terms: tuple[str, ...]  # content terms only
    words: int
    quality: float  # multiplier in (0, 1] from the length and form of the sentence alone
    dangling: bool  # points back to the sentence before it
    content: bool  # a sentence of the report, not a dateline, byline, credit or the headline again
    can_open: bool  # a summary may start with it: it stands alone and says something


def _repeats_title(sentence: str, title: str | None) -> bool:
    """A headline printed again as the first line of the body. A lead sentence the title was made from ends
    like a sentence, and stays: it is still the best opening of the summary."""
    if not title or sentence.rstrip().endswith(_SENTENCE_END):
        return False
    return fuzz.ratio(fold(sentence).rstrip("."), fold(title).rstrip(".")) >= DUPLICATE_RATIO


def analyse(text: str, title: str | None, morph: Morphology) -> list[Sentence]:
    raw = [s for _, _, s in split_sentences(text) if any(ch.isalnum() for ch in s)]
    # Some feeds repeat the headline as the first line of the body; on a card it would be said twice.
    if raw and _repeats_title(raw[0], title):
        raw = raw[1:]
    quote_paragraph = _quote_flags(text, raw)
    out: list[Sentence] = []
    for i, s in enumerate(raw):
        words = 0
        terms: list[str] = []
        for _, _, tok, cap in iter_tokens(s):
            words += 1
            if tok in STOP_WORDS or (len(tok) == 1 and not tok.isdigit()):
                continue
            term = morph.token_term(tok, cap)
            if term not in STOP_WORDS:
                terms.append(term)
        in_quote, opens_paragraph = quote_paragraph[i]
        quote_fragment = in_quote and not (opens_paragraph and _ATTRIBUTION_RE.search(s))
        form = _form(s)
        quality = _quality(s, words, quote_paragraph[i], form)
        dangling = cues.points_back(s)
        out.append(
            Sentence(
                index=i,
                text=s,
                terms=tuple(terms),
                words=words,
                quality=quality,
                dangling=dangling,
                content=form != "metadata",
                can_open=form == "" and not dangling and not quote_fragment and quality >= _LEAD_MIN_QUALITY,
            )
        )
    return out


def _form(s: str) -> str:
    """What kind of sentence this is beyond its content: metadata, background, a bare credit, an addition."""
    if cues.is_metadata(s):
        return "metadata"
    if cues.is_background(s):
        return "background"
    if cues.is_source_only(s):
        return "source"
    if cues.adds_to_previous(s):
        return "adds"
    return ""


def _quote_flags(text: str, raw: Sequence[str]) -> list[tuple[bool, bool]]:
    """For each sentence: is it direct speech (its paragraph opens with a dash or a quote mark), and does it
    open its paragraph."""
    flags: list[tuple[bool, bool]] = []
    pos = 0
    in_quote = False
    for s in raw:
        start = text.find(s, pos)
        if start < 0:  # cannot happen for razdel's substrings; stay safe rather than wrong
            flags.append((False, False))
            continue
        line_start = text.rfind("\n", 0, start) + 1
        first = not text[line_start:start].strip()
        if first:  # the first sentence of a paragraph decides for the whole paragraph
            in_quote = s.startswith(_DASHES) or s.startswith(("«", '"', "“"))
        flags.append((in_quote, first))
        pos = start + len(s)
    return flags


def _quality(s: str, words: int, quote: tuple[bool, bool], form: str) -> float:
    q = 1.0
    if words < 5:
        q *= 0.3
    elif words < 8:
        q *= 0.7
    elif words > 70:
        q *= 0.5
    elif words > 45:
        q *= 0.8
    in_quote, opens_paragraph = quote
    if in_quote:
        # Direct speech is colour, not news. Only a one-sentence quotation with its speaker stands alone: the
        # speaker of a longer one is named in its last sentence, which alone is a fragment («…, — сказала она»).
        q *= 0.85 if opens_paragraph and _ATTRIBUTION_RE.search(s) else 0.55
    q *= _FORM_FACTORS.get(form, 1.0)
    if not s.rstrip().endswith(_TERMINAL):  # a heading or a caption, not a sentence of the story
        q *= 0.6
    return q


@dataclass(frozen=True)
class Score:
    position: float
    info: float  # in [0, 1]
    quality: float

    def weighted(self, info_weight: float) -> float:
        return (self.position + info_weight * self.info) * self.quality


def scores(sents: Sequence[Sentence], title: str | None, morph: Morphology) -> list[Score]:
    n = len(sents)
    sf: Counter[str] = Counter()
    for s in sents:
        sf.update(set(s.terms))
    # Inverse sentence frequency: a word in every sentence does not tell sentences apart.
    isf = {t: math.log(1.0 + n / c) for t, c in sf.items()}
    doc: Counter[str] = Counter()
    for s in sents:
        doc.update(s.terms)

    centrality: list[float] = []
    for s in sents:
        own = Counter(s.terms)
        dot = norm_s = norm_r = 0.0
        for t, c in own.items():
            w = isf[t] ** 2
            dot += c * (doc[t] - c) * w
            norm_s += c * c * w
        for t, c in doc.items():
            r = c - own.get(t, 0)
            norm_r += r * r * isf[t] ** 2
        # Against the rest of the document: otherwise a long sentence is "central" because it is long. Not
        # scaled to the most central sentence: in a short text where no sentence is central, position decides.
        centrality.append(dot / math.sqrt(norm_s * norm_r) if norm_s and norm_r else 0.0)

    title_terms: set[str] = set()
    # A title made from the lead (a text without a headline) says nothing the lead does not: its words would
    # only reward repeating the lead.
    lead = next((s for s in sents if s.can_open), None)
    if title and not (lead and fuzz.partial_ratio(fold(title), fold(lead.text)) >= DUPLICATE_RATIO):
        title_terms = {
            morph.token_term(tok, cap)
            for _, _, tok, cap in iter_tokens(title)
            if tok not in STOP_WORDS and (len(tok) > 1 or tok.isdigit())
        } - STOP_WORDS
    out: list[Score] = []
    rank = 0
    for s, cent in zip(sents, centrality, strict=True):
        position = 1.0 / (1.0 + rank) ** _POSITION_DECAY
        rank += s.content
        if title_terms:
            overlap = len(title_terms.intersection(s.terms)) / len(title_terms)
            info = 0.5 * cent + 0.5 * overlap
        else:
            info = cent
        out.append(Score(position, info, s.quality))
    return out


def _near_duplicate(a: Sentence, b: Sentence) -> bool:
    ta, tb = set(a.terms), set(b.terms)
    if ta and tb and len(ta & tb) / len(ta | tb) >= _DUPLICATE_JACCARD:
        return True
    return fuzz.ratio(fold(a.text), fold(b.text)) >= DUPLICATE_RATIO


def select(sents: Sequence[Sentence], ranks: Sequence[Score], count: int, max_chars: int | None) -> list[int]:
    """The lead first, then greedy choice, best first; returns sentence indices in the order chosen."""
    chosen: list[int] = []
    used = -1  # joined length so far; -1 so that the first sentence needs no separator
    excluded: set[int] = set()

    def take(i: int) -> None:
        nonlocal used
        chosen.append(i)
        used += 1 + len(sents[i].text)
        excluded.update(j for j, s in enumerate(sents) if j not in chosen and _near_duplicate(s, sents[i]))

    def fits(i: int) -> bool:
        return max_chars is None or used + 1 + len(sents[i].text) <= max_chars

    # The prior dominates: a later sentence opens the summary only when the first ones are poor (very short,
    # a quotation, nothing of the title) and it says what the headline says.
    openers = [i for i, s in enumerate(sents) if s.can_open and fits(i)]
    lead = max(openers, key=lambda i: ranks[i].weighted(_LEAD_INFO_WEIGHT)) if openers else None
    start = lead if lead is not None else -1
    window = {start, *[i for i in range(start + 1, len(sents)) if sents[i].content][:_WINDOW]}
    if lead is not None:
        take(lead)
    while len(chosen) < count:
        best, best_score = -1, -1.0
        for i, s in enumerate(sents):
            if i in excluded or i in chosen or not fits(i):
                continue
            score = ranks[i].weighted(_INFO_WEIGHT)
            # A reference to the previous sentence is clear only when that sentence is on the card too.
            if s.dangling and (i - 1) not in chosen:
                score *= _DANGLING_FACTOR
            if lead is not None and i < lead:
                score *= _BEFORE_LEAD_FACTOR
            elif i not in window:
                score *= _BEYOND_WINDOW_FACTOR
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        take(best)
    return chosen
