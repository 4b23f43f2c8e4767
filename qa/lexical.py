"""Word-level retrieval: BM25 (bm25s) over Indonesian stems (PyStemmer), without stop words.

It catches what embeddings blur: figures, names, acronyms and rare words. Its scores are
fused with the dense ones in `qa.ranking`.
"""

from __future__ import annotations

import re
import threading

import bm25s
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
_EMPTY = "\x00"  # bm25s needs a vocabulary; an index of stop words alone gets this one word


_local = threading.local()  # PyStemmer objects are not thread-safe: one per thread


def stem_words(words: list[str]) -> list[str]:
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("indonesian")
    return _local.stemmer.stemWords([w.lower() for w in words])


def stems(text: str) -> list[str]:
    """The stems BM25 counts: every word of `text` but stop words, stemmed."""
    return stem_words([w for w in (m.lower() for m in WORD.findall(text)) if w not in STOP_WORDS])


class LexicalIndex:
    """BM25 scores of every passage position for a question."""

    def __init__(self, terms: list[list[str]]):
        """`terms`: the stems of each passage (`stems(text)`), in position order."""
        self._size = len(terms)
        self._retriever = None
        if terms:
            self._retriever = bm25s.BM25()
            # bm25s needs a vocabulary: a corpus of stop words alone gets one placeholder word
            corpus = terms if any(terms) else [[_EMPTY] for _ in terms]
            self._retriever.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return self._size

    def scores(self, question_stems: list[str]) -> np.ndarray:
        """One BM25 score per passage; words the corpus never uses score nothing."""
        known = [s for s in question_stems if self._retriever and s in self._retriever.vocab_dict]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return self._retriever.get_scores(known)
