import json

import pytest

from conftest import ROOT
from qa.errors import InvalidInputError
from qa.evaluation import Evaluation, Item, facqa, load_questions, markdown

QUESTIONS = ROOT / "benchmarks" / "questions.jsonl"
FACQA = ROOT.parent / "shared" / "data" / "facqa"


def test_own_question_set_is_big_and_varied():
    items = load_questions(QUESTIONS)
    tags = [t for item in items for t in item.tags]
    assert len([i for i in items if i.answerable]) >= 40
    assert {"id", "colloquial", "en", "year", "unanswerable"} <= set(tags)


def test_own_question_set_hit_at_1_is_at_least_095(engine):
    evaluation = Evaluation(engine, load_questions(QUESTIONS))
    hybrid, bm25, dense = evaluation.compare()
    assert hybrid.hit1 >= 0.95
    assert hybrid.hit1 > max(bm25.hit1, dense.hit1)
    assert hybrid.abstained == 1.0  # every unanswerable question flagged
    table = markdown([hybrid, bm25, dense])
    assert table.count("\n") == 4 and "hit@1" in table


def test_evidence_no_passage_holds_is_an_error(engine):
    with pytest.raises(InvalidInputError, match="no passage contains"):
        Evaluation(engine, [Item("berapa?", evidence=["kalimat yang tidak ada di korpus"])])


def test_bad_question_file(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "a"}\n{"no": 1}\n')
    with pytest.raises(InvalidInputError, match="q.jsonl:2"):
        load_questions(bad)


@pytest.mark.skipif(not FACQA.is_dir(), reason="../shared/data/facqa not present")
def test_facqa_loader(tmp_path):
    items = facqa(FACQA, "valid", tmp_path / "corpus.jsonl")
    lines = (tmp_path / "corpus.jsonl").read_text().splitlines()
    assert len(items) == 311 and len(lines) == 1295
    first = items[0]
    assert first.question == "Apa nama latin dari harimau Sumatera?" and first.answer == "Panthera tigris sumatrensis"
    article = json.loads(lines[int(first.articles[0].split("-")[1])])
    assert "Panthera tigris sumatrensis" in article["text"]
