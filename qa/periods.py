"""The period a passage speaks of, and the period a question asks about.

A passage's figures belong to a time: "sepanjang 2023", "per Oktober 2024", "pada tahun 2022",
or words that only the article's date resolves ("tahun lalu" in a January 2023 article is 2022;
"hingga saat ini" is the article's date). Datelines ("Kamis (15/11)") say when a statement was
made, not what it is about, and are left out. A passage with no time words speaks of its
article's date.

A question names a period the same way, resolved against today ("thn 2024", "Oktober 2024",
"tahun lalu"), or asks for the latest data ("terbaru", "saat ini", "latest").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from qa.dates import MONTHS, WEEKDAY, parse_date

_MONTH_NAMES = "|".join(sorted((m for m in MONTHS if len(m) >= 3), key=len, reverse=True))
_YEAR = r"(?<![\d.,:/])(?:19|20)\d\d(?![\d]|[.,]\d)"
_TO = r"\s*(?:[-–]|s/d|(?:hingga|sampai)(?:\s+dengan)?|to|through|until)\s*"  # "Januari-Maret", "January to March"
# how many years back: "dua tahun lalu", "two years ago"
_COUNTS = {word: number for number, words in enumerate(
    ["", "satu one", "dua two", "tiga three", "empat four", "lima five", "enam six", "tujuh seven", "delapan eight",
     "sembilan nine", "sepuluh ten"]) for word in words.split()}
_COUNT = r"\d{1,2}|" + "|".join(_COUNTS)
# Each alternative is one named group; `match.lastgroup` says which kind of reference it is.
_REFERENCE = re.compile(
    "|".join(
        [
            rf"(?P<dateline>\b{WEEKDAY}\s*,?\s*\(\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\))",
            rf"(?P<on_day>\b(?P<day>\d{{1,2}})(?:\s*[-–]\s*(?P<last_day>\d{{1,2}}))?\s+(?P<day_month>{_MONTH_NAMES})\.?"
            rf"\s+(?P<day_year>{_YEAR}))",
            rf"(?P<in_month>\b(?P<month>{_MONTH_NAMES})\.?(?:{_TO}(?P<to_month>{_MONTH_NAMES})\.?)?"
            rf"\s+(?P<month_year>{_YEAR}))",
            # "sejak 2020" asks about every year from 2020 on, not 2020 alone
            rf"(?P<since>\b(?:sejak|since)\s+(?:(?:tahun|the\s+year)\s+)?(?P<since_year>{_YEAR}))",
            rf"(?P<in_year>{_YEAR})",
            rf"(?P<years_ago>\b(?:(?P<count>{_COUNT})\s+)?tahun\s+(?:yang\s+)?(?:lalu|sebelumnya|kemarin)\b"
            rf"|\b(?P<count_en>{_COUNT})\s+years?\s+ago\b|\blast\s+year\b|\bsetahun\s+(?:yang\s+)?lalu\b)",
            r"(?P<this_year>\b(?:tahun\s+ini|this\s+year)\b)",
            r"(?P<next_year>\b(?:tahun\s+depan|next\s+year)\b)",
            r"(?P<last_month>\b(?:bulan\s+(?:yang\s+)?lalu|last\s+month)\b)",
            r"(?P<this_month>\b(?:bulan\s+ini|this\s+month)\b)",
            r"(?P<now>\b(?:(?:hingga|sampai)\s+(?:saat\s+ini|kini|sekarang)|saat\s+ini|dewasa\s+ini"
            r"|sekarang|kini|terkini|terbaru|terakhir|hari\s+ini|latest|most\s+recent|current(?:ly)?"
            r"|recent|now|today|so\s+far|to\s+date)\b)",
        ]
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Period:
    """A closed range of days."""

    start: dt.date
    end: dt.date

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(day, day)

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period | None:
        """The period between two ISO dates, as stored; None when either is missing."""
        return cls(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) if start and end else None

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end

    def union(self, other: Period) -> Period:
        return Period(min(self.start, other.start), max(self.end, other.end))

    @property
    def label(self) -> str:
        """"2024", "2024-10", "2024-11-15", or a range of those."""
        start, end = _unit_label(self.start, self.end)
        return start if start == end else f"{start}/{end}"

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def _unit_label(start: dt.date, end: dt.date) -> tuple[str, str]:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return str(start.year), str(end.year)
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        return f"{start:%Y-%m}", f"{end:%Y-%m}"
    return start.isoformat(), end.isoformat()


def _shift_month(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _resolve(match: re.Match, anchor: dt.date | None) -> Period | None:
    """The period one reference stands for; relative ones need `anchor` (the article's date)."""
    kind = match.lastgroup
    try:
        if kind == "on_day":
            year, month = int(match["day_year"]), MONTHS[match["day_month"].lower()]
            first = dt.date(year, month, int(match["day"]))
            return Period(first, dt.date(year, month, int(match["last_day"] or match["day"])))
        if kind == "in_month":
            year = int(match["month_year"])
            first = Period.month(year, MONTHS[match["month"].lower()])
            last = Period.month(year, MONTHS[match["to_month"].lower()]) if match["to_month"] else first
            return first.union(last)
    except ValueError:  # "31 Februari 2024"
        return None
    if kind == "in_year":
        return Period.year(int(match["in_year"]))
    if kind == "since" and (anchor is None or anchor.year < int(match["since_year"])):
        return Period.year(int(match["since_year"]))
    if anchor is None:
        return None
    try:
        if kind == "since":
            return Period(dt.date(int(match["since_year"]), 1, 1), anchor)
        if kind == "years_ago":
            count = (match["count"] or match["count_en"] or "1").lower()
            return Period.year(anchor.year - int(_COUNTS.get(count, count)))
        if kind in ("this_year", "next_year"):
            return Period.year(anchor.year + (kind == "next_year"))
        if kind in ("last_month", "this_month"):
            return Period.month(*_shift_month(anchor, -1 if kind == "last_month" else 0))
    except ValueError:  # past the calendar's ends: "tahun depan" of a 9999-12-31 placeholder date
        return None
    if kind == "now":
        return Period.day(anchor)
    return None  # a dateline: when something was said, not what it is about


def time_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Where text[start:end] names a time: dates, months, years, datelines, relative words."""
    end = len(text) if end is None else end
    return [m.span() for m in _REFERENCE.finditer(text, start, end) if m.lastgroup != "now"]


def without_times(text: str, lead: re.Pattern | None = None) -> str:
    """`text` with each time it names blanked out, with the words before it that `lead` finds
    (ending where the time starts: "pada tahun" of "pada tahun 2024")."""
    for start, end in reversed(time_spans(text)):
        led = lead.search(text, 0, start) if lead else None
        text = text[: led.start() if led else start] + " " + text[end:]
    return text


_WRITTEN_ALIKE = re.compile(rf"\d+|\b(?:{_MONTH_NAMES})\b", re.IGNORECASE)


def dated_words(text: str) -> list[str]:
    """The numbers and month names of the times `text` names ("2024", "Oktober"): a passage says
    them in the same words when it speaks of the same time, while a relative time ("tahun
    lalu", "saat ini") in a passage is counted from its own date, not the question's."""
    return [m.group() for start, end in time_spans(text) for m in _WRITTEN_ALIKE.finditer(text, start, end)]


def names_a_period(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] says what time it speaks of: a time reference other than a
    dateline ("kata Reni, Kamis (4/1/2024)" says when it was said, not what about) or a word
    for now."""
    end = len(text) if end is None else end
    return any(m.lastgroup not in ("dateline", "now") for m in _REFERENCE.finditer(text, start, end))


def passage_period(text: str, article_date: str | dt.date | None) -> Period | None:
    """The span of every time the passage refers to, or its article's date if it names none."""
    anchor = parse_date(article_date) if isinstance(article_date, str) else article_date
    period = None
    for match in _REFERENCE.finditer(text):
        if found := _resolve(match, anchor):
            period = found if period is None else period.union(found)
    if period is None and anchor is not None:
        period = Period.day(anchor)
    return period


@dataclass(frozen=True)
class AskedPeriod:
    """What a question says about time: a period, a wish for the latest data, or neither."""

    period: Period | None = None
    latest: bool = False


def question_period(question: str, today: dt.date | None = None) -> AskedPeriod:
    today = today or dt.date.today()
    period, latest = None, False
    for match in _REFERENCE.finditer(question):
        if match.lastgroup == "now":
            latest = True
        elif found := _resolve(match, today):
            period = found if period is None else period.union(found)
    return AskedPeriod(period, latest and period is None)
