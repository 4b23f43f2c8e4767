import pytest
from hypothesis import given, strategies as st

from qa.answers import DATE, PLACE, QUANTITY
from qa.errors import InvalidInputError
from qa.query import Query, QueryPlan, is_english


def test_defaults_and_trimming():
    query = Query("  berapa tenaga kerja?  ")
    assert (query.question, query.top_k, query.sources) == ("berapa tenaga kerja?", 5, [])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"question": ""}, "empty"),
        ({"question": " \n\t "}, "empty"),
        ({"question": "x" * 2001}, "too long"),
        ({"question": "berapa\x00\x01 IKM"}, "control characters"),
        ({"question": "IKM \ufffd\ufffd"}, "control characters"),
        ({"question": "?!? ... ---"}, "no words"),
        ({"question": "q", "top_k": 0}, "between 1 and 50"),
        ({"question": "q", "top_k": 51}, "between 1 and 50"),
        ({"question": "q", "top_k": "5"}, "whole number"),
        ({"question": "q", "date_from": "15-11-2024"}, "date like"),
        ({"question": "q", "date_from": "2024-12-01", "date_to": "2024-01-01"}, "after"),
    ],
)
def test_bad_input_is_refused_with_a_message(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        Query(**kwargs)


def test_single_source_string_becomes_a_list():
    assert Query("q", sources="kumparan").sources == ["kumparan"]


def test_plan_reads_kind_period_and_words():
    import datetime as dt

    from qa.query import QueryPlan

    plan = QueryPlan.of("brp tenaga kerja IKM thn 2024?", dt.date(2026, 11, 22))
    assert plan.kind == "quantity" and plan.asked.period.label == "2024"
    assert plan.stems == ["tenaga", "kerja", "ikm", "2024"]
    assert plan.content_stems == ["tenaga", "kerja", "ikm"]  # the year is the period's business
    assert plan.lexical_stems == ["tenaga", "kerja", "ikm", "2024"]  # a passage writes the year alike
    relative = QueryPlan.of("berapa tenaga kerja IKM tahun lalu?", dt.date(2026, 11, 22))
    assert relative.asked.period.label == "2025"
    assert relative.lexical_stems == ["tenaga", "kerja", "ikm"]  # a passage's "tahun lalu" is another year
    assert plan.words == {"tenaga", "kerja", "ikm", "2024"}


@pytest.mark.parametrize("question, untimed", [
    ("berapa tenaga kerja IKM 2024?", "berapa tenaga kerja IKM ?"),
    ("brp tenaga kerja yg diserap IKM thn 2022", "berapa tenaga kerja yang diserap IKM"),  # chat spellings
    ("how many IKM were there in 2019?", "how many IKM were there ?"),  # "in" only led to the year
    ("Siapa Dr. Reni?", "Siapa Dr. Reni?"),  # an abbreviation with a full stop is not chat
    ("siapa Wamenperin?", "siapa Wamenperin?"),
])
def test_the_reader_reads_the_question_without_its_time_and_in_full_spelling(question, untimed):
    assert QueryPlan.of(question).untimed == untimed


@pytest.mark.parametrize("question, kind", [
    ("kpn gebyar ikma digelar?", DATE),  # chat spellings ask as their words do
    ("dmn pameran digelar?", PLACE),
    ("brp tenaga kerja IKM?", QUANTITY),
])
def test_a_question_in_chat_spelling_asks_for_the_kind_its_words_do(question, kind):
    plan = QueryPlan.of(question)
    assert plan.kind == kind and plan.question == question and "kpn" not in plan.written


@given(st.text(), st.one_of(st.integers(), st.text(), st.floats(), st.none()), st.one_of(st.none(), st.text()))
def test_any_input_is_a_query_or_a_clear_refusal(question, top_k, date_from):
    try:
        query = Query(question, top_k, date_from)
    except InvalidInputError as exc:
        assert str(exc)
    else:
        assert query.question.strip() and 1 <= query.top_k <= 50
        QueryPlan.of(query.question)


@pytest.mark.parametrize("question, english", [
    ("who is the Director General of IKMA?", True),
    ("how many workers did IKM employ in 2024?", True),
    ("who discovered Helicobacter pylori?", True),  # starts with an English question word
    ("Which party nominated Ayman Nour in 2005?", True),
    ("berapa tenaga kerja IKM 2024?", False),
    ("brp tenaga kerja yg diserap IKM thn 2022", False),
    ("Siapa pengarang buku The Clash of Civilizations and The Remaking of World Order?", False),  # an English title
    ("siapa nama sutradara film Working to the Death", False),
    ("harga emas hari ini", False),
])
def test_a_question_in_english_is_told_from_one_in_indonesian(question, english):
    assert is_english(question) is english and QueryPlan.of(question).english is english
