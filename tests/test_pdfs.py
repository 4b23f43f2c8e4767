"""PDF press releases: text in paragraphs, title and date, scanned PDFs refused."""

from pathlib import Path

import pytest
from fpdf import FPDF

from qa.errors import InvalidInputError
from qa.pdfs import paragraphs, read_pdf
from qa.reading import read_paths

FIRST = ("Kementerian Perindustrian mencatat ekspor furnitur rotan dari sentra industri Cirebon mencapai US$ 156 "
         "juta sepanjang Januari hingga Oktober 2024. Angka tersebut naik 12 persen dibandingkan periode yang sama "
         "tahun sebelumnya, didorong permintaan dari Eropa dan Amerika Serikat.")
SECOND = ("Direktur Jenderal Industri Kecil, Menengah dan Aneka mengatakan sebanyak 1.200 unit usaha rotan di "
          "Cirebon menyerap sekitar 60 ribu tenaga kerja. Pemerintah memberikan pelatihan desain dan sertifikasi "
          "legalitas kayu agar produk rotan dapat bersaing di pasar global.")
TITLE = "Kemenperin Dorong Ekspor Furnitur Rotan Cirebon"


def press_release(path: Path, metadata_title: str = "Microsoft Word - rilis final.docx") -> Path:
    """A born-digital siaran pers: letterhead, date, a headline in larger type, two paragraphs."""
    pdf = FPDF()
    pdf.set_title(metadata_title)
    pdf.add_page()
    lines = {"new_x": "LMARGIN", "new_y": "NEXT"}
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "SIARAN PERS\nKementerian Perindustrian Republik Indonesia\nJakarta, 21 November 2024", **lines)
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 8, TITLE, **lines)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, FIRST + "\n" + SECOND, **lines)
    pdf.output(str(path))
    return path


def test_text_title_and_date(tmp_path):
    text, found = read_pdf(press_release(tmp_path / "rilis.pdf"))
    assert found == {"title": TITLE, "date": "2024-11-21"}  # the metadata title names a file: not used
    assert FIRST in text.split("\n") and SECOND in text.split("\n")


def test_a_real_metadata_title_is_used(tmp_path):
    _, found = read_pdf(press_release(tmp_path / "rilis.pdf", metadata_title="Ekspor Rotan Naik"))
    assert found["title"] == "Ekspor Rotan Naik"


def test_a_scanned_pdf_is_refused_not_indexed_empty(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 100, 100, style="F")  # a page with a picture and no text layer
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(InvalidInputError, match="no text layer"):
        read_pdf(tmp_path / "scan.pdf")
    report = read_paths([tmp_path])
    assert not report.articles and "scan.pdf: no text layer" in report.skipped[0]


def test_lines_cut_at_the_margin_are_joined_into_paragraphs():
    page = ("JUDUL BESAR\nBaris pertama paragraf yang panjang sampai ke\nbatas kanan halaman dan berlanjut ke\n"
            "baris berikutnya.\nParagraf kedua pendek.")
    assert paragraphs(page).split("\n") == [
        "JUDUL BESAR", "Baris pertama paragraf yang panjang sampai ke batas kanan halaman dan berlanjut ke "
        "baris berikutnya.", "Paragraf kedua pendek."]
