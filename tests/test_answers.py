from hypothesis import given, strategies as st

from qa.answers import DATE, ENTITY, PERSON, PLACE, QUANTITY, answer_type, figures, find_answer, highlight, keywords
from qa.lexical import stems

TEXT = ("Kemenperin mencatat IKM mencapai 4,52 juta unit per Oktober 2024. Hingga saat ini IKM telah "
        "menyerap 12,37 juta tenaga kerja. Acara digelar Kamis (15/11) di Mal Kota Kasablanka, Jakarta, "
        "kata Wamenperin Faisol Riza.")


def _answer(question, text=TEXT):
    found = find_answer(stems(question), answer_type(question), keywords(question), text)
    return text[found.span[0] : found.span[1]] if found and found.span else None


def test_answer_types():
    assert answer_type("berapa tenaga kerja IKM?") == QUANTITY
    assert answer_type("brp jumlah IKM") == QUANTITY
    assert answer_type("how many workers?") == QUANTITY
    # a degree asks for a figure, as "berapa tinggi" does; "how" before a verb asks a manner
    for question in ("how tall is Monas?", "how old is the city of Bandung?", "how far is Bogor from Jakarta?",
                     "how large is Kerinci regency?", "how fast do objects fall?"):
        assert answer_type(question) == QUANTITY, question
    assert answer_type("how does the program work?") == ENTITY
    assert answer_type("how long was Warsaw occupied?") == ENTITY  # as often "from 1915 to 1918" as a figure
    for question in ("seberapa besar kontribusi IKM terhadap PDB?", "Seberapa tinggikah Gunung Bogong?",
                     "seberapa jauh Bogor dari Jakarta?"):
        assert answer_type(question) == QUANTITY, question
    assert answer_type("seberapa berhasil upaya itu?") == ENTITY  # how well: not a figure
    # a search box's word for a figure asks for one
    for question in ("jumlah IKM 2023", "total IKM 2023", "nilai ekspor IKM 2023", "harga emas hari ini",
                     "price of gold today"):
        assert answer_type(question) == QUANTITY, question
    assert answer_type("lembaga apakah yang mencatat nilai ekspor?") == ENTITY  # names a figure, asks a thing
    assert answer_type("mengapa minyak baru dijual dengan harga lebih tinggi?") == ENTITY  # asks a reason
    assert answer_type("mengapa jumlah IKM naik?") == ENTITY
    assert answer_type("kapan acara digelar?") == DATE
    assert answer_type("tahun berapa program dimulai?") == DATE
    assert answer_type("siapa Dirjen IKMA?") == PERSON
    assert answer_type("di mana pameran diadakan?") == PLACE
    assert answer_type("apa nama program itu?") == ENTITY


def test_a_date_asked_with_the_particle_kah_is_a_date():
    """"tahun berapakah" asks for a year as "tahun berapa" does (FacQA asks 187 of its 2,806
    questions this way); "berapa tahun(kah)" asks how many years."""
    assert answer_type("Pada tahun berapakah SEA Games terakhir diadakan di Vietnam?") == DATE
    assert answer_type("Tanggal berapakah Sharapova lahir?") == DATE
    assert answer_type("Bulan apakah polisi menyita kayu ilegal?") == DATE
    assert answer_type("Pada tanggal apa pabrik itu diresmikan?") == DATE
    assert answer_type("tahun apa VOC bangkrut?") == DATE
    assert answer_type("jam berapa kereta berangkat?") == DATE
    assert answer_type("in which year was the program started?") == DATE
    assert answer_type("Berapa tahunkah ia meneliti kimia organik?") == QUANTITY
    assert answer_type("berapa jam perjalanan ke Bandung?") == QUANTITY
    assert answer_type("Pada bulan berapakah aturan itu berlaku?") == DATE


def test_the_question_word_said_first_decides_the_kind():
    assert answer_type("Siapakah yang mengungkapkan jumlah wisatawan ke Kerinci?") == PERSON
    assert answer_type("Dimanakah dosen itu mengatakan bahwa jumlah biota menurun?") == PLACE
    assert answer_type("jumlah unit IKM tahun 2022 berapa?") == QUANTITY
    assert answer_type("kapan jumlah IKM mencapai 4,52 juta?") == DATE


