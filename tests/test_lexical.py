from qa.lexical import LexicalIndex, stems

TEXTS = [
    "IKM menyerap 12,37 juta tenaga kerja hingga saat ini.",
    "Penyerapan tenaga kerja industri kecil naik.",
    "Pameran Gebyar IKMA digelar di Jakarta.",
]


def test_stems_drop_stop_words_and_keep_figures_whole():
    assert stems("Berapa tenaga kerja yang diserap IKM?") == ["tenaga", "kerja", "serap", "ikm"]
    assert stems("naik 12,37 juta") == ["naik", "12,37", "juta"]


def test_scores_rank_the_passage_with_the_rare_words():
    index = LexicalIndex([stems(t) for t in TEXTS])
    scores = index.scores(stems("Gebyar IKMA Jakarta"))
    assert scores.argmax() == 2 and scores[0] == scores[1] == 0
    assert len(index) == 3


def test_unknown_words_stop_word_corpora_and_empty_indexes_score_zero():
    assert not LexicalIndex([stems(t) for t in TEXTS]).scores(["zzz"]).any()
    assert not LexicalIndex([stems("yang dan di"), stems("ke dari")]).scores(stems("apa")).any()
    assert len(LexicalIndex([]).scores(stems("tenaga kerja"))) == 0
