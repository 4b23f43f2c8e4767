import pytest

from qa.definitions import asked_acronym, asks_for_a_definition, names_acronym, spelled_out


@pytest.mark.parametrize("question, acronym", [
    ("apa itu IKM?", "IKM"),
    ("Apakah kepanjangan dari JICA?", "JICA"),  # as FacQA asks it
    ("apa kepanjangan KPU", "KPU"),
    ("apa yang dimaksud dengan Bapepam?", "Bapepam"),
    ("DAK singkatan dari apa?", "DAK"),
    ("F-PG itu apa?", "F-PG"),
    ("what is IKI?", "IKI"),
    ("what does OVOP stand for?", "OVOP"),
    ("apa itu restrukturisasi?", None),  # no capital: a word, not an acronym
    ("apa itu sentra IKM?", None),  # two words
    ("siapa Dirjen IKMA?", None),
    ("what is the capital of Australia?", None),
])
def test_the_acronym_a_question_asks_about(question, acronym):
    assert asked_acronym(question) == acronym


@pytest.mark.parametrize("question, asks", [
    ("apa itu restrukturisasi mesin?", True),
    ("sentra IKM itu apa?", True),
    ("apa yang dimaksud dengan sentra IKM?", True),
    ("what is Gebyar IKMA?", True),
    ("what does restructuring mean?", True),
    ("apa itu IKM?", True),
    ("what is the capital of Australia?", False),  # "the ... of ...": a factoid
    ("what was the IKI in October 2024?", False),
    ("apa tujuan business matching bagi IKM?", False),
    ("berapa tenaga kerja IKM 2024?", False),
])
def test_questions_that_ask_what_a_thing_is(question, asks):
    assert asks_for_a_definition(question) is asks


@pytest.mark.parametrize("text, acronym, spelled", [
    ("Industri Kecil Menengah (IKM) tumbuh.", "IKM", "Industri Kecil Menengah"),
    # a title before the name is not part of it; "dan" may be left out of the letters
    ("kata Ketua Badan Rehabilitasi dan Rekonstruksi (BRR) kemarin.", "BRR", "Badan Rehabilitasi dan Rekonstruksi"),
    ("Direktur Jenderal Industri Kecil, Menengah, dan Aneka (IKMA) hadir.", "IKMA", "Industri Kecil, Menengah, dan Aneka"),
    ("Ketua Badan Pengawas Pasar Modal (Bapepam) berkata", "Bapepam", "Badan Pengawas Pasar Modal"),  # syllables
    ("sesuai perintah Undang-Undang (UU) itu", "UU", "Undang-Undang"),
    ("Wakil Ketua Fraksi Partai Golkar (F-PG)", "F-PG", "Fraksi Partai Golkar"),
    ("realisasi penanaman modal dalam negeri (PMDN) turun", "PMDN", "penanaman modal dalam negeri"),
    ("Program IKM (Industri Kecil Menengah) berjalan.", "IKM", "Industri Kecil Menengah"),  # spelled out after it
])
def test_an_acronym_is_spelled_out_by_its_letters(text, acronym, spelled):
    found = spelled_out(text, acronym)
    assert [text[start:end] for start, end in found] == [spelled]


@pytest.mark.parametrize("text, acronym", [
    ("Misi Deep Impact Badan Antariksa Amerika Serikat (NASA) berhasil.", "NASA"),  # a translation
    ("orang Melayu keturunan dari Pahang (Malaysia)", "Malaysia"),  # a place in brackets
    ("Industri Kecil. Menengah (KM) lalu", "IKM"),  # not bracketed as asked
    ("Industri Kecil Menengah. (IKM)", "IKM"),  # a full stop ends the name
    ("Sebanyak 65 (IKM) ikut.", "IKM"),
])
def test_words_that_do_not_spell_an_acronym_out_give_nothing(text, acronym):
    assert spelled_out(text, acronym) == []


@pytest.mark.parametrize("text, words, named", [
    ("kata Badan Tenaga Atom Internasional (IAEA) kemarin", "Badan Tenaga Atom Internasional", True),  # a translation
    ("menurut IAEA (Badan Tenaga Atom Internasional) kemarin", "Badan Tenaga Atom Internasional", True),
    ("kata Badan Tenaga Atom Internasional kemarin (IAEA)", "Badan Tenaga Atom Internasional", False),
    ("kata Badan Tenaga Atom Internasional (IAEA) kemarin", "Atom Internasional (IAEA)", False),
])
def test_words_the_text_brackets_with_the_acronym_name_it(text, words, named):
    start = text.index(words)
    assert names_acronym(text, (start, start + len(words)), "IAEA") is named
