"""Shaping the short answer: word boundaries, kinds, confidence and the period rule."""

import json

import pytest

from qa.lexical import stems
from qa.periods import Period
from qa.query import QueryPlan
from qa.reader import Span
from qa.reader_training import READERS
from qa.short_answer import (
    FEATURES, SENTENCE, SPAN, SPELLED_OUT_CONFIDENCE, Calibration, acceptable, another_role, answer_kind,
    best_by_result,
    first_by_reading, one_figure, period_siblings, readings, short_answer, spelled_out_readings, spelt_out, with_brackets_closed,
    sentence_of, title_before, title_holder, with_reason, with_whole_title, without_another_role, words_span,
)
from qa.types import Passage

TEXT = ("Kemenperin mencatat jumlah IKM mencapai 4,52 juta unit per Oktober 2024. "
        "Wamenperin Faisol Riza mengatakan IKM telah menyerap 12,37 juta tenaga kerja.")
SURE = Calibration((1.0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0, 0.5)  # confidence = sigmoid(margin)


def passage(text=TEXT, date="2024-11-15", period=Period.year(2024)):
    return Passage(id="p:0", doc_id="p", position=0, text=text, start=0, end=len(text), source="kumparan",
                   date=date, period=period)


def span_of(words: str, margin: float = 5.0, text: str = TEXT) -> Span:
    start = text.index(words)
    return Span(start, start + len(words), margin, 0.9)


@pytest.mark.parametrize("cut, whole", [
    ("IKM de", "IKM dengan"),  # half a word is widened to the whole word
    ("2,37 juta tenaga ker", "12,37 juta tenaga kerja"),
    (" Faisol Riza.", "Faisol Riza"),  # spaces and a full stop at the edges go
    ("12,", "12,37"),  # a figure is a word: the reader's "12," (a token of its own) is half of it
    ("37 juta", "12,37 juta"),
    ("Rp 5.", "Rp 5.000"),  # a thousands separator too
    ("kerja,", "kerja"),  # a comma after a word still ends it
])
def test_spans_start_and_end_on_word_boundaries(cut, whole):
    text = "IKM dengan 12,37 juta tenaga kerja, kata Faisol Riza. Harganya Rp 5.000."
    start = text.index(cut)
    assert text[slice(*words_span(text, start, start + len(cut)))] == whole


def test_punctuation_at_the_edges_goes_but_a_closing_bracket_of_the_span_stays():
    text = "Industri Kecil dan Menengah (IKM), kata dia."
    assert text[slice(*words_span(text, 0, text.index(",") + 1))] == "Industri Kecil dan Menengah (IKM)"


@pytest.mark.parametrize("read, shown", [
    ("(7/1/2023).", "7/1/2023"),  # brackets that hold the whole span add nothing to it
    ("(IKM)", "IKM"),
    ("Menengah (IKM)", "Menengah (IKM)"),
    ("(IKM) dan (IKMA)", "(IKM) dan (IKMA)"),  # two bracketed words: the brackets say which
])
def test_brackets_around_the_whole_span_go(read, shown):
    text = "Industri Kecil dan Menengah (IKM) dan (IKMA), kata Reni, Minggu (7/1/2023)."
    start = text.index(read)
    assert text[slice(*words_span(text, start, start + len(read)))] == shown


@pytest.mark.parametrize("read, shown", [
    ("Polonia (Medan", "Polonia (Medan)"),  # a bracket opened is closed when it closes nearby
    ("Eretmochelys imbricata), penyu", "Eretmochelys imbricata"),  # begun inside brackets: ends there
    ("(IKM) di", "(IKM) di"),  # both halves: kept
    ("(sekitar dua kilometer dari pantai", "sekitar dua kilometer dari pantai"),  # nothing close by
    ("(IKM", "IKM"),  # an opening bracket at its start goes, as other edge punctuation
])
def test_a_span_s_brackets_are_balanced(read, shown):
    text = ("Penyu sisik (Eretmochelys imbricata), penyu hijau dan (IKM) di Bandara Polonia (Medan), "
            "lalu (sekitar dua kilometer dari pantai, yang tidak pernah ditutup oleh siapa pun di sana) pulang.")
    start = text.index(read)
    span = with_brackets_closed(text, *words_span(text, start, start + len(read)), len(text))
    assert text[slice(*span)] == shown


@pytest.mark.parametrize("read, shown", [
    ("89 sentra IKM, di antaranya 21 sentra IKM", "89 sentra IKM"),  # one figure, not two
    ("Rp 5.000, sedangkan harga pertamax plus dari Rp 5.700", "Rp 5.000"),
    ("4,19 juta unit usaha atau berkontribusi sebesar 99,7%", "4,19 juta unit usaha"),  # a conjunction, then a clause
    ("120 pekerja and about 40 volunteers", "120 pekerja"),
    ("5 dan 10 persen", "5 dan 10 persen"),  # a range: the conjunction joins two figures
    ("9.567, 51 hektar", "9.567, 51 hektar"),  # a decimal comma (spaced, as FacQA's tokens are) stays
    ("12,37 juta tenaga kerja, kata Faisol", "12,37 juta tenaga kerja, kata Faisol"),  # no second figure
])
def test_a_figure_answer_is_one_figure(read, shown):
    assert read[:one_figure(read, 0, len(read))] == shown


def test_a_span_that_is_only_a_closing_bracket_is_dropped():
    text = "Industri Kecil dan Menengah (IKM) tumbuh."
    start = text.index(")")
    assert readings(QueryPlan.of("berapa IKM?"), [passage(text)], [[Span(start, start + 1, 5.0, 0.9)]], SURE) == []


@pytest.mark.parametrize("question, kind", [
    ("mengapa pengembangan IKM tidak bisa berjalan sendiri?", SENTENCE),
    ("apa tujuan business matching bagi IKM?", SENTENCE),
    ("why is collaboration important?", SENTENCE),
    ("how does the program work?", SENTENCE),
    ("how tall is Monas?", SPAN),  # a degree: a figure, as "berapa tinggi"
    ("how deep is the lake?", SPAN),
    ("how is IKM doing?", SENTENCE),
    ("how long was Warsaw occupied?", SPAN),
    ("Bagaimanakah cara membuat bioetanol?", SENTENCE),  # -kah asks the same, as in "Berapakah"
    ("Mengapakah harga naik?", SENTENCE),
    ("Apakah tujuan program itu?", SENTENCE),
    ("what caused the flood?", SENTENCE),  # a reason, as "apa penyebab banjir?"
    ("what was the purpose of the fair?", SENTENCE),
    ("for what reason was the fund cut?", SENTENCE),
    ("what was the cost of the program?", SPAN),
    (QueryPlan.of("gmn cara daftar IKM?").written, SENTENCE),  # "gmn": bagaimana
    ("how many workers did IKM employ?", SPAN),
    ("berapa tenaga kerja IKM 2024?", SPAN),
    ("siapa Dirjen IKMA?", SPAN),
    ("apa itu restrukturisasi mesin?", SENTENCE),  # what a thing is: the sentence that says it
    ("apa itu IKM?", SPAN),  # what an acronym stands for: a few words
])
def test_why_and_how_questions_get_sentences(question, kind):
    assert answer_kind(question) == kind


@pytest.mark.parametrize("words, question, ok", [
    ("yang", "siapa Dirjen IKMA?", False),  # a lone function word
    ("Oktober", "siapa presiden Indonesia?", False),  # a month for "who"
    ("Reni Yanita", "siapa Dirjen IKMA?", True),
    ("Kemenperin", "berapa tenaga kerja IKM?", False),  # no figure for "how many"
    ("12,37 juta tenaga kerja", "berapa tenaga kerja IKM?", True),
    ("lima ribu orang", "berapa tenaga kerja IKM?", True),
    ("30/05/2023", "berapa jumlah unit IKM?", False),  # a date is not a figure
    ("Oktober 2024", "berapa jumlah unit IKM?", False),
    ("Kemenperin melaporkan sepanjang tahun 2023 industri kecil", "how many workers did IKM absorb?", False),  # its one number a year
    ("12,39 juta tenaga kerja pada 2022", "berapa tenaga kerja IKM?", True),
    ("3 tahun", "berapa tahun masa jabatannya?", True),  # a number of years, not a year
    ("sejak Perjanjian Roma 1957", "sudah berapa lama perdagangan bebas menjadi pusat Eropa?", True),  # how long: since when
    ("since the Treaty of Rome in 1957", "how long has free trade been central to Europe?", True),
    ("9/8", "berapa harga emas?", False),  # a day and a month, as news writes them
    ("26/8", "Di kota manakah ribuan perajin rotan berunjuk rasa?", False),  # a thing asked, not a time
    ("Cirebon", "Di kota manakah ribuan perajin rotan berunjuk rasa?", True),
    ("30 Januari 2005", "Apa nama badan parlemen di Irak?", False),
    ("(15/11)", "berapa jumlah unit IKM?", False),
    ("3/4 penduduk", "berapa jumlah penduduk miskin?", True),  # more than a day and a month
    ("4,52 juta unit per Oktober 2024", "berapa jumlah unit IKM?", True),
    ("12-17 November 2024", "kapan Gebyar IKMA dilaksanakan?", True),
    ("Jakarta", "kapan Gebyar IKMA dilaksanakan?", False),
    ("74 juta jiwa", "topan apa yang melanda Provinsi Jiangsu?", False),  # "apa" asks for a thing, not a figure
    ("2024", "what is Gebyar IKMA?", False),  # so does English "what is ..." that names no measure
    ("52,75 poin", "what was the industry confidence index in October 2024?", True),  # it names one
    ("Rp 5.000", "apa yang dibeli warga?", False),
    ("Khanun", "topan apa yang melanda Provinsi Jiangsu?", True),
    ("10 km jalan cepat", "Pada nomor apakah Darwati memperoleh perak?", True),  # a name that starts with a number
    ("150 km per jam", "angin apa yang melanda kota itu?", False),  # a rate is a figure too
    ("G20", "apa nama forum itu?", True),
    ("52,75 poin", "what was the industry confidence index in October 2024?", True),  # English "what" asks figures too
    ("4,4 juta unit", "jumlah unit IKM tahun 2022 berapa?", True),
    ("99,7%", "how many small and medium industry units were there?", False),  # a count is not a share
    ("66,25 persen", "berapa total tenaga kerja industri?", False),
    ("65 persen", "berapa persen jumlah kasus DBD dari total?", True),  # unless a share is asked
    ("21,44%", "berapa kontribusi IKM terhadap output industri?", True),  # not asked as a count
    ("22.091", "Berapa persen cakupan imunisasi polio putaran pertama?", False),  # a share asked: a percentage
    ("94,8 persen", "Berapa persenkah cakupan imunisasi polio putaran pertama?", True),
    ("3 juta sapi", "What percentage of Australia's dairy cattle are found in Victoria?", False),
    ("60%", "What percentage of Australia's dairy cattle are found in Victoria?", True),
    ("3.201 hektar", "Pada tanggal berapakah VOC dinyatakan pailit?", False),  # "tanggal berapakah" asks a date
    ("31 Desember 1799", "Pada tanggal berapakah VOC dinyatakan pailit?", True),
    ("AS", "Di negara manakah kantor berita Associated Press berada?", True),  # an acronym, not "as"
    ("WHO", "Dirjen organisasi apakah Lee Jong-wook?", True),
    ("as", "Di negara manakah kantor berita Associated Press berada?", False),
    ("6", "Berapa ledakan mortir yang terjadi sebelum kejadian?", True),  # one digit is a figure, not a date
    ("kedelapan", "Pemenang Nobel sastra dari Inggris ke berapakah Harold Pinter?", True),  # a rank
    ("Laporan Asesmen Ketiga", "How much did the IPCC report say sea levels will rise?", False),
    ("seorang", "Berapa jumlah warga Spanyol dalam kecelakaan itu?", True),
    ("One Village One Product (OVOP)", "IKI bulan September 2024 berapa?", False),  # a name, not a number
    ("Mal Kota Kasablanka", "who is the deputy minister who spoke at Gebyar IKMA?", False),  # a place is no one
    ("Bandar Udara Sultan Syarif Kasim II", "Siapakah nama pilot pesawat itu?", False),
    ("Malik Mahmud", "siapa ketua tim perunding GAM?", True),
    ("Gedung Putih", "siapa yang membantah laporan itu?", True),  # an office speaks
    ("Mal Kota Kasablanka", "di mana Gebyar IKMA digelar?", True),
    ("Delapan tim peneliti", "Berapa tim peneliti yang berhasil?", True),
    ("two million people", "how many people were evacuated?", True),
    ("IV", "Women Islamic Games ke berapakah yang diadakan di Teheran?", True),  # a rank
    ("IV", "berapa jumlah korban kecelakaan itu?", False),
    ("2.693 meter di atas permukaan laut", "Berapa hektar lahan kentang di Dieng?", False),  # qa.measures
    ("3.000 hektar", "Berapa hektar lahan kentang di Dieng?", True),
    ("Startup4Industry", "what was the industry confidence index in October 2024?", False),  # digits in a name
    ("G20", "berapa negara anggota forum itu?", False),
    ("Rp7,9 miliar", "berapa anggaran restrukturisasi mesin?", True),
    ("65 IKM", "how much was the machine restructuring program worth?", False),  # a count, not money (qa.measures)
])
def test_a_confident_answer_must_be_of_the_kind_asked(words, question, ok):
    assert acceptable(words, QueryPlan.of(question).kind, question) is ok


def test_the_most_confident_reading_answers_with_its_citation():
    plan = QueryPlan.of("berapa tenaga kerja IKM 2024?")
    found = readings(plan, [passage()], [[span_of("12,37 juta tenaga kerja", 4.0), span_of("4,52 juta unit", 1.0)]], SURE)
    short = short_answer(plan, [passage()], found, SURE)
    assert short.confident and short.text == "12,37 juta tenaga kerja" and short.kind == SPAN
    assert short.confidence == pytest.approx(0.982, abs=1e-3)
    assert short.cited.startswith("Menurut kumparan (15 November 2024), Wamenperin Faisol Riza")
    assert [r.words for r in best_by_result(plan, [passage()], found, 1)] == ["12,37 juta tenaga kerja"]


def test_a_result_highlights_the_answer_it_gives_not_a_surer_reading_of_the_wrong_kind():
    plan = QueryPlan.of("berapa tenaga kerja IKM 2024?")
    found = readings(plan, [passage()], [[span_of("Wamenperin Faisol Riza", 6.0), span_of("12,37 juta tenaga kerja", 2.0)]],
                     SURE)
    assert max(found, key=lambda r: r.confidence).words == "Wamenperin Faisol Riza"  # surer, but not a figure
    short = short_answer(plan, [passage()], found, SURE)
    assert [r.words for r in best_by_result(plan, [passage()], found, 1)] == [short.text] == ["12,37 juta tenaga kerja"]


def test_below_the_threshold_there_is_no_answer_and_no_citation():
    plan = QueryPlan.of("berapa tenaga kerja IKM 2024?")
    found = readings(plan, [passage()], [[span_of("12,37 juta tenaga kerja", -2.0)]], SURE)
    short = short_answer(plan, [passage()], found, SURE)
    assert not short.confident and short.text is None and short.cited is None
    assert short.confidence == pytest.approx(0.119, abs=1e-3) and short.passage_id == "p:0"


def test_a_figure_of_another_period_is_given_as_the_latest_found_not_as_the_answer():
    plan = QueryPlan.of("berapa tenaga kerja IKM tahun 2025?")
    found = readings(plan, [passage()], [[span_of("12,37 juta tenaga kerja", 6.0)]], SURE)
    short = short_answer(plan, [passage()], found, SURE)
    assert not short.confident
    assert short.text == "12,37 juta tenaga kerja" and short.period == "2024" and "2025" in short.note


def test_a_date_asked_for_is_of_the_period_its_own_date_is():
    """A dateline is when something was said, not what a passage is about: "(7/1/2023)" in a
    passage about 2022 answers "when did Reni speak in 2023?", and not a question about 2025."""
    text = "Sepanjang tahun lalu, jumlah IKM mencapai 4,4 juta unit usaha, ujar Reni di Jakarta, Minggu (7/1/2023)."
    about_2022 = passage(text, date="2023-01-07", period=Period.year(2022))
    for question, confident in (("when did Reni speak about IKM in 2023?", True),
                                ("kapan Reni menyampaikan jumlah IKM tahun 2023?", True),
                                ("kapan Reni menyampaikan jumlah IKM tahun 2025?", False)):
        plan = QueryPlan.of(question)
        found = readings(plan, [about_2022], [[span_of("7/1/2023", 6.0, text)]], SURE)
        assert short_answer(plan, [about_2022], found, SURE).confident == confident, question


def test_an_undated_passage_cannot_answer_a_question_about_a_period():
    text = "Jumlah penganggur mencapai 830.000 orang."
    undated = passage(text, date=None, period=None)
    plan = QueryPlan.of("berapa jumlah penganggur tahun 2024?")
    found = readings(plan, [undated], [[span_of("830.000 orang", 6.0, text)]], SURE)
    short = short_answer(plan, [undated], found, SURE)
    assert not short.confident and short.text == "830.000 orang" and "2024" in short.note
    plan = QueryPlan.of("berapa jumlah penganggur?")  # no period asked: the passage answers
    assert short_answer(plan, [undated], readings(plan, [undated], [[span_of("830.000 orang", 6.0, text)]], SURE),
                        SURE).confident


def test_a_why_question_is_answered_with_the_sentence():
    text = ("Kemenperin mendorong kolaborasi. Pengembangan IKM tidak bisa berjalan sendiri karena butuh dukungan "
            "banyak pihak. Pameran digelar di Jakarta.")
    plan = QueryPlan.of("mengapa pengembangan IKM tidak bisa berjalan sendiri?")
    found = readings(plan, [passage(text)], [[span_of("butuh dukungan banyak pihak", 5.0, text)]], SURE)
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.kind == SENTENCE and short.text.startswith("Pengembangan IKM") and short.text.endswith("pihak.")


def test_a_why_question_is_answered_by_the_sentence_about_what_it_asks_not_the_surest_span():
    """The reader learnt factoid spans: its surest span in a why-question's passage may be a name
    in another sentence. The sentence holding most of the question's words answers, with the
    next one when it only restates the question; a factoid question still takes the surest span."""
    text = ("Faisol Riza hadir dalam Gebyar IKMA 2024 di Jakarta. IKM didorong mengembangkan produk yang lebih "
            "inovatif. Tujuannya agar mampu bersaing di pasar global.")
    spans = [[span_of("Faisol Riza", 6.0, text), span_of("produk yang lebih inovatif", 1.0, text)]]
    plan = QueryPlan.of("mengapa IKM didorong mengembangkan produk yang lebih inovatif?")
    short = short_answer(plan, [passage(text)], readings(plan, [passage(text)], spans, SURE), SURE)
    assert short.kind == SENTENCE and short.text.startswith("IKM didorong") and short.text.endswith("pasar global.")
    plan = QueryPlan.of("siapa yang hadir dalam Gebyar IKMA 2024?")
    assert short_answer(plan, [passage(text)], readings(plan, [passage(text)], spans, SURE), SURE).text == "Faisol Riza"


def test_a_sentence_that_restates_a_why_question_among_other_words_is_followed_by_the_next():
    """A sentence holding most of the question's words restates it, however many words of its own
    (a speaker, a title) it has; giving no reason itself, the next sentence is shown with it."""
    text = ("Direktur Jenderal IKMA Kementerian Perindustrian Reni Yanita mengatakan pemerintah mengeluarkan "
            "peraturan tentang dekonsentrasi dan tugas pembantuan. Salah satu tujuannya adalah menghilangkan "
            "tumpang tindih. Acara digelar di Jakarta.")
    plan = QueryPlan.of("apa tujuan peraturan dekonsentrasi dan tugas pembantuan?")
    found = readings(plan, [passage(text)], [[span_of("Reni Yanita", 5.0, text)]], SURE)
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.text.startswith("Direktur Jenderal") and short.text.endswith("tumpang tindih.")
    first = sentence_of(text, (0, 1))
    assert with_reason(text, first, set()) == first  # a question with no words of its own restates nothing


def test_a_why_answer_is_chosen_by_the_question_words_it_shows():
    """Two sentences hold as many of the question's words: one gives a reason of its own
    ("sehingga") and is shown alone; the other restates the question and is shown with the next,
    its reason ("tujuannya"). What is shown is weighed, so the second comes first, though the
    reader is surer of a span in the first."""
    text = ("Reni Yanita mengatakan pemerintah mengeluarkan peraturan tentang dekonsentrasi dan tugas pembantuan. "
            "Salah satu tujuannya adalah menghilangkan tumpang tindih. Sehingga, penyerapan anggaran dekonsentrasi "
            "dan tugas pembantuan lebih fokus ditujukan untuk masyarakat.")
    plan = QueryPlan.of("apa tujuan peraturan dekonsentrasi dan tugas pembantuan?")
    found = readings(plan, [passage(text)], [[span_of("penyerapan anggaran", 6.0, text),
                                              span_of("Reni Yanita", 2.0, text)]], SURE)
    assert found[0].coverage == found[1].coverage  # their own sentences tie
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.text.startswith("Reni Yanita") and short.text.endswith("tumpang tindih.")


def test_a_why_answer_is_as_sure_as_the_surest_span_it_shows():
    """The sentence that restates the question is chosen and shown with its reason; the reader's
    span in the reason vouches for the answer, not its weak one in the restating sentence."""
    text = ("Reni Yanita mengatakan pemerintah mengeluarkan peraturan tentang dekonsentrasi dan tugas pembantuan. "
            "Salah satu tujuannya adalah menghilangkan tumpang tindih. Acara digelar di Jakarta.")
    plan = QueryPlan.of("apa tujuan peraturan dekonsentrasi dan tugas pembantuan?")
    found = readings(plan, [passage(text)], [[span_of("menghilangkan tumpang tindih", 5.0, text),
                                              span_of("Reni Yanita", -1.0, text)]], SURE)
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.text.startswith("Reni Yanita") and short.text.endswith("tumpang tindih.")
    assert short.confident and short.confidence == round(found[0].confidence, 4)
    # a span answer stands for itself
    plan = QueryPlan.of("siapa yang mengatakan pemerintah mengeluarkan peraturan?")
    found = readings(plan, [passage(text)], [[span_of("Reni Yanita", -1.0, text)]], SURE)
    assert not short_answer(plan, [passage(text)], found, SURE).confident


def test_a_span_ends_with_the_sentence_it_starts_in():
    text = "IKM menyerap 12,39 juta tenaga kerja. Ini setara dengan 66,25 persen."
    found = readings(QueryPlan.of("berapa tenaga kerja IKM?"), [passage(text)], [[span_of(text[13:55], text=text)]], SURE)
    assert found[0].words == "12,39 juta tenaga kerja" and text[slice(*found[0].sentence)].endswith("kerja.")


@pytest.mark.parametrize("question, read, answer", [
    ("berapa sentra IKM yang dibina?", "89", "89 sentra IKM"),  # the figure with what it counts
    ("berapa IKM yang dibina?", "89", "89"),  # "sentra" is not what was asked
    ("berapa IKM yang dibina?", "89 sentra IKM", "89 sentra IKM"),
    ("siapa yang membina sentra IKM?", "89", "89"),  # not a "how many" question
])
def test_a_figure_keeps_the_words_after_it_that_the_question_counts(question, read, answer):
    text = "Kemenperin membina 89 sentra IKM pada 2023."
    found = readings(QueryPlan.of(question), [passage(text)], [[span_of(read, text=text)]], SURE)
    assert found[0].words == answer


@pytest.mark.parametrize("question, text, read, answer", [
    # after the unit the reader ended with, too
    ("berapa spot iklan yang disiapkan?", "Tim menyiapkan 326 spot iklan di televisi.", "326 spot", "326 spot iklan"),
    # a search-box question asks for a figure without "berapa"
    ("data tenaga kerja IKM terbaru", "IKM menyerap 12,37 juta tenaga kerja.", "12,37 juta", "12,37 juta tenaga kerja"),
    # two words at most: past them the question's words are the clause going on
    ("berapa anak penderita diare yang dirawat?", "Ada 360 anak penderita diare dirawat di sana.", "360 anak",
     "360 anak penderita diare"),
    ("kapan sentra IKM dibina?", "Pada 2023 sentra IKM dibina.", "2023", "2023"),  # a date is not a count
])
def test_what_a_figure_counts_is_read_with_it(question, text, read, answer):
    found = readings(QueryPlan.of(question), [passage(text)], [[span_of(read, text=text)]], SURE)
    assert found[0].words == answer


@pytest.mark.parametrize("text, answer", [
    # "unit" is mostly "unit usaha" in what was read: the figure's unit is read whole
    ("IKM mencapai 4,4 juta unit usaha (99,7% unit usaha industri, 40 unit usaha baru, 7 unit per hari).",
     "4,4 juta unit usaha"),
    # twice is no phrase; nor is a word followed by others, by punctuation or by a function word
    ("IKM mencapai 4,4 juta unit usaha (99,7% unit usaha industri).", "4,4 juta unit"),
    ("IKM mencapai 4,4 juta unit usaha (99,7% unit usaha industri, 40 unit mesin, 7 unit per hari).",
     "4,4 juta unit"),
    ("IKM mencapai 4,4 juta unit, naik dari 4,2 juta unit; dari 4 juta unit.", "4,4 juta unit"),
    ("IKM mencapai 4,4 juta unit di Jawa, 20 unit di Bali, 10 unit di Aceh.", "4,4 juta unit"),
])
def test_a_figure_is_read_with_the_phrase_its_unit_starts_in_what_was_read(text, answer):
    found = readings(QueryPlan.of("berapa jumlah IKM?"), [passage(text)], [[span_of("4,4 juta unit", text=text)]],
                     SURE)
    assert found[0].words == answer


def test_a_phrase_is_counted_over_all_the_passages_given():
    first = passage("IKM mencapai 4,4 juta unit usaha.")
    others = [passage("Totalnya 99,7% unit usaha industri."), passage("Ada 40 unit usaha baru.")]
    found = readings(QueryPlan.of("berapa jumlah IKM?"), [first, *others],
                     [[span_of("4,4 juta unit", text=first.text)], [], []], SURE)
    assert found[0].words == "4,4 juta unit usaha"


def test_a_why_answer_that_restates_the_question_goes_on_to_the_next_sentence():
    text = ("IKM didorong mengembangkan produk yang lebih inovatif dan berkualitas tinggi. Tujuannya agar produknya "
            "mampu bersaing di pasar global. Pameran digelar di Jakarta.")
    plan = QueryPlan.of("mengapa IKM didorong mengembangkan produk inovatif?")
    found = readings(plan, [passage(text)], [[span_of("berkualitas tinggi", 5.0, text)]], SURE)
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.text.startswith("IKM didorong") and short.text.endswith("pasar global.")


IKI = ("Indeks Kepercayaan Industri (IKI) pada Oktober 2024 mencapai 52,75 poin. Poin tersebut naik dari "
       "capaian sebelumnya pada bulan September 2024 sebesar 52,48 poin dan 1,2 persen. Gebyar IKMA 2024 "
       "melibatkan 137 IKM.")


def test_a_figure_of_another_period_leads_to_the_same_measure_in_the_period_asked():
    plan = QueryPlan.of("IKI bulan September 2024 berapa?")
    found = readings(plan, [passage(IKI)], [[span_of("52,75 poin", 6.0, IKI)]], SURE)
    assert [r.words for r in found] == ["52,75 poin", "52,48 poin"]  # not "1,2 persen": another measure
    sibling = found[1]
    assert sibling.margin == found[0].margin and sibling.coverage == found[0].coverage
    short = short_answer(plan, [passage(IKI)], found, SURE)
    # the reader found the measure, not this figure: shown in its passage, never the confident answer
    assert not short.confident and short.text is None
    assert [IKI[slice(*b.span)] for b in best_by_result(plan, [passage(IKI)], found, 1)] == ["52,48 poin"]


def test_a_sentence_whose_period_cannot_be_told_gives_no_sibling():
    text = "Pada Oktober 2024 IKI mencapai 52,75 poin. Tahun lalu IKI sebesar 52,48 poin."
    undated = passage(text, date=None, period=None)  # "tahun lalu" of no known date
    plan = QueryPlan.of("IKI tahun 2023 berapa?")
    assert [r.words for r in readings(plan, [undated], [[span_of("52,75 poin", 6.0, text)]], SURE)] == ["52,75 poin"]


@pytest.mark.parametrize("question", ["IKI bulan Oktober 2024 berapa?", "berapa IKI?", "kapan IKI 52,48 poin?"])
def test_a_figure_of_the_period_asked_or_of_no_period_has_no_siblings(question):
    plan = QueryPlan.of(question)
    read = readings(plan, [passage(IKI)], [[span_of("52,75 poin", 6.0, IKI)]], SURE)
    assert period_siblings(plan, passage(IKI), read[0], set(plan.content_stems), set(plan.stems)) == []


def test_a_result_whose_answer_the_reader_is_much_surer_of_goes_first():
    other = passage("Wamenperin Faisol Riza membuka pameran.")
    plan = QueryPlan.of("siapa Wamenperin?")
    found = readings(plan, [passage(), other], [[span_of("Kemenperin", 0.0)], [Span(11, 22, 5.0, 0.9)]], SURE)
    assert first_by_reading(plan, [passage(), other], best_by_result(plan, [passage(), other], found, 2)) == 1
    close = readings(plan, [passage(), other], [[span_of("Faisol Riza", 4.9)], [Span(11, 22, 5.0, 0.9)]], SURE)
    assert first_by_reading(plan, [passage(), other], best_by_result(plan, [passage(), other], close, 2)) == 0  # not by enough


def test_a_result_of_another_period_is_not_put_first_by_the_reader():
    old = passage("Pada 2022 IKM menyerap 12,39 juta tenaga kerja.", date="2023-05-30", period=Period.year(2022))
    plan = QueryPlan.of("berapa tenaga kerja IKM 2024?")
    found = readings(plan, [passage(), old], [[span_of("4,52 juta unit", 0.0)], [Span(23, 46, 6.0, 0.9)]], SURE)
    assert first_by_reading(plan, [passage(), old], best_by_result(plan, [passage(), old], found, 2)) == 0


def test_a_dateline_does_not_make_an_answer_of_another_period():
    text = ("Sepanjang tahun 2023 IKM menyerap 12,39 juta tenaga kerja. Selain itu, berkontribusi hingga 21,44% "
            "dari total nilai output industri, kata Reni, Kamis (4/1/2024).")
    said_in_2024 = passage(text, date="2024-01-04", period=Period.year(2023))
    plan = QueryPlan.of("berapa kontribusi IKM terhadap nilai output industri tahun 2023?")
    found = readings(plan, [said_in_2024], [[span_of("21,44%", 6.0, text)]], SURE)
    assert short_answer(plan, [said_in_2024], found, SURE).confident


def test_what_an_acronym_of_the_question_stands_for_is_the_question_s_own_words():
    text = "Indeks Kepercayaan Industri (IKI) pada September 2024 sebesar 52,48 poin."
    assert spelt_out(text, "IKI bulan September 2024 berapa?") == set(stems("Indeks Kepercayaan Industri"))
    plan = QueryPlan.of("IKI bulan September 2024 berapa?")
    found = readings(plan, [passage(text)], [[span_of("Indeks Kepercayaan Industri (IKI)", 6.0, text)]], SURE)
    assert found[0].restates and not found[0].can_answer


def test_passages_that_agree_count_for_each_other():
    plan = QueryPlan.of("siapa Wamenperin?")
    other = passage("Wamenperin Faisol Riza membuka pameran.")
    found = readings(plan, [passage(), other], [[span_of("Faisol Riza")], [Span(11, 22, 5.0, 0.9)]], SURE)
    assert [r.agreeing for r in found] == [1, 1]


@pytest.mark.parametrize("weights", READERS, ids=lambda w: f"{w.layers} layers")
def test_each_committed_calibration_loads_and_rises_with_the_margin(weights):
    calibration = Calibration.load(weights.calibration_file)
    assert json.loads(weights.calibration_file.read_text())["features"] == list(FEATURES)  # fitted on these features
    low, high = ([m, -1.0, 0, 0, 3, 1.0, 1.0, 0.0, 1.0, 0.0] for m in (0.0, 10.0))
    assert 0 < calibration.confidence(low) < calibration.confidence(high) < 1
    assert 0.3 < calibration.threshold < 1 and 0.3 < calibration.english_threshold < 1  # one for each language
    assert calibration.threshold_for(english=False) == calibration.threshold
    assert calibration.threshold_for(english=True) == calibration.english_threshold


def test_a_reading_says_whether_it_came_from_its_passages_best_window():
    plan = QueryPlan.of("siapa Wamenperin?")
    start = TEXT.index("Faisol Riza")
    spans = [Span(start, start + 11, 5.0, 0.9, best_window=False)]
    found = readings(plan, [passage()], [spans], Calibration.load(READERS[0].calibration_file))
    assert not found[0].best_window and found[0].features[FEATURES.index("best_window")] == 0.0


def test_a_span_made_only_of_the_question_s_words_is_no_answer():
    plan = QueryPlan.of("kapan IKI Oktober 2024 dirilis?")
    found = readings(plan, [passage()], [[span_of("Oktober 2024", 6.0)]], SURE)
    short = short_answer(plan, [passage()], found, SURE)
    assert found[0].confidence > SURE.threshold and not short.confident and short.text is None
    # a reading that says more than the question answers before one that only repeats it
    found = readings(plan, [passage()], [[span_of("Oktober 2024", 6.0), span_of("4,52 juta unit per Oktober 2024", 3.0)]],
                     SURE)
    assert short_answer(plan, [passage()], found, SURE).text == "4,52 juta unit per Oktober 2024"


def test_a_why_answer_may_start_from_a_span_that_restates_the_question():
    text = "IKM didorong mengembangkan produk inovatif. Tujuannya agar mampu bersaing di pasar global."
    plan = QueryPlan.of("mengapa IKM didorong mengembangkan produk inovatif?")
    found = readings(plan, [passage(text)], [[span_of("IKM didorong mengembangkan produk inovatif", 6.0, text)]], SURE)
    short = short_answer(plan, [passage(text)], found, SURE)
    assert short.confident and short.kind == SENTENCE and short.text.endswith("pasar global.")


def test_an_english_question_s_readings_say_so_and_meet_its_threshold():
    plan = QueryPlan.of("who is the Deputy Minister of Industry?")
    calibration = Calibration((1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0, 0.5, english_threshold=0.99)
    found = readings(plan, [passage()], [[span_of("Faisol Riza", 3.0)]], calibration)
    assert found[0].english and found[0].features[FEATURES.index("english")] == 1.0
    assert 0.5 < found[0].confidence < 0.99 and not found[0].sure(calibration)  # sure for Indonesian, not English
    indonesian = readings(QueryPlan.of("siapa Wamenperin?"), [passage()], [[span_of("Faisol Riza", 3.0)]], calibration)
    assert not indonesian[0].english and indonesian[0].sure(calibration)


def test_no_answer_is_confident_where_the_reader_would_rather_say_there_is_none():
    plan = QueryPlan.of("siapa Wamenperin?")
    trusting = Calibration((0.0,) * len(FEATURES), 5.0, 0.5)  # every reading 0.99 confident
    found = readings(plan, [passage()], [[span_of("Faisol Riza", -0.2), span_of("Kemenperin", 0.1)]], trusting)
    assert [r.sure(trusting) for r in found] == [False, True]


def test_an_acronym_question_is_answered_by_its_spelling_out_in_any_result():
    first, second = passage("IKM tumbuh pesat."), passage("Industri Kecil Menengah (IKM) menyerap tenaga kerja.")
    plan = QueryPlan.of("apa itu IKM?")
    found = spelled_out_readings(plan, [first, second])
    short = short_answer(plan, [first, second], found, SURE)
    assert short.confident and short.text == "Industri Kecil Menengah" and short.kind == SPAN
    assert short.confidence == SPELLED_OUT_CONFIDENCE and "(IKM)" in short.cited
    assert spelled_out_readings(QueryPlan.of("berapa IKM?"), [second]) == []


def test_the_readers_spans_do_not_vouch_for_what_a_thing_is():
    text = "Program restrukturisasi memberi potongan harga mesin kepada IKM."
    plan = QueryPlan.of("apa itu restrukturisasi mesin?")
    found = readings(plan, [passage(text)], [[span_of("potongan harga mesin", 9.0, text)]], SURE)
    assert found and not found[0].sure(SURE)
    assert not short_answer(plan, [passage(text)], found, SURE).confident


def test_a_readers_span_that_the_text_brackets_with_the_acronym_asked_is_vouched_for():
    text = "Kepala Badan Tenaga Atom Internasional (IAEA) datang ke Jakarta."
    plan = QueryPlan.of("apa itu IAEA?")
    assert spelled_out_readings(plan, [passage(text)]) == []  # a translation: its letters do not spell IAEA
    found = readings(plan, [passage(text)], [[span_of("Badan Tenaga Atom Internasional", 9.0, text),
                                              span_of("Jakarta", 8.0, text)]], SURE)
    assert [r.words for r in found if r.sure(SURE)] == ["Badan Tenaga Atom Internasional"]


DEPUTY = ("Wakil Menteri Perindustrian (Wamenperin) Faisol Riza mengatakan IKM telah menyerap 12,37 juta tenaga "
          "kerja. Menperin Agus Gumiwang Kartasasmita mengapresiasi kerja sama itu.")


@pytest.mark.parametrize("question, confident", [
    ("siapa menteri perindustrian?", False),  # Faisol Riza is the deputy
    ("siapa wakil menteri perindustrian?", True),
    ("who is the minister of industry?", False),  # in English, any such word the question does not say
    ("who is the deputy minister of industry?", True),
    ("siapa Wamenperin?", True),  # the bracketed acronym names the deputy's whole title
])
def test_a_name_given_a_role_that_is_someone_else_s_is_not_a_confident_answer(question, confident):
    plan = QueryPlan.of(question)
    found = readings(plan, [passage(DEPUTY)], [[span_of("Faisol Riza", 6.0, DEPUTY)]], SURE)
    assert short_answer(plan, [passage(DEPUTY)], found, SURE).confident is confident


def test_a_name_in_the_role_asked_comes_before_a_surer_one_in_someone_else_s():
    """The deputy is named with the title asked ("Wakil Menteri Perindustrian"), the minister only
    by his acronym ("Menperin") in the second result: his name answers, and his passage comes first."""
    minister = "Menperin Agus Gumiwang Kartasasmita mengapresiasi kerja sama Kemenperin dengan daerah."
    plan = QueryPlan.of("siapa menteri perindustrian?")
    passages = [passage(DEPUTY), passage(minister)]
    kind_counts = Calibration((1.0, 0, 0, 0, 0, 4.0), -4.0, 0.5)  # sigmoid(margin + 4 if of the kind asked - 4)
    found = readings(plan, passages, [[span_of("Faisol Riza", 4.0, DEPUTY)],
                                      [span_of("Agus Gumiwang Kartasasmita", 3.0, minister)]], kind_counts)
    deputy = next(r for r in found if r.words == "Faisol Riza")
    assert not deputy.acceptable and deputy.confidence == pytest.approx(kind_counts.confidence([4.0, 0, 0, 0, 0, 0]))
    assert short_answer(plan, passages, found, kind_counts).text == "Agus Gumiwang Kartasasmita"
    assert first_by_reading(plan, passages, best_by_result(plan, passages, found, 2)) == 1


def test_a_role_is_read_from_the_title_right_before_the_name():
    text = "DPRD menolak Wakil Gubernur Rudolf Pardede menggantikan Gubernur Tengku Rizal Nurdin yang meninggal."
    plan = QueryPlan.of("siapa gubernur yang meninggal?")
    start = text.index("Tengku")
    assert title_before(text, (start, start + 19), (0, len(text))) == ["menggantikan", "Gubernur"]
    assert not another_role(text, (start, start + 19), (0, len(text)), plan.question, set(plan.content_stems))
    start = text.index("Rudolf")
    assert title_before(text, (start, start + 14), (0, len(text))) == ["menolak", "Wakil", "Gubernur"]
    assert another_role(text, (start, start + 14), (0, len(text)), plan.question, set(plan.content_stems))


def test_a_span_that_is_itself_someone_elses_title_is_another_role():
    plan = QueryPlan.of("siapa menteri perindustrian?")
    start = DEPUTY.index("Wakil Menteri")
    end = DEPUTY.index(" Faisol")
    assert DEPUTY[start:end] == "Wakil Menteri Perindustrian (Wamenperin)"
    assert another_role(DEPUTY, (start, end), (0, len(DEPUTY)), plan.question, set(plan.content_stems))
    wamenperin = QueryPlan.of("siapa wakil menteri perindustrian?")  # asked for: the deputy's own
    assert not another_role(DEPUTY, (start, end), (0, len(DEPUTY)), wamenperin.question, set(wamenperin.content_stems))


def test_a_title_is_of_whom_it_names_right_after_it_or_before_it_and_a_comma():
    start, end = DEPUTY.index("Wakil"), DEPUTY.index(" Faisol")
    assert title_holder(DEPUTY, (start, end), (0, len(DEPUTY))) == ["Faisol", "Riza"]
    text = "Michael Shifter, Wakil Presiden Dialog Inter Amerika, mengatakan AS membingungkan."
    start, end = text.index("Wakil"), text.index(", mengatakan")
    assert title_holder(text, (start, end), (0, len(text))) == ["Shifter", "Michael"]
    assert title_holder(text, (0, text.index(",")), (0, len(text))) == []  # a name followed by its title


@pytest.mark.parametrize("question, another", [
    ("what is Faisol Riza's position?", False),  # asked for his own title, "Wakil" and all
    ("apa jabatan Faisol Riza?", False),
    ("who is the minister of industry?", True),
    ("siapa menteri perindustrian?", True),
])
def test_a_title_belongs_to_the_person_the_question_names(question, another):
    plan = QueryPlan.of(question)
    start, end = DEPUTY.index("Wakil"), DEPUTY.index(" Faisol")
    assert another_role(DEPUTY, (start, end), (0, len(DEPUTY)), plan.written, set(plan.content_stems),
                        plan.english) is another


def test_a_span_that_ends_a_title_keeps_its_modifier_when_the_question_names_its_holder():
    text = "Wakil Ketua Fraksi Partai Golkar (F-PG) A Azis Angkat mengatakan, sikap fraksinya masih jelas."
    start, end = text.index("Fraksi"), text.index(" A Azis")
    sentence = (0, len(text))
    assert with_whole_title(text, (start, end), sentence, "what is A Azis Angkat's position?") == 0
    assert with_whole_title(text, (start, end), sentence, "apa nama fraksi itu?") == start  # no holder named
    name = text.index("A Azis")
    assert with_whole_title(text, (name, name + len("A Azis Angkat")), sentence, "siapa A Azis Angkat?") == name  # a name
    plan = QueryPlan.of("what is A Azis Angkat's position?")
    found = readings(plan, [passage(text)], [[span_of("Fraksi Partai Golkar (F-PG)", 6.0, text)]], SURE)
    assert found[0].words == "Wakil Ketua Fraksi Partai Golkar (F-PG)" and found[0].can_answer


@pytest.mark.parametrize("question, answer", [
    ("siapa presiden Indonesia?", "Presiden Yudhoyono"),  # the vice president is someone else
    ("who is Indonesia's president?", "Presiden Yudhoyono"),
    ("siapa presiden dan wakil presiden?", "Presiden Yudhoyono dan Wakil Presiden (Wapres) Jusuf Kalla"),
    ("who are the president and the vice president?", "Presiden Yudhoyono dan Wakil Presiden (Wapres) Jusuf Kalla"),
])
def test_a_span_ends_before_someone_else_s_role_joined_to_it(question, answer):
    text = "Presiden Yudhoyono dan Wakil Presiden (Wapres) Jusuf Kalla menjawab nanti saja."
    plan = QueryPlan.of(question)
    found = readings(plan, [passage(text)], [[span_of("Presiden Yudhoyono dan Wakil Presiden (Wapres) Jusuf Kalla",
                                                      6.0, text)]], SURE)
    assert found[0].words == answer
    assert without_another_role(text, (0, 5), (0, len(text)), question, plan.english) == (0, 5)  # no list: as it was


def test_a_span_that_joins_the_named_person_s_title_to_another_is_his_title():
    text = "Presiden Yudhoyono dan Wakil Presiden (Wapres) Jusuf Kalla menjawab nanti saja."
    span = (0, text.index(" Jusuf"))
    start, end = without_another_role(text, span, (0, len(text)), "jabatan jusuf kalla apa")
    assert text[start:end] == "Wakil Presiden (Wapres)"


def test_a_role_modifier_far_before_the_span_or_of_another_word_says_nothing():
    plan = QueryPlan.of("siapa menteri perindustrian?")
    asked = set(plan.content_stems)
    start = DEPUTY.index("Agus")
    sentence = (DEPUTY.index("Menperin"), len(DEPUTY))
    assert not another_role(DEPUTY, (start, start + 4), sentence, plan.question, asked)  # another sentence
    text = "Mantan pemain bola itu kini menteri perindustrian, yakni Budi."
    assert not another_role(text, (text.index("Budi"), len(text) - 1), (0, len(text)), plan.question, asked)
