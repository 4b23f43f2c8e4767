import pytest

from qa.measures import asked_dimension, asks_a_time, figure_alone, measures_what_is_asked, unit_dimensions


@pytest.mark.parametrize("question, dimension", [
    ("Berapa hektar lahan tanaman kentang di Dieng?", "area"),
    ("Berapakah luas area Kebun Raya Cibodas?", "area"),
    ("Berapa tinggi Gunung Merapi?", "length"),
    ("Seberapa tinggikah Gunung Bogong?", "length"),  # "seberapa" asks as "berapa" does
    ("berapa jauh Bogor dari Jakarta?", "length"),
    ("berapa lama perjalanan Jakarta-Bandung?", "time"),
    ("Berapakah usia John Hall saat menerima Nobel?", "time"),
    ("harga pertamax turun jadi berapa?", "money"),  # the measure word before "berapa"
    ("Berapa ton beras yang diimpor?", "mass"),
    ("Pada tahun 2005, berapa dana yang dikucurkan?", "money"),  # a year before it sets the scene
    ("berapa jumlah IKM tahun 2023?", None),  # a count
    ("berapa tenaga kerja IKM?", None),
    ("Berapa tonkah produksi pupuk?", "mass"),
    ("Tanggal berapa Tonique Williams-Darling lahir?", None),  # a name, not "ton"
    ("how much was the machine restructuring program worth?", "money"),
    ("what was the budget of the program?", "money"),
    ("how tall is Mount Merapi?", "length"),
    ("how old is John Hall?", "time"),
    ("how long did the fair last?", None),  # a time or a length
    ("how much did IKM contribute to industrial output?", None),
    ("what was the industry confidence index in October 2024?", None),
])
def test_the_dimension_a_question_asks_for(question, dimension):
    assert asked_dimension(question) == dimension


def test_the_dimensions_of_an_answers_units():
    assert unit_dimensions("2.693 meter di atas permukaan laut") == {"length"}
    assert unit_dimensions("3.000 hektar") == {"area"}
    assert unit_dimensions("Rp 5.700 per liter") == {"money"}  # a rate: its numerator's
    assert unit_dimensions("10,23 mm/tahun") == {"length"}
    assert unit_dimensions("12,37 juta tenaga kerja") == set()
    assert unit_dimensions("Mal Kota Kasablanka") == set()  # "m" only as a word of its own


@pytest.mark.parametrize("words, question, ok", [
    ("2.693 meter di atas permukaan laut", "Berapa hektar lahan tanaman kentang di Dieng?", False),
    ("3.000 hektar", "Berapa hektar lahan tanaman kentang di Dieng?", True),
    ("3.000", "Berapa hektar lahan tanaman kentang di Dieng?", True),  # a bare figure may answer
    ("218 kilometer persegi", "Berapakah luas DAS Merawu?", True),
    ("10,23 mm per tahun", "Berapakah luas DAS Merawu?", False),
    ("Rp 5.400", "harga pertamax turun jadi berapa?", True),
    ("Rp 5.700 per liter", "harga pertamax turun jadi berapa?", True),
    ("71 tahun", "Berapakah usia John Hall?", True),
    ("35 kilogram", "Berapakah usia John Hall?", False),
    ("13 orang", "berapa korban diare yang tewas?", True),  # a count: no dimension asked
    ("dua persen per tahun", "berapa harga minyak meningkat?", True),  # a percentage has no dimension
    ("65 IKM", "berapa anggaran restrukturisasi mesin 2023?", False),  # a count of things, not money
    ("137 peserta", "berapa lama pameran berlangsung?", False),
    ("500 juta", "Berapakah dana yang dibutuhkan untuk restorasi candi Arjuna?", True),  # a magnitude counts nothing
    ("3.000 di antaranya", "Berapa hektar lahan yang terbakar?", True),
    ("153 Kebun Raya", "Berapakah umur Kebun Raya Cibodas pada tanggal 11 April 2006", True),  # its subject
    ("26,5 baht", "Berapa harga minyak per liter di Thailand?", True),
    ("2.469 dpl", "Berapakah tinggi Gunung Hulu Nilo?", True),
    ("dua dekade", "berapa lama konflik berlangsung?", True),
])
def test_a_figure_answers_in_the_dimension_asked(words, question, ok):
    assert measures_what_is_asked(words, question) is ok


@pytest.mark.parametrize("question, time", [
    ("sudah berapa lama perdagangan bebas menjadi pusat Eropa?", True),
    ("berapa usia John Hall?", True),
    ("how long has the treaty held?", True),  # a time or a length: a year may answer it
    ("how old is he?", True),
    ("berapa tenaga kerja IKM tahun 2024?", False),  # the year sets the scene
    ("how many workers did IKM absorb in 2023?", False),
])
def test_a_question_may_ask_a_time(question, time):
    assert asks_a_time(question) == time


@pytest.mark.parametrize("words, alone", [
    ("74 juta jiwa", True),
    ("Rp 5.700 per liter", True),
    ("7.000- 7.500 ekor", True),
    ("3,5%", True),
    ("(15)", True),
    ("2005", True),
    ("79.000 dollar AS", True),  # a unit of two words
    ("26,5 baht (Rp 6.500)", True),
    ("10 km jalan cepat", False),  # a race
    ("50 Alasan Mengapa Anwar Tak Bisa Menjadi Perdana Menteri", False),  # a book
    ("Khanun", False),
])
def test_a_figure_alone_is_a_number_with_at_most_its_unit(words, alone):
    assert figure_alone(words) == alone
