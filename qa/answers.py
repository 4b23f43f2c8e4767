"""The words that answer: in a passage, the sentence that matches the question best, and in it
the span of the kind the question asks for ("berapa" wants a figure with its unit, "siapa" a
name, "kapan" a date, "di mana" a place). The question's own words are highlighted too."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from qa.chunking import sentence_spans
from qa.lexical import STOP_WORDS, WORD, content_words, stem_words
from qa.measures import what_is_the
from qa.periods import time_spans

QUANTITY, DATE, PERSON, PLACE, ENTITY = "quantity", "date", "person", "place", "entity"

# English asks a degree, "how" and an adjective, for a figure, as "berapa" and one does ("how old"
# is "berapa usia", "how far" "berapa jauh"); "how long" and "how often" ask a degree too, but are
# answered as often by a range of dates or a word ("setiap tahun"); "how" before anything else
# asks a manner or a reason.
_FIGURE_DEGREES = "many|much|old|far|big|large|tall|high|deep|wide|heavy|fast"
HOW_MUCH = r"how\s+(?:" + _FIGURE_DEGREES + ")"
HOW_DEGREE = r"how\s+(?:long|often|" + _FIGURE_DEGREES + ")"
# Indonesian asks so with "seberapa" ("seberapa besar(kah)", "seberapa jauh"); "seberapa
# berhasil/mirip/penting" asks how well, not a figure.
SEBERAPA = r"seberapa\s+(?:banyak|besar|tinggi|jauh|luas|berat|cepat|panjang|lebar|mahal|tua)(?:kah|nya)?"
# The words that ask for each kind; the one the question says first decides ("siapakah yang
# mengungkapkan jumlah wisatawan ..." asks who, "jumlah unit IKM tahun 2022 berapa?" how many).
_QUESTION_TYPES = [
    # "tahun berapakah", "bulan apakah": the particle -kah is part of the question word
    (DATE, r"\b(?:kapan\w*|(?:tanggal|tahun|bulan|pukul|jam)\s+berapa\w*|(?:hari|tanggal|tahun|bulan)\s+apa\w*"
           r"|when|(?:what|which)\s+(?:year|date|day|month|time))\b"),
    (QUANTITY, r"\b(?:berapa\w*|brp|" + SEBERAPA + "|" + HOW_MUCH + r"|what\s+(?:share|percentage|percent|proportion|number)"
               # English names the measure it asks for: "what was the industry confidence index ...?"
               r"|" + what_is_the("number|amount|total|price|cost|value|rate|index|population|percentage|share|size"
                                  r"|area|length|height|distance|budget|revenue|growth|count|sum|worth|salary|wage"
                                  r"|capacity|speed|weight|age") + r")\b"),
    (PERSON, r"\b(?:siapa\w*|who|whom)\b"),
    (PLACE, r"\b(?:di\s*mana\w*|ke\s*mana\w*|dari\s*mana\w*|where|lokasi)\b"),
]
# A word naming a figure ("jumlah", "total", "nilai", "harga", "angka", "persentase"; English
# "number of", "price of", …) asks for one in a search-box question ("jumlah IKM 2023", "harga emas
# hari ini", "latest number of IKM units"), but only names one in a question that asks for a
# thing, a reason or a manner ("lembaga apakah yang mencatat jumlah suku bangsa di Aceh?",
# "mengapa minyak baru dijual dengan harga lebih tinggi?").
_FIGURE_NOUN = re.compile(r"\b(?:jumlah|total|nilai|harga|angka|persentase"
                          r"|(?:number|amount|total|value|price|percentage|rate)\s+of)\b")
_WHICH_WORDS = r"apa\w*|\w*mana\w*|what|which"
ASKS_WHICH = re.compile(r"\b(?:" + _WHICH_WORDS + r")\b", re.IGNORECASE)
_ASKS_OTHERWISE = re.compile(r"\b(?:" + _WHICH_WORDS + r"|mengapa\w*|kenapa\w*|knp|bagaimana\w*|gimana|why|how)\b")

# "12,37 juta tenaga kerja", "Rp 7,9 miliar", "66,25 persen", "4,4 juta unit", "99,7%", "65 IKM"
_FIGURE = re.compile(
    r"(?:(?:Rp|US\$|\$)\.?\s?)?\d+(?:[.,]\d+)*(?:\s?%|\s?persen\b)?"
    r"(?:\s(?:ribu|juta|miliar|triliun|million|billion)\b)?"
    r"(?:\s(?:tenaga kerja|unit usaha|unit|orang|poin|persen|IKM|sentra(?: IKM)?|kategori|penumpang)\b)?",
    re.IGNORECASE,
)
_CAPITALIZED = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:[A-Z][\w'-]*|bin|binti|de|van|von))*")
# Capitalized words before a name that are not part of it.
_TITLES = frozenset(
    """
    bapak ibu pak bu dr drs drh ir prof h hj kh menteri menperin wamenperin wakil direktur dirjen
    jenderal kepala ketua presiden gubernur bupati wali walikota kolonel sekretaris staf asisten
    """.split()
)
# Capitalized words of offices, institutions and places: not in a person's name.
_NOT_NAME = _TITLES | frozenset(
    """
    kementerian kemenperin ditjen badan dinas industri kecil menengah aneka perindustrian
    perdagangan pemerintah provinsi kabupaten kota desa kecamatan sektor program kompas tim pt
    tbk indonesia jakarta mal
    """.split()
)
# Words that begin the name of a place, never a person's: "Kota Bandung", "Bandar Udara Polonia",
# "Mal Kota Kasablanka" (not "Gedung" or "Istana": "Gedung Putih" and "Istana" also speak, as
# offices do).
PLACE_NAME = re.compile(r"(?:Desa|Kecamatan|Kabupaten|Kota|Provinsi|Pulau|Jalan|Jl\.?|Bandara|Bandar\s+Udara"
                        r"|Pelabuhan|Stadion|Mal|Gunung|Sungai|Danau|Pantai|Lapangan)(?!\w)")
_PLACE_CUE = re.compile(r"\b(?:di|ke|dari|" + PLACE_NAME.pattern + r")\s+$", re.IGNORECASE)


def answer_type(question: str) -> str:
    lowered = question.lower()
    asked = [(found.start(), kind) for kind, pattern in _QUESTION_TYPES if (found := re.search(pattern, lowered))]
    if asked:
        return min(asked)[1]
    return QUANTITY if _FIGURE_NOUN.search(lowered) and not _ASKS_OTHERWISE.search(lowered) else ENTITY


def keywords(question: str) -> set[str]:
    """The question's words that can match a passage: no question or function words."""
    return set(content_words(question))


