"""Strip scraped pages down to the article's own paragraphs.

Mojibake (a UTF-8 page decoded twice: "Â±" for "±") is repaired first (ftfy). Then, line by
line: site menus and footers, advert markers, the "Baca juga", "Simak juga", "Tonton juga" and
"SCROLL TO CONTINUE" families of lines the big Indonesian sites insert, editor and photo
credits, captions and read-time badges go; paragraphs the page printed twice (exactly, or with
only a few words changed) are kept once.
"""

from __future__ import annotations

import re

import ftfy
from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz

# Lines that are nothing but a widget label.
_LABELS = {
    "advertisement", "iklan", "baca juga", "baca juga:", "berita lainnya", "berita terkait",
    "related", "related news", "artikel terkait", "scroll to continue with content",
    "lanjutkan membaca", "share", "bagikan", "tags", "tag", "populer", "terpopuler",
    "terkini", "·", "-", "(*)", "***", "scroll to continue", "scroll to resume content",
    "halaman selanjutnya", "selanjutnya", "artikel selanjutnya", "artikel sebelumnya", "pilihan editor",
    "video pilihan", "video terkait",
}
# Lines that begin like a link list, a video or app teaser, a credit or a caption: the
# families of detik ("Tonton juga video…", "Simak juga…"), Kompas ("Dapatkan update berita…",
# "Artikel ini telah tayang di…"), CNN/CNBC Indonesia ("[Gambas:Video CNN]"), Tempo ("Pilihan
# Editor:"), Liputan6 and Okezone ("Saksikan video…", "Cek berita dan artikel lainnya di Google News").
_PREFIXES = re.compile(
    r"^[\[(]?\s*(?:baca juga\s*[:|-]|baca selengkapnya|simak juga|lihat juga|tonton juga|saksikan juga|"
    r"simak video|tonton video|saksikan video|lihat video|video\s*:|\[?gambas\s*:|pilihan editor\s*:|"
    r"artikel ini telah tayang|dapatkan update|cek berita dan artikel|klik (?:di ?)?sini untuk|"
    r"scroll to (?:continue|resume)|berita terkait\s*:|"
    r"editor\s*:|red\s*:|reporter\s*:|penulis\s*:|pewarta\s*:|redaktur\s*:|foto\s*:|"
    r"sumber\s*(?:foto|gambar)?\s*:|ilustrasi\b|caption\s*:|copyright\b|hak cipta\b|"
    r"waktu baca\b|dibaca\s+\d|follow\b|ikuti\b.*\b(?:google news|whatsapp|telegram)\b)",
    re.IGNORECASE,
)
# Site navigation and footer vocabulary; a short line made of several of these is a menu.
_MENU_WORDS = re.compile(
    r"tentang kami|pedoman media siber|kebijakan privasi|ketentuan|panduan komunitas|"
    r"redaksi|kontak|karir|iklan|bantuan|disclaimer|info iklan|kerja sama|"
    r"peringkat penulis|cara menulis|syarat|sitemap|indeks berita",
    re.IGNORECASE,
)
_MENU_COVERAGE = 0.6
_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|all rights reserved", re.IGNORECASE)
_VERSION = re.compile(r"^version\s+\d+(?:\.\d+)+$", re.IGNORECASE)
_SOURCE_MARKER = re.compile(r"^[\w.]+\s+article$", re.IGNORECASE)  # "marketeers article"
_INLINE_ADVERT = re.compile(r"\s*ADVERTISEMENT\s*")
# Two glued words or sentences: "global.Hal", "ituIKM", "hingga12,39".
_GLUED_SENTENCE = re.compile(r"(?<=[a-z]{2})\.(?=[A-Z][a-z])")
_GLUED_ACRONYM = re.compile(r"(?<=[a-z]{3})(?=[A-Z]{2,}\b)")
_GLUED_NUMBER = re.compile(r"(?<=[a-z]{3})(?=\d+(?:,\d+)?\s)")
_DATELINE_PREFIX = re.compile(
    r"^(?:[A-Z][\w.]*,\s+)?[A-Z][A-Za-z ]{2,30}?\s*(?:\([A-Za-z]+\))?\s*(?:–|—|--|-)\s+(?=[A-Z\"“])"
)
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w)\s+([.,;:!?)](?:\s|$))")
# "(*)" or reporters' codes "(LOK)", "(ynt / d03 / d09)" after the last sentence.
_CODE = r"(?:[A-Za-z]{2,5}\d*|[A-Za-z]\d{1,3})"
_TRAILER = re.compile(rf"\s*\(\*\)\s*$|(?<=[.!?\"”])\s*\((?:{_CODE}\s*/\s*)*{_CODE}\)\s*$")
_DATELINE_SEARCH_PARAGRAPHS = 3
NEAR_DUPLICATE = 0.9
_MIN_WORDS_FOR_NEAR_DUPLICATE = 8
# Near repeats are looked for among candidates that share many words (MinHash LSH over each
# paragraph's set of words; a repeat with a few words changed shares most of them), not among
# all earlier paragraphs: that keeps a 1,000-paragraph page linear instead of a million
# comparisons. Each paragraph is compared with at most _MAX_CANDIDATES of them.
MAX_LINE_CHARS = 10_000
# Navigation runs and copyright lines are a few hundred characters; a longer line is text, and
# not scanning it spares a regular expression that would hold the GIL for seconds on a 5 MB line.
_MENU_MAX_CHARS = 2000
_PERMUTATIONS, _MAX_CANDIDATES = 64, 16
# 16 bands of 4 rows: paragraphs whose word sets have Jaccard similarity 0.5 meet in a band
# with probability 0.64, at 0.7 with 0.98 (given, not computed: datasketch would integrate
# for its own choice on every page).
_LSH_BANDS = (16, 4)


