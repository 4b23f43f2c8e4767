"""Which words of a passage to show in bold: the question's own words, and the figures in the
sentence that matches the question best (where the answer usually is)."""

from __future__ import annotations

import re

from qa.chunking import sentence_spans

# Question words and function words that match everywhere and answer nothing.
STOP_WORDS = frozenset(
    """
    ada adalah agar akan apa apakah atau bagaimana banyak bahwa beberapa berapa berapakah bisa
    brp dalam dan dapat dari di dengan dgn gimana hal harus ini itu jadi juga jumlah kah kapan
    karena ke kenapa kepada lagi mana mengapa menurut oleh pada para saat sampai secara sebagai
    sejak selama seperti siapa siapakah tahun tentang terhadap thn tsb untuk utk yaitu yakni yang
    yg sudah telah masih bulan
    a an and are as at be by did do does for from had has have how in is it many much of on or
    the to was were what when where which who why with year
    """.split()
)
_TOKEN = re.compile(r"\w+(?:[.,]\d+)*", re.UNICODE)
# "12,37 juta", "Rp 7,9 miliar", "66,25 persen", "4,4 juta unit", "99,7%"
_FIGURE = re.compile(
    r"(?:Rp\.?\s?)?\d+(?:[.,]\d+)*(?:\s?%|\s?persen\b)?"
    r"(?:\s(?:ribu|juta|miliar|triliun)\b)?"
    r"(?:\s(?:tenaga kerja|unit usaha|unit|orang|poin|persen|IKM|sentra)\b)?",
    re.IGNORECASE,
)
_PREFIX_CHARS = 5  # "serap" finds "serapan"; shorter words must match whole


def keywords(question: str) -> set[str]:
    return {t for t in (m.lower() for m in _TOKEN.findall(question)) if t not in STOP_WORDS}


def _matches(token: str, words: set[str]) -> bool:
    token = token.lower()
    if token in words:
        return True
    return any(len(w) >= _PREFIX_CHARS and token.startswith(w) for w in words)


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans, joining those separated only by spaces."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def figures(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Quantities in text[start:end]. A bare whole number ("2024", the "15" of "(15/11)") is a
    year, a day or a count without a unit, and is left out."""
    end = len(text) if end is None else end
    return [m.span() for m in _FIGURE.finditer(text, start, end) if not m.group().isdigit()]


def highlight(question: str, text: str) -> list[list[int]]:
    words = keywords(question)
    if not words:
        return []
    spans = [m.span() for m in _TOKEN.finditer(text) if _matches(m.group(), words)]
    best, best_hits = [], 0
    for start, end in sentence_spans(text, 0, len(text)):
        quantities = figures(text, start, end)
        hits = len({text[s:e].lower() for s, e in spans if start <= s < end})
        if quantities and hits > best_hits:
            best, best_hits = quantities, hits
    return [list(span) for span in _merge(spans + best, text)]
