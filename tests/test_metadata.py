"""Each default article: its title, publisher and date come out of the page text right."""

import pytest

from conftest import CORPUS
from qa.metadata import find_source, read_header
from qa.reading import read_paths

EXPECTED = {
    "000_72e7b393ea3bae9b": (
        "Kemenperin Catat 4,52 Juta Industri Kecil-Menengah, Serap 12,3 Juta Tenaga Kerja", "kumparan", "2024-11-15"),
    "001_638bb6d5c11608a6": (None, None, "2023-01-07"),
    "002_4528c1cd766606f4": ("Sepanjang 2023, IKM Mampu Serap 65,52% Tenaga Kerja", "marketeers", "2024-01-04"),
    "003_554943519e11eee4": ("Kemenperin: Pengembangan IKM tak Bisa Berjalan Sendiri", "Republika", "2022-08-10"),
    "004_a755d3cf77c3f16f": (None, "KETIK", "2023-05-30"),
}


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_default_article_metadata(doc_id):
    (article,) = read_paths([CORPUS / f"{doc_id}.txt"]).articles
    assert (article.title, article.source, article.date) == EXPECTED[doc_id]


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_metadata_lines_leave_the_body(doc_id):
    (article,) = read_paths([CORPUS / f"{doc_id}.txt"]).articles
    if article.title:
        assert article.title not in article.text
    for furniture in ("ADVERTISEMENT", "BACA JUGA", "Baca Juga", "Editor:", "Foto:", "WIB", "Berita Lainnya"):
        assert furniture not in article.text


def test_source_from_dateline_of_an_unknown_publisher():
    assert find_source("TRIBUN, MEDAN – Pemerintah kota menyalurkan bantuan.") == "TRIBUN"
    assert find_source("Jakarta – Pemerintah mendorong program strategis.") is None


def test_photo_credit_is_not_a_publisher():
    assert find_source("Foto: ANTARA/Ari Bowo Sucipto\nJakarta – Sebuah berita.") is None


def test_header_stops_at_the_body():
    meta = read_header(["Judul Berita Yang Pendek", "Badan berita dimulai di sini dengan kalimat panjang.",
                        "Baris Pendek Lain"])
    assert meta.title == "Judul Berita Yang Pendek"
    assert meta.header_lines == {0}


def test_one_line_article_is_body_not_title():
    meta = read_header(["Mimpi Mengembangkan Ekowisata Pulau Bali"])
    assert meta.title is None and not meta.header_lines
