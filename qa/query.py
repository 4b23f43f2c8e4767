"""A question and its options, checked once for every interface (CLI, HTTP, Python)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from qa.answers import answer_type, figures, keywords
from qa.definitions import asked_acronym, asks_for_a_definition
from qa.errors import InvalidInputError
from qa.lexical import stem_forms, stems
from qa.periods import AskedPeriod, dated_words, question_period, without_times

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # NUL, escapes, undecodable bytes
_WORD = re.compile(r"[^\W_]")
MIN_TOP_K, MAX_TOP_K, DEFAULT_TOP_K = 1, 50, 5
MAX_OFFSET = 1000  # results are paged within the candidates found, far fewer than this
SORTS = ("relevance", "newest")  # results' order: best answer first, or newest article first


def renamed_note(used: dict[str, str]) -> str:
    """What an interface says when options come by their old names ({old: new}): they still
    work for one release (README, "Option names")."""
    return ("deprecated option name(s), accepted until the next release: "
            + ", ".join(f"{old} (use {new})" for old, new in used.items()))


# Chat spellings written out for the reader, which learned from edited text ("brp tenaga kerja
# yg diserap" is read as "berapa tenaga kerja yang diserap"): common Indonesian abbreviations.
CHAT_SPELLINGS = {
    "brp": "berapa", "brapa": "berapa", "yg": "yang", "thn": "tahun", "bln": "bulan", "dgn": "dengan",
    "utk": "untuk", "stlh": "setelah", "sblm": "sebelum", "thd": "terhadap", "tdk": "tidak", "gak": "tidak",
    "sdh": "sudah", "udh": "sudah", "blm": "belum", "knp": "kenapa", "gmn": "bagaimana",
    "gimana": "bagaimana", "bgmn": "bagaimana", "dmn": "di mana", "kpn": "kapan", "org": "orang",
    "jt": "juta", "rb": "ribu", "sbg": "sebagai", "krn": "karena", "spt": "seperti", "tsb": "tersebut",
    "jg": "juga", "sj": "saja", "ttg": "tentang", "dlm": "dalam",
}
_CHAT_WORD = re.compile(r"(?<![\w.])(?:" + "|".join(CHAT_SPELLINGS) + r")\b", re.IGNORECASE)


def written_out(text: str) -> str:
    """`text` with its chat spellings written out ("kpn pameran digelar" → "kapan pameran digelar")."""
    return " ".join(_CHAT_WORD.sub(lambda m: CHAT_SPELLINGS[m.group(0).lower()], text).split())


# words that only lead to a time ("pada tahun 2024", "in 2024") go with it
_TIME_LEAD = re.compile(
    r"\b(?=\S)(?:(?:in|on|during|per|pada|sepanjang|selama|hingga|sampai)\s+)?"
    r"(?:(?:tahun|thn|bulan|bln|tanggal|tgl|year|month)\s+)?$", re.IGNORECASE)
# English's function words, none of them an Indonesian word. A question is asked in English
# ("who is the Director General of IKMA?", "who discovered Helicobacter pylori?") when it starts
# with an English question word, or when two or more of its lower-case words, a quarter of them or
# more, are English function words; and it asks with no Indonesian question word (FacQA's "Siapa
# pengarang buku The Clash of Civilizations ...?" names an English title). The reader learnt from
# Indonesian questions, and is surer of their answers (`qa.short_answer`).
ENGLISH_WORDS = frozenset(
    "a an and are as at be been by can could did do does for from had has have how in into is it its many "
    "much of on or than that the their there these this to was were what when where which who whom whose "
    "why will with would".split())
ENGLISH_QUESTION_START = frozenset("what who whom whose when where which why how is are was were did does do can "
                                   "could will would".split())
INDONESIAN_QUESTION_WORDS = frozenset("apa apakah siapa siapakah berapa berapakah brp kapan kapankah kpn mana "
                                      "manakah dimana dimanakah dmn bagaimana gimana bgmn gmn mengapa kenapa knp".split())
ENGLISH_SHARE = 0.25
# A source filter names publishers: more than this is a mistake (or an attack), not a search.
MAX_SOURCES, MAX_SOURCE_CHARS = 100, 200


def _iso_date(name: str, value: str | dt.date | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InvalidInputError(f"{name} must be a date like 2024-11-15, got {value!r}") from None


@dataclass
class Query:
    question: str
    top_k: int = DEFAULT_TOP_K
    date_from: str | None = None
    date_to: str | None = None
    sources: list[str] = field(default_factory=list)
    offset: int = 0
    sort: str = SORTS[0]

    def __post_init__(self):
        if not isinstance(self.question, str) or not self.question.strip():
            raise InvalidInputError("question must not be empty")
        self.question = self.question.strip()
        if len(self.question) > MAX_QUESTION_CHARS:
            raise InvalidInputError(
                f"question is too long ({len(self.question)} characters; at most {MAX_QUESTION_CHARS})"
            )
        if _CONTROL.search(self.question):
            raise InvalidInputError("question contains control characters (binary data?)")
        if not _WORD.search(self.question):
            raise InvalidInputError("question has no words (letters or digits)")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int):
            raise InvalidInputError(f"top_k must be a whole number, got {self.top_k!r}")
        if not MIN_TOP_K <= self.top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k must be between {MIN_TOP_K} and {MAX_TOP_K}, got {self.top_k}")
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or not 0 <= self.offset <= MAX_OFFSET:
            raise InvalidInputError(f"offset must be a whole number from 0 to {MAX_OFFSET}, got {self.offset!r}")
        if self.sort not in SORTS:
            raise InvalidInputError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        self.date_from = _iso_date("date_from", self.date_from)
        self.date_to = _iso_date("date_to", self.date_to)
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInputError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        if isinstance(self.sources, str):
            self.sources = [self.sources]
        self.sources = [s.strip() for s in self.sources or [] if isinstance(s, str) and s.strip()]
        if len(self.sources) > MAX_SOURCES:
            raise InvalidInputError(f"too many sources ({len(self.sources)}; at most {MAX_SOURCES})")
        if any(len(s) > MAX_SOURCE_CHARS for s in self.sources):
            raise InvalidInputError(f"a source name is longer than {MAX_SOURCE_CHARS} characters")


@dataclass
class QueryPlan:
    """What the ranking needs to know about a question, worked out once."""

    question: str
    stems: list[str]  # every word's stem: what an answer that only repeats the question repeats
    # BM25 terms: the content stems and the numbers and months of its times (`dated_words`), not
    # the relative ones, which a passage counts from another date
    lexical_stems: list[str]
    content_stems: list[str]  # the stems without the question's time words: what the answer sits beside
    content_forms: list[frozenset[str]]  # each content stem with the question's words it comes from
    untimed: str  # what the reader reads: the question without its time words (the period is the ranking's
    # job), chat spellings written out
    written: str  # the question with its chat spellings written out: what its kind and vetoes read ("kpn": when)
    words: set[str]  # the question's words to highlight
    kind: str  # the kind of answer asked for (qa.answers.answer_type)
    asked: AskedPeriod
    figures: list[re.Pattern]  # figures the question quotes ("10.514 sentra"): a passage with them is the one meant
    english: bool  # asked in English (ENGLISH_WORDS)
    acronym: str | None = None  # the word asked to be spelled out ("apa itu IKM?": "IKM"), qa.definitions
    definition: bool = False  # asks what a thing is ("apa itu ...?", "what does ... mean?"), qa.definitions

    @classmethod
    def of(cls, question: str, today: dt.date | None = None) -> QueryPlan:
        asked = question_period(question, today)
        acronym = asked_acronym(question)
        untimed = without_times(question, _TIME_LEAD)
        content_stems = stems(untimed)
        written = written_out(question) or question
        return cls(
            question=question,
            stems=stems(question),
            lexical_stems=content_stems + stems(" ".join(dated_words(question))),
            content_stems=content_stems,
            content_forms=stem_forms(untimed),
            untimed=written_out(untimed) or question,
            written=written,
            words=keywords(question),
            kind=answer_type(written),
            asked=asked,
            figures=[_figure_pattern(question[start:end]) for start, end in figures(question)],
            english=is_english(question),
            acronym=acronym,
            definition=acronym is not None or asks_for_a_definition(question),
        )


def is_english(question: str) -> bool:
    """Whether `question` is asked in English (see ENGLISH_WORDS)."""
    words = re.findall(r"[^\W\d_]+", question)
    lower = [w.lower() for w in words]
    if not words or INDONESIAN_QUESTION_WORDS & set(lower):
        return False
    plain = [w for w in words if w.islower()]  # capitalised words are names and titles
    english = sum(w in ENGLISH_WORDS for w in plain)
    return lower[0] in ENGLISH_QUESTION_START or (english >= 2 and english >= ENGLISH_SHARE * len(plain))


def _figure_pattern(figure: str) -> re.Pattern:
    """The number of a quoted figure, matched whole: "4,52" in "4,52 juta", not in "14,52"."""
    number = re.search(r"\d+(?:[.,]\d+)*", figure).group()
    return re.compile(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)")