def test_english_asks_for_a_figure_by_naming_the_measure():
    assert answer_type("what was the industry confidence index in October 2024?") == QUANTITY
    assert answer_type("What is the population of the Greater Los Angeles Area?") == QUANTITY
    assert answer_type("what is the number of people who work in IKM?") == QUANTITY
    assert answer_type("what was the cause of the price increase?") == ENTITY  # "of" ends the measure's words
    assert answer_type("what is the name of the minister?") == ENTITY


def test_jumlah_asks_for_a_count_only_where_nothing_else_is_asked():
    assert answer_type("jumlah IKM 2023") == QUANTITY
    assert answer_type("latest number of IKM units") == QUANTITY
    assert answer_type("which agency counts the number of tourists?") == ENTITY
    assert answer_type("Lembaga apakah yang mencatat jumlah suku bangsa di Aceh?") == ENTITY
    assert answer_type("kota manakah yang jumlah wisatawannya menyamai jumlah penduduknya?") == ENTITY


def test_the_figure_beside_the_question_words_answers():
    assert _answer("berapa tenaga kerja IKM?") == "12,37 juta tenaga kerja"
    assert _answer("berapa jumlah unit IKM?") == "4,52 juta unit"


def test_names_places_and_dates():
    assert _answer("siapa Wamenperin?") == "Faisol Riza"
    assert _answer("di mana acara digelar?") == "Mal Kota Kasablanka"
    assert _answer("kapan acara digelar?") == "Kamis (15/11)"


def test_no_span_of_the_asked_kind_means_no_answer():
    found = find_answer(stems("siapa menyerap?"), PERSON, keywords("siapa menyerap?"), "IKM menyerap 12 juta.")
    assert found.span is None and found.coverage == 1.0


def test_figures_skip_bare_years_and_days():
    assert [TEXT[s:e] for s, e in figures(TEXT)] == ["4,52 juta unit", "12,37 juta tenaga kerja"]


def test_money_and_percent():
    text = "Nilai restrukturisasi sebesar Rp 7,9 miliar, naik 103% dari target."
    assert [text[s:e] for s, e in figures(text)] == ["Rp 7,9 miliar", "103%"]


def test_highlight_marks_question_words_and_the_answer():
    spans = highlight(keywords("berapa tenaga kerja IKM 2024?"), TEXT, (TEXT.index("12,37"), TEXT.index(" tenaga")))
    assert [TEXT[s:e] for s, e in spans] == ["IKM", "2024", "IKM", "12,37 juta tenaga kerja"]


def test_stop_words_alone_highlight_nothing():
    assert keywords("berapa jumlah yang ada?") == set()
    assert highlight(set(), TEXT, None) == []


def test_the_figure_after_the_question_phrase_wins_over_a_nearer_one():
    text = ("Sebanyak 65 IKM mendapat fasilitas dengan total nilai restrukturisasi sebesar Rp 7,9 miliar, "
            "yang mana total nilai investasi mesin yang dilakukan oleh pelaku IKM sebesar Rp 60,7 miliar.")
    assert _answer("berapa nilai restrukturisasi mesin IKM?", text) == "Rp 7,9 miliar"
    assert _answer("berapa total nilai investasi mesin oleh pelaku IKM?", text) == "Rp 60,7 miliar"


@given(st.text(max_size=200), st.text(max_size=1500))
def test_any_question_and_passage_give_spans_inside_the_passage(question, text):
    found = find_answer(stems(question), answer_type(question), keywords(question), text)
    if found:
        assert 0 <= found.sentence[0] <= found.sentence[1] <= len(text) and 0 <= found.coverage <= 1
        if found.span:
            assert found.sentence[0] <= found.span[0] < found.span[1] <= found.sentence[1]
    for start, end in highlight(keywords(question), text, found.span if found else None):
        assert 0 <= start < end <= len(text)
