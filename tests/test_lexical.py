from pathlib import Path

import bm25s
import numpy as np
import pytest

from qa.chunking import split_article
from qa.lexical import LexicalIndex, loanword_start, question_terms, stem_forms, stems, terms_held
from qa.reading import read_paths

TEXTS = [
    "IKM menyerap 12,37 juta tenaga kerja hingga saat ini.",
    "Penyerapan tenaga kerja industri kecil naik.",
    "Pameran Gebyar IKMA digelar di Jakarta.",
]


def test_stems_drop_stop_words_and_keep_figures_whole():
    assert stems("Berapa tenaga kerja yang diserap IKM?") == ["tenaga", "kerja", "serap", "ikm"]
    assert stems("naik 12,37 juta") == ["naik", "12,37", "juta"]


def test_stem_forms_are_each_stem_with_the_words_it_comes_from():
    assert stem_forms("Berapa tenaga kerja diserap IKM, yang menyerap pekerja?") == [
        {"tenaga"}, {"kerja", "pekerja"}, {"serap", "diserap", "menyerap"}, {"ikm"}]
    assert [min(f, key=len) for f in stem_forms("Berapa tenaga kerja yang diserap IKM?")] == stems(
        "Berapa tenaga kerja yang diserap IKM?")


def test_scores_rank_the_passage_with_the_rare_words():
    index = LexicalIndex([stems(t) for t in TEXTS])
    scores = index.scores(stems("Gebyar IKMA Jakarta"))
    assert scores.argmax() == 2 and scores[0] == scores[1] == 0
    assert len(index) == 3


def test_unknown_words_stop_word_corpora_and_empty_indexes_score_zero():
    assert not LexicalIndex([stems(t) for t in TEXTS]).scores(["zzz"]).any()
    assert not LexicalIndex([stems("yang dan di"), stems("ke dari")]).scores(stems("apa")).any()
    assert len(LexicalIndex([]).scores(stems("tenaga kerja"))) == 0


@pytest.fixture(scope="module")
def corpus_terms():
    """The stems of the default corpus's passages, and of questions about them."""
    articles = read_paths([Path(__file__).resolve().parent.parent / "corpus"]).articles
    passages = [stems(p.text) for a in articles for p in split_article(a)]
    questions = [stems(q) for q in ("berapa tenaga kerja IKM 2024?", "Kapan Gebyar IKMA digelar?",
                                    "ekspor industri furnitur", "nilai investasi sektor manufaktur tahun ini",
                                    "kerja kerja kerja")]
    return passages, questions


def test_scores_are_those_of_bm25s(corpus_terms):
    passages, questions = corpus_terms
    reference = bm25s.BM25()
    reference.index(passages, show_progress=False)
    ours = LexicalIndex(passages)
    for question in questions:
        known = [s for s in question if s in reference.vocab_dict]
        assert known and np.allclose(ours.scores(question), reference.get_scores(known), atol=1e-5)


def test_an_extended_index_scores_as_one_built_at_once(corpus_terms):
    passages, questions = corpus_terms
    whole = LexicalIndex(passages)
    few = len(passages) - 3  # a second segment
    grown = LexicalIndex(passages[:few]).extended(passages[few:few + 1]).extended(passages[few + 1:])
    merged = LexicalIndex(passages[:5]).extended(passages[5:])  # past MAX_SECOND_SEGMENT: merged
    for question in questions:
        assert np.allclose(grown.scores(question), whole.scores(question), atol=1e-6)
        assert np.allclose(merged.scores(question), whole.scores(question), atol=1e-6)
    assert len(grown) == len(merged) == len(passages)


def test_hidden_passages_score_zero_until_left_out(corpus_terms):
    passages, questions = corpus_terms
    best = int(LexicalIndex(passages).scores(questions[0]).argmax())
    hiding = LexicalIndex(passages).extended([], hidden=np.array([best]))
    assert hiding.scores(questions[0])[best] == 0 and hiding.scores(questions[0]).max() > 0
    kept = np.ones(len(passages), dtype=bool)
    kept[best] = False
    rest = [p for i, p in enumerate(passages) if i != best]
    for question in questions:
        assert np.allclose(hiding.without(kept).scores(question), LexicalIndex(rest).scores(question), atol=1e-6)


@pytest.mark.parametrize("english, indonesian", [
    ("centres", "sentra"), ("center", "sentra"), ("creative", "kreatif"), ("industries", "industri"),
    ("certification", "sertifikasi"), ("export", "ekspor"), ("collaboration", "kolaborasi"), ("economy", "ekonomi"),
])
def test_an_english_word_starts_as_its_indonesian_loanword(english, indonesian):
    assert loanword_start(english, english=True) == loanword_start(indonesian) is not None


def test_an_english_question_holds_the_words_of_an_indonesian_sentence_by_their_loanwords():
    sentence = "Sebanyak 67,21 persen sentra IKM bergerak di bidang industri kreatif."
    question = "what share of IKM centres is in the creative industry?"
    assert terms_held(sentence, question_terms(question, english=True)) == 4  # IKM, centres, creative, industry
    assert terms_held(sentence, question_terms(question)) == 1  # by stems alone: IKM


def test_an_indonesian_question_is_matched_by_stems_alone():
    # "pemerintah" and "pemerataan" start alike; only an English word is respelled and matched by its start
    assert terms_held("Pemerataan kesejahteraan menjadi tujuan.", question_terms("apa kata pemerintah?")) == 0
