import json

import pytest
from hypothesis import given, strategies as st

from conftest import CORPUS
from qa.errors import InvalidInputError
from qa.reading import markdown_to_text, read_paths, read_records

BODY = "Kementerian Perindustrian mencatat jumlah industri kecil dan menengah mencapai 4,52 juta unit."


def test_reads_the_default_corpus_folder():
    report = read_paths([CORPUS])
    assert len(report.articles) == 5 and not report.skipped and not report.warnings


def test_jsonl_keeps_fields_and_reports_bad_lines_by_number(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a1", "text": BODY, "title": "Judul", "date": "2024-11-15", "source": "kumparan",
                    "url": "https://example.org/a1"}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": BODY + " Kedua."}),
    ]), encoding="utf-8")
    report = read_paths([path])
    first, second = report.articles
    assert (first.id, first.title, first.date, first.source, first.url) == (
        "a1", "Judul", "2024-11-15", "kumparan", "https://example.org/a1")
    assert second.id == "news-4"
    assert [s.split(": ")[0] for s in report.skipped] == [f"{path}:2", f"{path}:3"]


def test_an_author_comes_from_a_record_one_or_several(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "one", "text": BODY, "author": "Sugiharto Purnama"},
        {"id": "two", "text": BODY + " Dua.", "author": ["Ani", "Budi"]},
        {"id": "none", "text": BODY + " Tiga."},
    ]), encoding="utf-8")
    assert [a.author for a in read_paths([path]).articles] == ["Sugiharto Purnama", "Ani, Budi", None]


def test_unparseable_jsonl_date_is_reported_and_left_empty(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"text": BODY, "date": "kemarin sore"}), encoding="utf-8")
    report = read_paths([path])
    assert report.articles[0].date is None
    assert "kemarin sore" in report.warnings[0]


def test_sidecar_overrides_what_the_page_says(tmp_path):
    (tmp_path / "a.txt").write_text((CORPUS / "000_72e7b393ea3bae9b.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps({"source": "Kemenperin", "date": "2024-11-16", "url": "https://x.id"}))
    report = read_paths([tmp_path])
    (article,) = report.articles
    assert (article.source, article.date, article.url) == ("Kemenperin", "2024-11-16", "https://x.id")
    assert article.title.startswith("Kemenperin Catat")
    assert not report.warnings  # a sidecar is not an unknown file


def test_unknown_non_utf8_and_empty_files_are_reported_and_skipped(tmp_path):
    (tmp_path / "ok.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Kementerian Perindustrian mencatat caf\xe9".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "data.xlsx").write_bytes(b"PK\x03\x04")
    report = read_paths([tmp_path])
    assert [a.id for a in report.articles] == ["ok"]
    assert any("latin1.txt" in s and "UTF-8" in s for s in report.skipped)
    assert any("empty.txt" in s for s in report.skipped)
    assert any("broken.pdf" in s and "PDF" in s for s in report.skipped)
    assert any("data.xlsx" in w and "not an article format" in w for w in report.warnings)


def test_an_article_over_the_size_cap_is_skipped_and_a_big_jsonl_is_read_line_by_line(tmp_path):
    """A 200 MB .txt once filled memory with no output; now one article holds at most 5 MB."""
    from qa.reading import MAX_ARTICLE_BYTES

    (tmp_path / "besar.txt").write_text("kata " * (MAX_ARTICLE_BYTES // 5 + 1), encoding="utf-8")
    lines = [json.dumps({"id": "satu", "text": BODY}), json.dumps({"id": "raksasa", "text": "x" * MAX_ARTICLE_BYTES}),
             json.dumps({"id": "dua", "text": BODY + " Kedua."})]
    (tmp_path / "data.jsonl").write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "rusak", "text": "caf\xe9"}\n')
    report = read_paths([tmp_path])
    assert sorted(a.id for a in report.articles) == ["dua", "satu"]
    skipped = "\n".join(report.skipped)
    assert "besar.txt: 5.0 MB, more than the 5 MB one article may hold; split it" in skipped
    assert "data.jsonl:2: 5.0 MB, more than the 5 MB one article may hold" in skipped
    assert "data.jsonl:4: not UTF-8 text (byte 28)" in skipped  # the other lines are read


def test_links_are_followed_inside_the_folder_only_and_bad_ones_reported(tmp_path):
    """A link to a system file once got that file indexed and served."""
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "asli.txt").write_text("Judul\n\nPabrik baterai diresmikan di Batang hari ini.", encoding="utf-8")
    secret = tmp_path / "rahasia.txt"
    secret.write_text("Judul rahasia\n\nIsi berkas di luar folder korpus yang tidak boleh diindeks.", encoding="utf-8")
    (folder / "dalam.txt").symlink_to(folder / "sub" / "asli.txt")
    (folder / "luar.txt").symlink_to(secret)
    (folder / "hilang.txt").symlink_to(tmp_path / "tidak-ada.txt")
    (folder / "putaran.txt").symlink_to(folder / "putaran.txt")
    (folder / "map").symlink_to(tmp_path)
    report = read_paths([folder])
    texts = [a.text for a in report.articles]
    assert len(texts) == 2 and all("Batang" in t for t in texts)  # the file, and the link to it inside
    warnings = "\n".join(report.warnings)
    assert f"luar.txt: skipped, a link to {secret}, outside {folder}" in warnings
    assert "hilang.txt: skipped, a link to nothing" in warnings and "putaran.txt: skipped, a link that loops" in warnings
    assert "map: skipped, a link to a folder" in warnings
    followed = read_paths([folder], follow_links=True)
    assert any("rahasia" in a.text or "luar folder" in a.text for a in followed.articles)


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file"):
        read_paths([tmp_path / "nope"])


def test_html_file_becomes_an_article(tmp_path):
    (tmp_path / "a.html").write_text(
        f'<html><head><meta property="og:site_name" content="Kompas"></head><body><p>{BODY}</p></body></html>',
        encoding="utf-8")
    (article,) = read_paths([tmp_path]).articles
    assert (article.source, article.text) == ("Kompas", BODY)


def test_a_sidecar_beats_the_page_markup_which_beats_the_text(tmp_path):
    (tmp_path / "a.html").write_text(
        '<html><head><meta property="og:title" content="Judul dari markup">'
        '<meta property="article:published_time" content="2024-11-15T09:00:00+07:00"></head>'
        f'<body><p>Senin, 1 Januari 2024</p><p>{BODY}</p></body></html>', encoding="utf-8")
    (article,) = read_paths([tmp_path]).articles
    assert (article.title, article.date) == ("Judul dari markup", "2024-11-15")
    (tmp_path / "a.json").write_text('{"title": "Judul dari sidecar", "date": "2024-12-01"}', encoding="utf-8")
    (article,) = read_paths([tmp_path]).articles
    assert (article.title, article.date) == ("Judul dari sidecar", "2024-12-01")


def test_mojibake_is_repaired_in_text_and_metadata(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "m", "title": "Suhu Â±30 derajat",
                                                  "text": "Suhu Â±30 derajat dan â€œpanasâ€\x9d. " + BODY}) + "\n",
                                      encoding="utf-8")
    (article,) = read_paths([tmp_path]).articles
    assert article.title == "Suhu ±30 derajat"
    assert article.text.startswith("Suhu ±30 derajat dan “panas”.")