def is_boilerplate(line: str) -> bool:
    """True for lines that are page furniture rather than article text."""
    stripped = line.strip()
    lowered = stripped.lower()
    if not stripped or lowered in _LABELS:
        return True
    if _PREFIXES.match(stripped) or _VERSION.match(stripped) or _SOURCE_MARKER.match(stripped):
        return True
    if len(stripped) <= _MENU_MAX_CHARS and _COPYRIGHT.search(stripped) and len(stripped.split()) <= 15:
        return True
    return _is_menu(stripped)


def _is_menu(line: str) -> bool:
    """Navigation links run together: mostly menu vocabulary, several distinct terms."""
    if len(line) > _MENU_MAX_CHARS:
        return False
    found = _MENU_WORDS.findall(line)
    letters = sum(c.isalpha() for c in line)
    covered = sum(len(term.replace(" ", "")) for term in found)
    return len({t.lower() for t in found}) >= 2 and covered >= _MENU_COVERAGE * letters


def _is_credit(line: str) -> bool:
    return bool(re.match(r"^(?:foto|sumber\s*(?:foto|gambar)?)\s*:", line.strip(), re.IGNORECASE))


def _caption_lines(lines: list[str]) -> set[int]:
    """Indexes of photo captions: lines beside a photo credit, or ending in 'ilustrasi'."""
    captions = set()
    for i, line in enumerate(lines):
        if _is_credit(line):
            captions.update(j for j in (i - 1, i + 1) if 0 <= j < len(lines))
        elif re.search(r"\bilustrasi\.?\s*$", line.strip(), re.IGNORECASE):
            captions.add(i)
    return captions


def repair_line(line: str) -> str:
    """Undo scraping damage inside a line: inline advert markers, glued words, datelines."""
    # Runs of spaces first: the patterns below start with \s*, which on a run of n spaces
    # would be tried from each of them (n² steps: 100 KB of spaces took a minute).
    line = re.sub(r"[ \t]+", " ", line)
    line = _INLINE_ADVERT.sub(" ", line)
    line = _GLUED_SENTENCE.sub(". ", line)
    line = _GLUED_ACRONYM.sub(" ", line)
    line = _GLUED_NUMBER.sub(" ", line)
    line = _TRAILER.sub("", line)
    line = _SPACE_BEFORE_PUNCT.sub(r"\1", line)
    return re.sub(r"[ \t]+", " ", line).strip()


def strip_dateline(paragraphs: list[str]) -> list[str]:
    """Drop the "KETIK, JAKARTA – " or "Jakarta – " dateline that opens the story (it may
    follow a teaser line)."""
    for i, paragraph in enumerate(paragraphs[:_DATELINE_SEARCH_PARAGRAPHS]):
        stripped = _DATELINE_PREFIX.sub("", paragraph, count=1)
        if stripped != paragraph:
            return paragraphs[:i] + [stripped] + paragraphs[i + 1 :]
    return paragraphs


