from qa.highlight import figures, highlight, keywords

TEXT = ("Kemenperin mencatat IKM mencapai 4,52 juta unit per Oktober 2024. Hingga saat ini IKM telah "
        "menyerap 12,37 juta tenaga kerja. Acara digelar Kamis (15/11).")


def _words(question, text=TEXT):
    return [text[s:e] for s, e in highlight(question, text)]


def test_question_words_and_the_answer_figure_are_highlighted():
    assert _words("berapa tenaga kerja IKM 2024?") == ["IKM", "2024", "IKM", "12,37 juta tenaga kerja"]


def test_stop_words_alone_highlight_nothing():
    assert keywords("berapa jumlah yang ada?") == set()
    assert highlight("berapa jumlah yang ada?", TEXT) == []


def test_figures_skip_bare_years_and_days():
    assert [TEXT[s:e] for s, e in figures(TEXT)] == ["4,52 juta unit", "12,37 juta tenaga kerja"]


def test_money_and_percent():
    text = "Nilai restrukturisasi sebesar Rp 7,9 miliar, naik 103% dari target."
    assert [text[s:e] for s, e in figures(text)] == ["Rp 7,9 miliar", "103%"]
