import datetime as dt

import pytest
from hypothesis import given, strategies as st

from qa.dates import first_dateline, header_date, parse_date


@pytest.mark.parametrize(
    "line, expected",
    [
        ("15 November 2024 9:46 WIB", dt.date(2024, 11, 15)),
        ("Rabu 10 Aug 2022 03:53 WIB", dt.date(2022, 8, 10)),
        ("Senin, 5 Agustus 2024 | 10:00 WIB", dt.date(2024, 8, 5)),
        ("2 Januari 2023", dt.date(2023, 1, 2)),
    ],
)
def test_header_lines(line, expected):
    assert header_date(line) == expected


def test_a_sentence_with_a_date_is_not_a_header():
    assert header_date("Acara dilaksanakan pada 12 November 2024 di Jakarta.") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("kata Reni, Kamis (4/1/2024).", dt.date(2024, 1, 4)),
        ("katanya, Selasa (30/05/2023).", dt.date(2023, 5, 30)),
        ("di Jakarta, Minggu (7/1/2023).", dt.date(2023, 1, 7)),
        ("Jumat (6/1). Lalu Minggu (7/1/2023)", dt.date(2023, 1, 7)),  # no year: skipped
        ("Kamis (31/2/2024)", None),  # no such day
    ],
)
def test_datelines(text, expected):
    assert first_dateline(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-11-15", dt.date(2024, 11, 15)),
        ("2024-11-15T09:46:00+07:00", dt.date(2024, 11, 15)),
        ("15/11/2024", dt.date(2024, 11, 15)),
        ("15 Nopember 2024", dt.date(2024, 11, 15)),
        ("kemarin", None),
        ("2024-13-01", None),
    ],
)
def test_parse_date_values(value, expected):
    assert parse_date(value) == expected


# Property: any text, however odd, gives a date or None; it never raises.
DATE_LIKE = st.one_of(
    st.text(),
    st.from_regex(r"\d{1,5}[-/ .]\d{1,3}[-/ .]\d{1,5}", fullmatch=True),
    st.builds(lambda d, m, y: f"{d} {m} {y}", st.integers(-5, 40), st.sampled_from(["Januari", "Agt", "Mei", "x"]),
              st.integers(0, 99999)),
)


@given(DATE_LIKE)
def test_any_text_parses_to_a_date_or_none(text):
    assert parse_date(text) is None or isinstance(parse_date(text), dt.date)
    header_date(text)
    first_dateline(text)