def _normalized(paragraph: str) -> str:
    return re.sub(r"\W+", " ", paragraph.lower()).strip()


def is_near_duplicate(a: str, b: str) -> bool:
    """True when two paragraphs are the same text, or the same text with a few words changed
    (a re-printed block whose dateline differs, say)."""
    return _similar(_normalized(a), _normalized(b))


def _similar(na: str, nb: str) -> bool:
    """`is_near_duplicate` of two normalised paragraphs."""
    if na == nb:
        return True
    if min(len(na.split()), len(nb.split())) < _MIN_WORDS_FOR_NEAR_DUPLICATE:
        return False
    return fuzz.ratio(na, nb, score_cutoff=NEAR_DUPLICATE * 100) > 0


def drop_repeats(paragraphs: list[str]) -> list[str]:
    """Each paragraph once: the first of exact repeats (after normalising case and
    punctuation) and of near repeats (`is_near_duplicate`) is kept. Near-linear in the page."""
    normalized = [_normalized(p) for p in paragraphs]
    long_enough = [i for i, n in enumerate(normalized) if len(n.split()) >= _MIN_WORDS_FOR_NEAR_DUPLICATE]
    signatures = dict(zip(long_enough, MinHash.bulk(
        [{w.encode() for w in normalized[i].split()} for i in long_enough], num_perm=_PERMUTATIONS)))
    candidates = MinHashLSH(num_perm=_PERMUTATIONS, params=_LSH_BANDS)
    seen: set[str] = set()
    kept: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        if normalized[i] in seen:
            continue
        if i in signatures:
            similar = candidates.query(signatures[i])[:_MAX_CANDIDATES]
            if any(_similar(normalized[i], normalized[j]) for j in similar):
                continue
            if len(similar) < _MAX_CANDIDATES:  # a crowded neighbourhood gets no more members
                candidates.insert(i, signatures[i])
        seen.add(normalized[i])
        kept.append(paragraph)
    return kept


def _is_signature(line: str) -> bool:
    """A reporter's name or initials left at the end of a page ("Albi")."""
    return len(line.split()) <= 3 and not re.search(r"[.!?:\"”]$", line)


# ftfy's defaults, except that curly quotes stay curly (they are the text as published) and
# control characters are left as they came: what shows them escapes them (the CLI's
# `printable`), and a change of text here would change the article's content hash.
_FIX_TEXT = ftfy.TextFixerConfig(uncurl_quotes=False, remove_terminal_escapes=False, remove_control_chars=False)


def repair_text(text: str) -> str:
    """`text` with mojibake undone ("Â±" → "±", "â€œ" → "“"); correct text comes back as it
    was, apart from Unicode normalization (NFC)."""
    return ftfy.fix_text(text, _FIX_TEXT)


def page_lines(text: str) -> list[str]:
    """The lines of a page, its mojibake repaired, a line longer than MAX_LINE_CHARS cut after
    the last sentence end (or else space) before that length. No paragraph of news runs that
    long; bounding lines bounds every regular expression run on one, each of which holds the
    GIL (and so every other request) until it ends: on a 5 MB line, a third of a second each."""
    lines = []
    for line in repair_text(text).splitlines():
        while len(line) > MAX_LINE_CHARS:
            window = line[:MAX_LINE_CHARS]
            sentence_end = max(window.rfind(". "), window.rfind("? "), window.rfind("! ")) + 1
            space = window.rfind(" ") + 1
            cut = next((c for c in (sentence_end, space) if c > MAX_LINE_CHARS // 2), MAX_LINE_CHARS)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def clean_lines(lines: list[str]) -> list[str]:
    """The article paragraphs among `lines`, repaired, each once."""
    captions = _caption_lines(lines)
    paragraphs = [
        repair_line(line)
        for i, line in enumerate(lines)
        if i not in captions and not is_boilerplate(line)
    ]
    paragraphs = [p for p in paragraphs if p and not is_boilerplate(p)]
    while paragraphs and _is_signature(paragraphs[-1]):
        paragraphs.pop()
    return drop_repeats(strip_dateline(paragraphs))
