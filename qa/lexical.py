"""Word-level retrieval: BM25 over Indonesian stems (PyStemmer), without stop words.

It catches what embeddings blur: figures, names, acronyms and rare words. Its scores are
fused with the dense ones in `qa.ranking`.

The scoring is Lucene's BM25, as bm25s computes it (tests compare the two). It is computed
here, from postings, because the index changes while it serves: bm25s bakes each term's idf
into a static matrix, so one new passage meant rebuilding all of it (5 s at 100k passages).
Here new passages go into a small second segment, statistics are summed over both at question
time, and deleted passages are hidden until the next full build, as Lucene does with its
segments.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

import numpy as np
import Stemmer

# Question words and function words (Indonesian, colloquial and English) that match
# everywhere and answer nothing.
STOP_WORDS = frozenset(
    """
    ada adalah agar akan apa apakah atau bagaimana banyak bahwa beberapa berapa berapakah bisa
    brp dalam dan dapat dari di dengan dgn gimana hal harus ini itu jadi juga jumlah kah kapan
    kapankah karena ke kenapa kepada lagi mana manakah mengapa menurut oleh pada para saat sampai
    secara sebagai sejak selama seperti siapa siapakah tahun tentang terhadap thn tsb untuk utk
    yaitu yakni yang yg sudah telah masih bulan dimana dimanakah nya pun se tersebut
    a an and are as at be by did do does for from had has have how in is it many much of on or
    the to was were what when where which who why with year
    """.split()
)
WORD = re.compile(r"\w+(?:[.,]\d+)*", re.UNICODE)  # keeps "12,37" and "4.500" whole
K1, B = 1.5, 0.75  # BM25's usual term-frequency saturation and length normalisation
# New passages go into the second segment until it holds this share of all passages; past it
# the two are merged (a full build: about 1 s at 100k passages).
MAX_SECOND_SEGMENT = 0.1
# How English spells the words Indonesian took from it (or, through Dutch, from Latin), in
# the way Indonesian spells them: "centres" and "sentra", "creative" and "kreatif", "export" and
# "ekspor", "certification" and "sertifikasi". Applied in order to a lowercase English word.
LOANWORD_SPELLINGS = [(re.compile(pattern), spelling) for pattern, spelling in (
    (r"(?<=.)[ts]ions?$", "si"), (r"ies$", "i"), (r"ives?$", "if"), (r"(?<=[^aeiou])ers?$", "r"), (r"ph", "f"),
    (r"th", "t"), (r"ck", "k"), (r"qu", "kw"), (r"x", "ks"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"y", "i"),
    (r"([a-z])\1", r"\1"),
)]
LOANWORD_LETTERS = 5  # the letters a word and its loanword must share from their start
Terms = frozenset[tuple[str, str | None]]  # a question's words as `question_terms` gives them


_local = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def stem_words(words: list[str]) -> list[str]:
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("indonesian")
    return _local.stemmer.stemWords([w.lower() for w in words])


def stems(text: str) -> list[str]:
    """The stems BM25 counts: every word of `text` but stop words, stemmed."""
    return stem_words(content_words(text))


def stem_forms(text: str) -> list[frozenset[str]]:
    """For each stem of `text` (as `stems` gives them, each once, in order): the stem and the
    words of `text` it comes from, the forms in which another text may hold it."""
    words = content_words(text)
    forms: dict[str, set[str]] = {}
    for word, stem in zip(words, stem_words(words)):
        forms.setdefault(stem, {stem}).add(word)
    return [frozenset(f) for f in forms.values()]


def question_terms(question: str, english: bool = False) -> Terms:
    """Each content word of `question` as (its stem, and for an `english` question the start
    of its Indonesian loanword spelling, `loanword_start`): what a passage holding the word
    holds. An English stem alone rarely meets an Indonesian passage's words."""
    words = content_words(question)
    terms = dict(zip(stem_words(words), [loanword_start(w, english) if english else None for w in words]))
    return frozenset(terms.items())  # each stem once, as BM25's terms


def loanword_start(word: str, english: bool = False) -> str | None:
    """The first LOANWORD_LETTERS letters of `word` as Indonesian spells it (respelled by
    LOANWORD_SPELLINGS where the word is `english`); None for a shorter word or a figure."""
    if not word.isalpha():
        return None
    if english:
        for pattern, spelling in LOANWORD_SPELLINGS:
            word = pattern.sub(spelling, word)
    return word[:LOANWORD_LETTERS] if len(word) >= LOANWORD_LETTERS else None


def terms_held(text: str, terms: Terms) -> int:
    """How many of a question's `terms` (`question_terms`) `text` holds: by stem, or by a
    word that starts as the term's loanword spelling does."""
    words = content_words(text)
    held_stems = set(stem_words(words))
    # an Indonesian question's terms have no loanword starts: its windows' words need none either
    held_starts = {loanword_start(w) for w in words} if any(start for _, start in terms) else set()
    return sum(1 for stem, start in terms if stem in held_stems or (start is not None and start in held_starts))


def content_words(text: str) -> list[str]:
    """The words of `text` that can match another text, lowercase, in order: no question or
    function words (STOP_WORDS)."""
    return [w for w in (m.lower() for m in WORD.findall(text)) if w not in STOP_WORDS]