def figures(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Quantities in text[start:end]. A bare whole number ("2024", the "15" of "(15/11)") is a
    year, a day or a count of nothing named, and is left out."""
    end = len(text) if end is None else end
    return [m.span() for m in _FIGURE.finditer(text, start, end) if not m.group().isdigit()]


def _runs(text: str, start: int, end: int, not_part: frozenset[str]) -> list[tuple[int, int]]:
    """Runs of capitalized words in text[start:end], leading titles dropped, none of `not_part`."""
    spans = []
    for match in _CAPITALIZED.finditer(text, start, end):
        words = list(re.finditer(r"\S+", match.group()))
        while words and words[0].group().lower().strip(".,") in _TITLES:
            words.pop(0)
        if not words or any(w.group().lower() in not_part for w in words):
            continue
        begin = match.start() + words[0].start()
        if len(words) == 1 and (begin == start or len(words[0].group()) < 3):
            continue  # a lone capital at a sentence start is usually not a name
        spans.append((begin, match.start() + words[-1].end()))
    return spans


def _names(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return _runs(text, start, end, _NOT_NAME)


def _places(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [
        span for span in _runs(text, start, end, _TITLES)
        if _PLACE_CUE.search(text[max(start, span[0] - 12) : span[0]])
    ]


_CANDIDATES = {
    QUANTITY: figures,
    DATE: lambda text, start, end: time_spans(text, start, end),
    PERSON: _names,
    PLACE: _places,
    ENTITY: _names,
}


_CANDIDATE_BONUS = 0.5
_LEAD_WORDS = 8  # words before an answer that can lead up to it


@dataclass
class Found:
    """The best sentence of a passage for a question, and the answer span in it if any."""

    sentence: tuple[int, int]
    coverage: float  # share of the question's stems that the sentence contains
    span: tuple[int, int] | None


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    words: tuple[tuple[int, str], ...]  # (offset, stem) of each word that is not a stop word
    stems: frozenset[str]


# A passage's analysis does not depend on the question, and the same passages come back for
# question after question: caching it makes answer finding several times cheaper under load.
CACHED_PASSAGES = 4096


@functools.lru_cache(maxsize=CACHED_PASSAGES)
def _sentences(text: str) -> tuple[_Sentence, ...]:
    tokens = [m for m in WORD.finditer(text) if m.group().lower() not in STOP_WORDS]
    words = list(zip((m.start() for m in tokens), stem_words([m.group() for m in tokens])))
    sentences = []
    for start, end in sentence_spans(text, 0, len(text)) or [(0, len(text))]:
        inside = tuple((at, stem) for at, stem in words if start <= at < end)
        sentences.append(_Sentence(start, end, inside, frozenset(stem for _, stem in inside)))
    return tuple(sentences)


@functools.lru_cache(maxsize=CACHED_PASSAGES)
def _kind_spans(text: str, kind: str) -> tuple[tuple[tuple[tuple[int, int], frozenset[str]], ...], ...]:
    """For each sentence, the spans of the `kind` of answer in it, with their lowercased words."""
    return tuple(
        tuple((span, frozenset(w.lower() for w in WORD.findall(text[span[0] : span[1]])))
              for span in _CANDIDATES[kind](text, sentence.start, sentence.end))
        for sentence in _sentences(text)
    )


@functools.lru_cache(maxsize=CACHED_PASSAGES)
def _tokens(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((m.start(), m.end(), m.group().lower()) for m in WORD.finditer(text))


def find_answer(question_stems: list[str], kind: str, question_words: set[str], text: str) -> Found | None:
    """The sentence of `text` holding most of the question's stems (in question order), and in
    it the candidate of the asked kind that the question's words lead up to, leaving out spans
    made of the question's own words."""
    if not text.strip():
        return None
    order = {s: n for n, s in reversed(list(enumerate(question_stems)))}
    asked = order.keys()
    best = None
    for sentence, spans in zip(_sentences(text), _kind_spans(text, kind)):
        coverage = len(sentence.stems & asked) / max(len(order), 1)
        candidates = [span for span, words in spans if not words <= question_words]
        # A sentence holding something of the asked kind beats one that only repeats the question.
        score = coverage + (_CANDIDATE_BONUS if candidates else 0)
        if best is None or score > best[0]:
            best = (score, coverage, sentence, candidates)
    if best is None:
        return None
    _, coverage, sentence, candidates = best
    words = sentence.words
    offsets = [at for at, _ in words]  # ascending: words are in text order
    asked_at = [at for at, s in words if s in order]

    def lead(span: tuple[int, int]) -> tuple[int, int, int]:
        """How well the question's words lead up to `span`: the longest run of them in question
        order among the words just before it, how many of them are near, and closeness."""
        first, after_end = bisect.bisect_left(offsets, span[0]), bisect.bisect_left(offsets, span[1])
        before = [s for _, s in words[max(0, first - _LEAD_WORDS) : first]]
        after = [s for _, s in words[after_end : after_end + _LEAD_WORDS // 2]]
        run = longest = 0
        previous = None
        for stem in before:
            position = order.get(stem)
            run = run + 1 if position is not None and previous is not None and position == previous + 1 else (
                1 if position is not None else 0)
            previous = position
            longest = max(longest, run)
        near = len({s for s in before + after if s in order})
        # the nearest question word outside the span: the last before it, the first after it
        left, right = bisect.bisect_left(asked_at, span[0]), bisect.bisect_left(asked_at, span[1])
        gaps = ([span[0] - asked_at[left - 1]] if left else []) + (
            [asked_at[right] - span[1]] if right < len(asked_at) else [])
        return longest, near, -min(gaps, default=len(text))

    return Found((sentence.start, sentence.end), coverage, max(candidates, key=lead) if candidates else None)


_PREFIX_CHARS = 5  # "serap" finds "serapan"; shorter words must match whole


def highlight(question_words: set[str], text: str, answer: tuple[int, int] | None) -> list[list[int]]:
    """[start, end) spans to show in bold: the question's words and the answer."""
    prefixes = tuple(w for w in question_words if len(w) >= _PREFIX_CHARS)
    spans = [(start, end) for start, end, token in _tokens(text)
             if token in question_words or token.startswith(prefixes)]
    if answer:
        spans.append(answer)
    return [list(span) for span in _merge(spans, text)]


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans, joining those separated only by spaces."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
