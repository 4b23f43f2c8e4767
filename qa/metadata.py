"""Title, publisher and publication date, read from the text of a scraped page.

Nothing is invented: a page that names no publisher gets source None, one with no headline
line gets title None.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from qa.cleaning import is_boilerplate
from qa.dates import first_dateline, header_date

# Publishers recognised by how their pages sign themselves, as (pattern, name as they write it).
PUBLISHERS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\bkumparan(?:\.com)?\b|PT Dynamo Media Network"), "kumparan"),
    (re.compile(r"\bREPUBLIKA\.CO\.ID\b|\brepublika\.co\.id\b"), "Republika"),
    (re.compile(r"^marketeers article$|\bmarketeers\.com\b", re.IGNORECASE | re.MULTILINE), "marketeers"),
    (re.compile(r"^KETIK,\s|\bketik\.co\.id\b", re.MULTILINE), "KETIK"),
    (re.compile(r"\bKOMPAS\.com\b|\bkompas\.(?:com|id)\b"), "Kompas"),
    (re.compile(r"\((?:ANTARA|Antara)\)\s*[-–—]|\bantaranews\.com\b"), "ANTARA"),
    (re.compile(r"\bdetik(?:com|finance|news|inet)\b|\bdetik\.com\b"), "detik"),
    (re.compile(r"\bTEMPO\.CO\b|\btempo\.co\b"), "Tempo"),
    (re.compile(r"\bBisnis\.com\b|\bbisnis\.com\b"), "Bisnis.com"),
    (re.compile(r"\bLiputan6\.com\b|\bliputan6\.com\b"), "Liputan6.com"),
    (re.compile(r"\bKONTAN\.CO\.ID\b|\bkontan\.co\.id\b"), "Kontan"),
    (re.compile(r"\bcnbcindonesia\.com\b"), "CNBC Indonesia"),
    (re.compile(r"\bcnnindonesia\.com\b"), "CNN Indonesia"),
]
# "NAME, CITY – ..." at the start of a paragraph names the publisher; "Jakarta – ..." does not.
_DATELINE_PUBLISHER = re.compile(
    r"^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z]+)*),\s+[A-Z][A-Za-z ]{2,30}?\s*(?:–|—|--|-)\s", re.MULTILINE
)
_HEADER_SCAN_LINES = 15
_MAX_TITLE_WORDS = 25


@dataclass
class Metadata:
    title: str | None = None
    source: str | None = None
    date: dt.date | None = None
    # Lines that held the title and the date header: not part of the article body.
    header_lines: set[int] = field(default_factory=set)


# A page names its publisher in its header or footer (a dateline, a "Sumber:" line).
_SOURCE_SCAN_CHARS = 20_000


def find_source(text: str) -> str | None:
    """The publisher the page names (in its first or last _SOURCE_SCAN_CHARS), or None."""
    if len(text) > 2 * _SOURCE_SCAN_CHARS:  # a search through megabytes would hold the GIL for seconds
        text = text[:_SOURCE_SCAN_CHARS] + "\n" + text[-_SOURCE_SCAN_CHARS:]
    found = [(match.start(), name) for pattern, name in PUBLISHERS if (match := pattern.search(text))]
    if found:
        return min(found)[1]
    if match := _DATELINE_PUBLISHER.search(text):
        return match[1]
    return None


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= _MAX_TITLE_WORDS and not line.rstrip().endswith((".", ":", ","))


def _has_body_after(lines: list[str], i: int) -> bool:
    """A headline heads something: a one-line article is all body."""
    return any(not is_boilerplate(line) and not header_date(line) for line in lines[i + 1 :])


def read_header(lines: list[str]) -> Metadata:
    """Title, date header and publisher from the top of a page (before the body begins)."""
    meta = Metadata(source=find_source("\n".join(lines)))
    for i, line in enumerate(lines[:_HEADER_SCAN_LINES]):
        if meta.date is None and (found := header_date(line)):
            meta.date = found
            meta.header_lines.add(i)
        elif is_boilerplate(line):
            continue
        elif meta.title is None and _looks_like_headline(line) and _has_body_after(lines, i):
            meta.title = line.strip()
            meta.header_lines.add(i)
        else:
            break  # the body has begun
    return meta


def body_date(body: str) -> dt.date | None:
    """Publication date from the body's first dateline ("Kamis (4/1/2024)")."""
    return first_dateline(body)