@dataclass(frozen=True)
class _Segment:
    """The passages at positions start.. start+len: their term ids (all, in order) and, per
    term, the passages holding it and how often (postings)."""

    start: int
    tokens: np.ndarray  # term ids of every passage, one after the other
    lengths: np.ndarray  # tokens per passage
    terms: np.ndarray  # ascending ids of the terms present
    bounds: np.ndarray  # postings of terms[i]: passages[bounds[i]:bounds[i + 1]]
    passages: np.ndarray  # positions (from `start`)
    counts: np.ndarray  # how often the term occurs in each

    @classmethod
    def of(cls, start: int, tokens: np.ndarray, lengths: np.ndarray) -> _Segment:
        size = max(len(lengths), 1)
        owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        pairs, counts = np.unique(tokens.astype(np.int64) * size + owner, return_counts=True)  # by term, then passage
        term_of, passages = np.divmod(pairs, size)
        terms, first = np.unique(term_of, return_index=True)
        return cls(start, tokens, lengths, terms, np.append(first, len(pairs)), (passages + start).astype(np.int32),
                   counts.astype(np.float32))

    def __len__(self) -> int:
        return len(self.lengths)

    @functools.cached_property
    def total_length(self) -> int:
        return int(self.lengths.sum())

    def weighted(self, at: slice, average_length: float) -> np.ndarray:
        """BM25's term-frequency part of the postings `at`, for this average passage length.
        Worked out for the question's terms only: weighing every posting whenever the average
        moves (each write) cost as much as the index is large."""
        counts = self.counts[at]
        lengths = self.lengths[self.passages[at] - self.start].astype(np.float32)
        return counts / (counts + K1 * (1 - B + B * lengths / np.float32(average_length)))

    def postings(self, term: int) -> slice:
        """Where the postings of `term` are (an empty slice if it is absent)."""
        at = np.searchsorted(self.terms, term)
        if at == len(self.terms) or self.terms[at] != term:
            return slice(0, 0)
        return slice(self.bounds[at], self.bounds[at + 1])


class LexicalIndex:
    """BM25 scores of every passage position for a question. Read-only: `extended` and
    `without` make new indexes, sharing what they can with this one."""

    def __init__(self, terms: list[list[str]] = ()):
        """`terms`: the stems of each passage (`stems(text)`), in position order."""
        # term ids, shared with the indexes made from this one: ids are only ever added (by
        # one snapshot refresh at a time), so every index reads the ids it was built with
        self._vocabulary: dict[str, int] = {}
        tokens, lengths = self._encode(terms)
        self._segments = (_Segment.of(0, tokens, lengths),)
        self._hidden = np.zeros(0, dtype=np.int64)
        self._weigh()

    def _encode(self, terms: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        ids = self._vocabulary
        tokens = np.array([ids.setdefault(t, len(ids)) for passage in terms for t in passage], dtype=np.int32)
        return tokens, np.array([len(passage) for passage in terms], dtype=np.int64)

    def _with(self, segments: tuple[_Segment, ...], hidden: np.ndarray) -> LexicalIndex:
        index = LexicalIndex.__new__(LexicalIndex)
        index._vocabulary, index._segments, index._hidden = self._vocabulary, segments, hidden
        index._weigh()
        return index

    def _weigh(self) -> None:
        size = len(self)
        self._average = sum(s.total_length for s in self._segments) / size if size else 1.0

    def __len__(self) -> int:
        return sum(len(segment) for segment in self._segments)

    def extended(self, terms: list[list[str]], hidden: np.ndarray | None = None) -> LexicalIndex:
        """This index with passages of `terms` added after its own, and the passages at
        `hidden` positions deleted (scoring 0; they still count in the statistics until the
        next full build, a small skew while they are few)."""
        first, *rest = self._segments
        tokens, lengths = self._encode(terms)
        if rest:
            tokens, lengths = np.concatenate([rest[0].tokens, tokens]), np.concatenate([rest[0].lengths, lengths])
        hidden = self._hidden if hidden is None else np.asarray(hidden, dtype=np.int64)
        if len(lengths) <= MAX_SECOND_SEGMENT * (len(first) + len(lengths)):
            return self._with((first, _Segment.of(len(first), tokens, lengths)), hidden)
        merged = _Segment.of(0, np.concatenate([first.tokens, tokens]), np.concatenate([first.lengths, lengths]))
        return self._with((merged,), hidden)

    def without(self, kept: np.ndarray) -> LexicalIndex:
        """Only the passages where `kept` (one bool per position) is true, in one segment."""
        tokens = np.concatenate([s.tokens for s in self._segments])
        lengths = np.concatenate([s.lengths for s in self._segments])
        kept = np.asarray(kept, dtype=bool)
        return self._with((_Segment.of(0, tokens[np.repeat(kept, lengths)], lengths[kept]),), self._hidden[:0])

    def scores(self, question_stems: list[str]) -> np.ndarray:
        """One BM25 score per passage; words the corpus never uses score nothing."""
        size = len(self)
        scores = np.zeros(size, dtype=np.float32)
        for stem in question_stems:  # a repeated word counts again, as in bm25s
            term = self._vocabulary.get(stem)
            if term is None:
                continue
            found = [segment.postings(term) for segment in self._segments]
            frequency = sum(at.stop - at.start for at in found)
            if not frequency:
                continue
            idf = np.float32(np.log(1 + (size - frequency + 0.5) / (frequency + 0.5)))
            for segment, at in zip(self._segments, found):
                scores[segment.passages[at]] += idf * segment.weighted(at, self._average)
        scores[self._hidden] = 0
        return scores
