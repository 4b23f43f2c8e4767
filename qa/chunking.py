"""Articles in, passages out.

Passages are built from whole paragraphs where they fit, from whole sentences where a
paragraph is too long, and aim for TARGET_WORDS (never above MAX_WORDS, rarely below
MIN_WORDS: only an article shorter than that yields a shorter passage). Each passage keeps its
character span in the article text, so `article.text[start:end] == passage.text`.
"""

from __future__ import annotations

import re

from qa.periods import passage_period
from qa.types import Article, Passage

MIN_WORDS = 60
TARGET_WORDS = 120
MAX_WORDS = 200
# However few its words: a "word" of a megabyte (a base64 blob, say) would otherwise be one
# passage returned whole with every result list.
MAX_PASSAGE_CHARS = 4000

# Words whose trailing period does not end a sentence.
ABBREVIATIONS = {
    "rp", "no", "dr", "drs", "ir", "h", "hj", "prof", "st", "jl", "jln", "tbk", "pt", "cv",
    "dll", "dsb", "dkk", "yth", "kab", "kec", "kel", "prov", "mr", "mrs", "ms", "sdr", "bpk",
    "tgl", "hlm", "vol", "sby", "u.s", "a.n", "s.h", "s.e", "m.m", "s.t", "m.si", "ph.d",
}
# A sentence ends at . ! or ? (and the quotes or brackets that close it) before a capital or a
# digit, which may open a quote or bracket, one set off by a space as well ("Barat. “ Beliau …").
_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*(?=\s+(?:[\"“‘(\[]\s*)?[A-Z0-9])")
_WORD = re.compile(r"\S+")


def _word_count(text: str) -> int:
    return len(text.split())


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, begin = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        before = text[begin : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if last_word in ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        spans.append((begin, match.end()))
        begin = match.end()
        while begin < end and text[begin].isspace():
            begin += 1
    if begin < end:
        spans.append((begin, end))
    return spans


def _word_windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence longer than MAX_WORDS (a list, say), cut every TARGET_WORDS words."""
    words = list(_WORD.finditer(text, start, end))
    return [
        (words[i].start(), words[min(i + TARGET_WORDS, len(words)) - 1].end())
        for i in range(0, len(words), TARGET_WORDS)
    ]


def _within_chars(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans`, each longer than MAX_PASSAGE_CHARS cut into pieces of that length."""
    return [(begin, min(begin + MAX_PASSAGE_CHARS, end))
            for start, end in spans for begin in range(start, end, MAX_PASSAGE_CHARS)]


def _units(text: str) -> list[tuple[int, int]]:
    """Paragraph spans, with paragraphs over MAX_WORDS broken into sentences (or windows), and
    none longer than MAX_PASSAGE_CHARS."""
    return _within_chars(_word_units(text))


def _word_units(text: str) -> list[tuple[int, int]]:
    units = []
    for match in re.finditer(r"[^\n]*\S[^\n]*", text):
        start = match.start() + len(match[0]) - len(match[0].lstrip())
        end = match.end() - (len(match[0]) - len(match[0].rstrip()))
        if _word_count(match[0]) <= MAX_WORDS:
            units.append((start, end))
            continue
        for s_start, s_end in sentence_spans(text, start, end):
            if _word_count(text[s_start:s_end]) <= MAX_WORDS:
                units.append((s_start, s_end))
            else:
                units.extend(_word_windows(text, s_start, s_end))
    return units


def _pack(text: str, units: list[tuple[int, int]]) -> list[tuple[int, int]]:
    chunks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    words = 0
    for unit in units:
        unit_words = _word_count(text[unit[0] : unit[1]])
        too_long = current and unit[1] - current[0][0] > MAX_PASSAGE_CHARS
        if current and (words >= TARGET_WORDS or words + unit_words > MAX_WORDS or too_long):
            chunks.append(current)
            current, words = [], 0
        current.append(unit)
        words += unit_words
    if current:
        chunks.append(current)
    spans = [(chunk[0][0], chunk[-1][1]) for chunk in chunks]
    if len(spans) >= 2:
        tail, before = spans[-1], spans[-2]
        if _word_count(text[tail[0] : tail[1]]) < MIN_WORDS and (
            _word_count(text[before[0] : tail[1]]) <= MAX_WORDS and tail[1] - before[0] <= MAX_PASSAGE_CHARS
        ):
            spans[-2:] = [(before[0], tail[1])]
    return spans


def split_article(article: Article) -> list[Passage]:
    return [
        Passage(
            id=f"{article.id}:{position}",
            doc_id=article.id,
            position=position,
            text=article.text[start:end],
            start=start,
            end=end,
            title=article.title,
            source=article.source,
            date=article.date,
            url=article.url,
            period=passage_period(article.text[start:end], article.date),
            author=article.author,
        )
        for position, (start, end) in enumerate(_pack(article.text, _units(article.text)))
    ]


def split_articles(articles: list[Article]) -> list[Passage]:
    """All passages of `articles`. A passage that two sites both print stays twice here: the
    ranking shows it once, with both sources (see `qa.ranking`)."""
    return [passage for article in articles for passage in split_article(article)]
