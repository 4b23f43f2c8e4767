from hypothesis import given, strategies as st

from qa.cleaning import (
    MAX_LINE_CHARS, clean_lines, drop_repeats, is_boilerplate, is_near_duplicate, page_lines, repair_line,
)


def test_widget_lines_are_boilerplate():
    for line in ["ADVERTISEMENT", "Advertisement", "BACA JUGA: Lanskap Persaingan Harga", "Baca Juga",
                 "Berita Lainnya", "Related", "Editor: Ranto Rajagukguk", "Red: Nidia Zuraya",
                 "Foto: ANTARA/Ari Bowo Sucipto", "Version 1.88.1", "2024 © PT Dynamo Media Network",
                 "marketeers article", "Ilustrasi pekerja tekstil. Sumber gambar: 123rf.",
                 "Tentang KamiPedoman Media SiberKetentuan & Kebijakan PrivasiPanduan Komunitas"]:
        assert is_boilerplate(line), line


def test_article_sentences_are_not_boilerplate():
    assert not is_boilerplate("Kementerian Perindustrian mencatat jumlah IKM mencapai 4,52 juta unit.")
    assert not is_boilerplate("Iklan rokok dilarang di televisi sejak tahun lalu, kata menteri.")


def test_inline_adverts_and_glued_words_are_repaired():
    assert repair_line("waktu baca 2 menitADVERTISEMENT") == "waktu baca 2 menit"
    assert repair_line("pasar global.Hal tersebut") == "pasar global. Hal tersebut"
    assert repair_line("Tak hanya ituIKM terbukti") == "Tak hanya itu IKM terbukti"
    assert repair_line("hingga12,39 juta orang") == "hingga 12,39 juta orang"
    assert repair_line("menyerap 12,37 juta tenaga kerja .") == "menyerap 12,37 juta tenaga kerja."


def test_captions_beside_photo_credit_are_dropped():
    lines = [
        "Anggota komunitas menata produk di Galeri IKM Malang, Jumat (29/7/2022). ilustrasi",
        "Foto: ANTARA/Ari Bowo Sucipto",
        "Caption printed again below the photo",
        "REPUBLIKA.CO.ID, JAKARTA -- Direktur Jenderal Reni Yanita mengungkapkan hal itu kepada wartawan.",
    ]
    assert clean_lines(lines) == ["Direktur Jenderal Reni Yanita mengungkapkan hal itu kepada wartawan."]


def test_repeated_block_with_changed_dateline_is_kept_once():
    first = "“Melalui beragam program strategis, kami berupaya memacu daya saing IKM,” ujar Reni di Jakarta, Minggu (7/1/2023)."
    again = "“Melalui beragam program strategis, kami berupaya memacu daya saing IKM,” ujar Reni di Jakarta, Jumat (6/1)."
    other = "Dirjen IKMA mengatakan sektor IKM telah menyerap tenaga kerja hingga 12,39 juta orang."
    assert is_near_duplicate(first, again)
    assert not is_near_duplicate(first, other)
    assert clean_lines([first, other, again, other]) == [first, other]


def test_near_repeats_are_found_among_a_thousand_paragraphs():
    """Repeats are looked for among likely candidates, not all pairs: each must still be found,
    and no distinct paragraph dropped (the old all-pairs check took 10 minutes at this size)."""
    import random

    rng = random.Random(3)
    vocabulary = [f"kata{n}" for n in range(3000)]
    distinct = [" ".join(rng.sample(vocabulary, 40)) + "." for _ in range(1000)]
    page = list(distinct)
    for original in distinct[::10]:  # printed again further down, with two words changed
        words = original.split()
        words[5], words[20] = "Jumat", "(6/1)"
        page.insert(rng.randrange(page.index(original) + 1, len(page) + 1), " ".join(words))
    assert len(page) == 1100 and drop_repeats(page) == distinct


def test_a_run_of_spaces_is_one_space():
    """100 KB of spaces in a line once held a request for a minute (n² regex backtracking)."""
    assert repair_line("awal" + " " * 100_000 + "akhir kalimat (*)") == "awal akhir kalimat"
    assert repair_line("kata \t" * 20_000).count(" ") == 19_999


def test_trailing_signature_is_dropped():
    body = "Pemerintah mendorong program strategis di sektor IKM agar memiliki daya saing."
    assert clean_lines([body, "Albi"]) == [body]


def test_dateline_is_stripped_even_after_a_teaser():
    lines = ["Penguatan kolaborasi penting untuk pemulihan ekonomi.",
             "KETIK, JAKARTA – Kementerian Perindustrian menjalin sinergi dengan daerah."]
    assert clean_lines(lines)[1] == "Kementerian Perindustrian menjalin sinergi dengan daerah."


def test_prose_with_menu_words_is_not_a_menu():
    for line in [
        "Saat ini telah disiapkan 326 spot iklan tokoh agama di tujuh televisi. Juga 420 spot iklan TV.",
        "Sidang dihadiri anggota Perhimpunan Bantuan Hukum dan Lembaga Bantuan Hukum Makassar.",
        "Menurut ketentuan baru, syarat ekspor diperketat; ketentuan lama dicabut.",
    ]:
        assert not is_boilerplate(line), line


def test_reporter_codes_after_the_last_sentence_are_dropped():
    assert repair_line("Sidang ditunda hingga pekan depan. (LOK)") == "Sidang ditunda hingga pekan depan."
    assert repair_line("Kota Bandung berusia 195 tahun. (ynt / d03 / d09 / d15)") == "Kota Bandung berusia 195 tahun."
    assert repair_line("Sidang dihadiri lembaga swadaya masyarakat (LSM)") == "Sidang dihadiri lembaga swadaya masyarakat (LSM)"


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200), max_size=30))
def test_cleaning_any_lines_keeps_only_repaired_input_lines(lines):
    cleaned = clean_lines(lines)
    assert len(cleaned) <= len(lines)
    assert all(isinstance(line, str) and line.strip() for line in cleaned)


def test_a_paragraph_of_megabytes_is_read_as_bounded_lines_cut_at_sentence_ends():
    sentence = "Produksi IKM naik tajam tahun ini di banyak sentra. "
    text = "Judul\n" + sentence * 100_000 + "\nPenutup tanpa titik " + "x" * 25_000
    lines = page_lines(text)
    assert max(map(len, lines)) <= MAX_LINE_CHARS and "".join(lines) == text.replace("\n", "")
    body = lines[1:-4]
    assert all(line.endswith(".") for line in body)  # cut after a sentence, never inside a word
    assert lines[0] == "Judul" and page_lines("a\nb") == ["a", "b"]
