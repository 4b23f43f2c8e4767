"""Dates as Indonesian news pages print them.

Forms seen: "15 November 2024 9:46 WIB", "Rabu 10 Aug 2022 03:53 WIB", "Senin, 5 Agustus 2024",
datelines such as "Kamis (4/1/2024)" or "Selasa (30/05/2023)", and ISO dates from metadata.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nopember": 11, "nov": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}
WEEKDAY = (
    r"(?:Senin|Selasa|Rabu|Kamis|Jum'?at|Sabtu|Minggu|Ahad"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r"|Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
)
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_TIME = r"(?:[,|\s-]+(?:pukul\s+)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)?\s*(?:WIB|WITA|WIT|GMT[+-]?\d*)?"

# "Rabu, 10 Agustus 2022 03:53 WIB": the whole line is a date, as page headers print it.
_HEADER_LINE = re.compile(
    rf"^\s*(?:{WEEKDAY},?\s+)?(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}}){_TIME}\s*$", re.IGNORECASE
)
# "15 Agustus 2024" anywhere in a value.
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}})\b", re.IGNORECASE)
# "Kamis (4/1/2024)", "Selasa (30/05/2023)": the dateline of a statement.
_DATELINE = re.compile(rf"\b{WEEKDAY}\s*,?\s*\((\d{{1,2}})/(\d{{1,2}})/(\d{{4}})\)", re.IGNORECASE)
_ISO = re.compile(r"^\s*(\d{4})[-/](\d{2})[-/](\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")
_NUMERIC = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_number(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def parse_date(value: str) -> dt.date | None:
    """Parse one date value (ISO, "15/11/2024", "15 November 2024 9:46 WIB", a dateline)."""
    if match := _ISO.match(value):
        return _make(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.match(value):
        return _make(int(match[3]), int(match[2]), int(match[1]))
    if match := _DAY_MONTH_YEAR.search(value):
        return _make(int(match[3]), _month_number(match[2]), int(match[1]))
    if match := _DATELINE.search(value):
        return _make(int(match[3]), int(match[2]), int(match[1]))
    return None


def header_date(line: str) -> dt.date | None:
    """The date if `line` is nothing but a date (with optional weekday and time)."""
    if match := _HEADER_LINE.match(line):
        return _make(int(match[3]), _month_number(match[2]), int(match[1]))
    return None


def first_dateline(text: str) -> dt.date | None:
    """The first valid "Weekday (d/m/yyyy)" dateline in `text`."""
    for match in _DATELINE.finditer(text):
        if found := _make(int(match[3]), int(match[2]), int(match[1])):
            return found
    return None


def first_written_date(text: str) -> dt.date | None:
    """The first valid date written out in `text` ("Jakarta, 15 November 2024")."""
    for match in _DAY_MONTH_YEAR.finditer(text):
        if found := _make(int(match[3]), _month_number(match[2]), int(match[1])):
            return found
    return None
