"""CSV, TSV and Parquet exports: column mapping, recognised names, bad rows, big cells."""

import csv

import pytest

from qa.errors import InvalidInputError
from qa.reading import read_paths
from qa.tables import column_plan, parse_columns

STORY = "Harga cabai rawit merah di Pasar Induk Kramat Jati tembus Rp 80 ribu per kilogram pada pekan ini."


def write_csv(path, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_parse_columns():
    assert parse_columns("text=isi_berita, title=judul") == {"text": "isi_berita", "title": "judul"}
    with pytest.raises(InvalidInputError, match="unknown field 'body'.*text, title"):
        parse_columns("body=isi")
    with pytest.raises(InvalidInputError, match="FIELD=COLUMN"):
        parse_columns("text")


def test_columns_are_found_by_common_names_and_the_mapping_wins():
    header = ["Judul", "Isi Berita", "tanggal", "link", "konten"]
    assert column_plan(header, {}, "x.csv") == {"text": "Isi Berita", "title": "Judul", "date": "tanggal",
                                                "url": "link"}
    assert column_plan(header, {"text": "konten"}, "x.csv")["text"] == "konten"
    with pytest.raises(InvalidInputError, match="no column 'isi'.*Judul, Isi Berita"):
        column_plan(header, {"text": "isi"}, "x.csv")
    with pytest.raises(InvalidInputError, match="no column for the article text.*--columns"):
        column_plan(["a", "b"], {}, "x.csv")


def test_rows_become_articles_and_bad_rows_are_reported_by_number(tmp_path):
    rows = [
        {"judul": "Cabai mahal", "isi_berita": STORY, "tanggal": "Senin, 18 Nov 2024 14:05 WIB",
         "tautan": "https://finance.detik.com/d-1/cabai"},
        {"judul": "Tanpa isi", "isi_berita": " ", "tanggal": "18/11/2024", "tautan": ""},
        {"judul": "Tanggal aneh", "isi_berita": STORY.replace("cabai", "bawang"), "tanggal": "kemarin sore",
         "tautan": ""},
    ]
    report = read_paths([write_csv(tmp_path / "ekspor.csv", rows)],
                        columns=parse_columns("text=isi_berita,title=judul,date=tanggal,url=tautan"))
    first, third = report.articles
    assert (first.id, first.title, first.date, first.source, first.url) == (
        "ekspor-2", "Cabai mahal", "2024-11-18", "detik", "https://finance.detik.com/d-1/cabai")
    assert (third.id, third.date) == ("ekspor-4", None)
    assert report.skipped == [f"{tmp_path / 'ekspor.csv'}: row 3: needs a non-empty string field 'text'"]
    assert report.warnings == [f"{tmp_path / 'ekspor.csv'}: row 4: date 'kemarin sore' not understood; left empty"]


def test_the_writers_column_is_the_author(tmp_path):
    rows = [{"judul": "Cabai mahal", "isi_berita": STORY, "penulis": "Ani Suryani"}]
    assert read_paths([write_csv(tmp_path / "ekspor.csv", rows)]).articles[0].author == "Ani Suryani"


def test_multi_line_cells_semicolons_and_tabs(tmp_path):
    rows = [{"title": "Satu", "content": STORY + "\n\nParagraf kedua; dengan titik koma, dan koma."}]
    for name, delimiter in (("a.csv", ";"), ("b.tsv", "\t"), ("c.csv", ",")):
        (article,) = read_paths([write_csv(tmp_path / name, rows, delimiter)]).articles
        assert article.text == STORY + "\nParagraf kedua; dengan titik koma, dan koma."
        assert article.title == "Satu"


def test_a_table_without_a_text_column_is_reported(tmp_path):
    report = read_paths([write_csv(tmp_path / "x.csv", [{"a": "1", "b": "2"}])])
    assert not report.articles
    assert "no column for the article text" in report.skipped[0]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import datetime as dt

    import pyarrow.parquet as pq

    table = pa.table({"judul": ["Cabai mahal"], "isi": [STORY], "waktu": [dt.datetime(2024, 11, 18, 14, 5)]})
    pq.write_table(table, tmp_path / "berita.parquet")
    (article,) = read_paths([tmp_path / "berita.parquet"]).articles
    assert (article.id, article.title, article.date, article.text) == ("berita-2", "Cabai mahal", "2024-11-18", STORY)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "not a Parquet file" in read_paths([tmp_path / "bad.parquet"]).skipped[0]
