from qa.lexical import LexicalIndex, stems

TEXTS = [
    "IKM menyerap 12,37 juta tenaga kerja hingga saat ini.",
    "Penyerapan tenaga kerja industri kecil naik.",
    "Pameran Gebyar IKMA digelar di Jakarta.",
]


def test_stems_drop_stop_words_and_keep_figures_whole():
    assert stems("Berapa tenaga kerja yang diserap IKM?") == ["tenaga", "kerja", "serap", "ikm"]
    assert stems("naik 12,37 juta") == ["naik", "12,37", "juta"]


def test_scores_rank_the_passage_with_the_rare_words(tmp_path):
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    scores = loaded.scores(stems("Gebyar IKMA Jakarta"))
    assert scores.argmax() == 2 and scores[0] == scores[1] == 0
    assert list(loaded.scores(stems("menyerap tenaga kerja"))) == list(index.scores(stems("menyerap tenaga kerja")))


def test_unknown_words_and_stop_word_corpora_score_zero():
    assert not LexicalIndex.build(TEXTS).scores(["zzz"]).any()
    assert not LexicalIndex.build(["yang dan di", "ke dari"]).scores(stems("apa")).any()
