import datetime as dt
import re

import pytest
from hypothesis import given, strategies as st

from qa.periods import Period, dated_words, names_a_period, passage_period, question_period, without_times

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    "text, article_date, label",
    [
        ("IKM mencapai 4,52 juta unit per Oktober 2024.", "2024-11-15", "2024-10"),
        ("Sepanjang tahun 2023 IKM menyerap 65,52% pekerja.", "2024-01-04", "2023"),
        ("Sepanjang tahun lalu, jumlah IKM mencapai 4,4 juta.", "2023-01-07", "2022"),
        ("Tercatat, pada tahun lalu IKM mampu menyerap 65,52%.", "2024-01-04", "2023"),
        ("hingga saat ini IKM telah menyerap 12,37 juta tenaga kerja.", "2024-11-15", "2024-11-15"),
        ("Ekspor naik bulan lalu.", "2024-01-04", "2023-12"),
        ("Target tahun ini dan tahun depan.", "2024-03-01", "2024/2025"),
        ("Acara dilaksanakan pada 12-17 November 2024 di Jakarta.", "2024-11-15", "2024-11-12/2024-11-17"),
        ("Ekspor naik pada Januari-Maret 2024.", "2024-05-02", "2024-01/2024-03"),  # a range of months
        ("Dua tahun lalu IKM tumbuh.", "2024-05-02", "2022"),  # counted in words
        ("Sejak 2020, IKM tumbuh.", "2024-05-02", "2020-01-01/2024-05-02"),  # every year from 2020 on
        ("Sejak 2020, IKM tumbuh.", None, "2020"),
    ],
)
def test_passage_period(text, article_date, label):
    assert passage_period(text, article_date).label == label


def test_datelines_and_version_numbers_are_not_periods():
    text = 'ujar Reni, Kamis (4/1/2024), tentang ISO 9001:2015 dan 2.500 meter.'
    assert passage_period(text, "2024-01-04") == Period.day(dt.date(2024, 1, 4))


@pytest.mark.parametrize("text, names", [
    ("berkontribusi 21,44%, kata Reni, Kamis (4/1/2024).", False),  # a dateline: when it was said
    ("IKM menyerap 12,39 juta tenaga kerja saat ini.", False),
    ("Sepanjang 2023, IKM menyerap 12,39 juta tenaga kerja.", True),
    ("IKM tumbuh 5 persen tahun lalu, kata Reni, Kamis (4/1/2024).", True),
])
def test_a_text_names_a_period_with_time_words_other_than_datelines(text, names):
    assert names_a_period(text) is names


@pytest.mark.parametrize("placeholder", ["0001-01-01", "9999-12-31"])
def test_relative_times_past_the_calendars_ends_are_dropped(placeholder):
    """Exports date undated articles 0001-01-01 or 9999-12-31; "tahun depan" of 9999 once
    gave HTTP 500 and sank a whole `qa add` batch."""
    text = "Tahun lalu IKM tumbuh, tahun depan naik, bulan lalu turun; hingga saat ini stabil."
    period = passage_period(text, placeholder)
    assert period is not None and dt.date.min <= period.start <= period.end <= dt.date.max
    assert passage_period("Target tahun depan dan tahun ini.", "9999-12-31").label == "9999"  # next: dropped
    assert passage_period("Tumbuh 3 tahun lalu.", "0001-06-01") == Period.day(dt.date(1, 6, 1))  # the date alone


def test_without_time_words_or_date_there_is_no_period():
    assert passage_period("IKM tahun lalu tumbuh.", None) is None
    assert passage_period("Tanpa waktu.", None) is None


@pytest.mark.parametrize(
    "question, label",
    [
        ("berapa tenaga kerja IKM 2024?", "2024"),
        ("brp tenaga kerja IKM thn 2024", "2024"),
        ("jumlah IKM Oktober 2024", "2024-10"),
        ("tenaga kerja IKM tahun lalu", "2025"),
        ("how many workers did IKM employ in 2022?", "2022"),
        ("berapa IKM dua tahun lalu?", "2024"),
        ("how many IKM two years ago?", "2024"),
        ("berapa ekspor Januari hingga Maret 2024?", "2024-01/2024-03"),
        ("exports from January to March 2024", "2024-01/2024-03"),
        ("berapa IKM sejak 2020?", "2020-01-01/2026-11-22"),
        ("how many IKM since 2020?", "2020-01-01/2026-11-22"),
    ],
)
def test_question_names_a_period(question, label):
    asked = question_period(question, TODAY)
    assert asked.period.label == label and not asked.latest


@pytest.mark.parametrize("question", ["jumlah IKM terbaru", "berapa IKM saat ini?", "latest IKM workforce"])
def test_question_asks_for_latest(question):
    assert question_period(question, TODAY).latest


def test_question_without_time():
    asked = question_period("siapa Dirjen IKMA?", TODAY)
    assert asked.period is None and not asked.latest


@pytest.mark.parametrize("question, words", [
    ("berapa tenaga kerja IKM 2024?", ["2024"]),
    ("IKI Oktober 2024 berapa?", ["Oktober", "2024"]),
    ("kapan Gebyar IKMA 12-17 November 2024?", ["12", "17", "November", "2024"]),
    ("berapa tenaga kerja IKM tahun lalu?", []),  # counted from today: a passage's "tahun lalu" is another year
    ("jumlah IKM saat ini", []),
    ("since 2020, how many?", ["2020"]),
])
def test_dated_words_are_the_numbers_and_months_of_the_times_named(question, words):
    assert dated_words(question) == words


@given(st.text(), st.one_of(st.none(), st.dates().map(str)))
def test_any_passage_gets_a_well_formed_period_or_none(text, article_date):
    period = passage_period(text, article_date)
    assert period is None or period.start <= period.end


@given(st.text(), st.dates())
def test_any_question_gets_an_asked_period(question, today):
    asked = question_period(question, today)
    assert asked.period is None or asked.period.start <= asked.period.end


def test_times_are_blanked_out_with_the_words_that_lead_to_them():
    assert without_times("IKM tahun 2023 industri kecil").split() == ["IKM", "tahun", "industri", "kecil"]
    lead = re.compile(r"\b(?:pada\s+)?(?:tahun\s+)?$")
    assert without_times("berapa tenaga kerja IKM pada tahun 2024?", lead).split() == ["berapa", "tenaga", "kerja", "IKM", "?"]
    assert without_times("tanpa waktu", lead) == "tanpa waktu"