def test_a_known_publishers_link_names_the_source(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "d", "url": "https://finance.detik.com/d-1/x",
                                                  "text": BODY}) + "\n", encoding="utf-8")
    assert read_paths([tmp_path]).articles[0].source == "detik"


def test_markdown_front_matter_heading_and_links():
    text, meta = markdown_to_text(
        "---\ndate: 2024-11-15\nsource: kumparan\n---\n# Judul Berita\n\nLihat [laporan](http://x) **ini**.\n")
    assert meta == {"date": "2024-11-15", "source": "kumparan", "title": "Judul Berita"}
    assert text.strip() == "Lihat laporan ini."


def test_one_line_jsonl_articles_keep_their_text(tmp_path):
    path = tmp_path / "short.jsonl"
    lines = ["Mimpi Mengembangkan Ekowisata Pulau Bali",
             "Begitulah Kota Bandung yang menapak usia ke - 195 tahun, Minggu (25/9). (ynt / d03 / d09 / d15)"]
    path.write_text("\n".join(json.dumps({"text": t}) for t in lines), encoding="utf-8")
    report = read_paths([path])
    assert [a.text for a in report.articles] == [lines[0], lines[1].replace(" (ynt / d03 / d09 / d15)", "")]


def test_records_become_cleaned_articles_with_ids_from_their_text():
    first, second = read_records([
        {"id": "a1", "text": BODY + "\nBACA JUGA: Berita lain", "date": "15 November 2024", "source": "kumparan"},
        {"text": BODY},
    ])
    assert (first.id, first.date, first.source, first.text) == ("a1", "2024-11-15", "kumparan", BODY)
    assert second.id.startswith("a-") and read_records([{"text": BODY}])[0].id == second.id


@pytest.mark.parametrize("records, message", [
    ([{"text": BODY, "date": "kemarin"}], r"articles\[0\]: date 'kemarin' not understood"),
    ([{"text": BODY}, {"title": "x"}], r"articles\[1\]: needs a non-empty string field 'text'"),
    ([{"text": BODY, "id": "a"}, {"text": BODY, "id": "a"}], "appears twice"),
    ([{"text": BODY, "title": ["x"]}], "field 'title' must be a string"),
    ([{"text": "BACA JUGA: iklan"}], "no text left after cleaning"),
])
def test_records_are_all_or_nothing(records, message):
    with pytest.raises(InvalidInputError, match=message):
        read_records(records)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
RECORD = st.fixed_dictionaries({}, optional={k: JSON | st.text() for k in ["id", "text", "title", "date", "source", "url"]})


@given(st.lists(RECORD | JSON, max_size=4))
def test_any_json_is_articles_or_a_clear_refusal(records):
    try:
        articles = read_records(records)
    except InvalidInputError as exc:
        assert str(exc).startswith("articles[")
    else:
        assert all(a.text.strip() and a.id for a in articles)


def test_half_a_utf16_pair_escaped_in_json_becomes_a_replacement_character(tmp_path):
    """JSON may hold "\\ud800" alone; no file, terminal or SQLite text can, and one such record
    used to fail the write of its whole batch."""
    (tmp_path / "feed.jsonl").write_text(
        '{"id": "a", "text": "Produksi naik \\ud800 tahun ini.", "title": "Judul \\udcff"}\n'
        '{"id": "b", "text": "Ekspor tumbuh \\ud83d\\ude00 pesat."}\n', encoding="utf-8")
    a, b = read_paths([tmp_path]).articles
    assert (a.text, a.title) == ("Produksi naik \ufffd tahun ini.", "Judul \ufffd")
    assert b.text == "Ekspor tumbuh \U0001F600 pesat."  # a whole pair is one character, kept
    (record,) = read_records([{"text": "Harga \udc80 naik."}])
    assert record.text == "Harga \ufffd naik." and record.id.startswith("a-")
