"""Web pages: main text and metadata from each big site's template (hand-made fixtures in the
shape of each site's pages, tests/fixtures/pages)."""

import json
from pathlib import Path

import pytest

from conftest import ROOT
from qa.reading import read_paths
from qa.webpages import read_html

PAGES = Path(__file__).parent / "fixtures" / "pages"
# The truth of each page, shared with benchmarks/ingest.py: (title, source, date). Each date
# sits somewhere else: detik's publishdate meta tag, Kompas's JSON-LD, CNN's
# article:published_time, ANTARA's meta tag, Tempo's JSON-LD only, Okezone's URL only, Liputan6's
# article:published_time, CNBC's dtk:publishdate; the undated page states none, and none is invented.
TRUTH = [json.loads(line) for line in (ROOT / "benchmarks" / "pages_truth.jsonl").read_text().splitlines()]
EXPECTED = {Path(t["file"]).stem: (t["title"], t["source"], t["date"]) for t in TRUTH}
# Lines each site adds around the story; none may reach a passage.
NOISE = ("Tonton juga", "Simak juga", "SCROLL TO CONTINUE", "Baca juga", "Dapatkan update", "Artikel ini telah tayang",
         "Gambas", "Pilihan Editor", "Cek berita", "Pedoman Media Siber", "Copyright", "Pewarta:", "(ada/ara)",
         "Saksikan Video", "Artikel Selanjutnya", "(haa/haa)")


@pytest.fixture(scope="module")
def articles():
    report = read_paths([PAGES])
    assert not report.skipped and not report.warnings
    return {a.id: a for a in report.articles}


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_title_source_and_date_per_site(articles, page):
    article = articles[page]
    assert (article.title, article.source, article.date) == EXPECTED[page]


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_only_the_story_is_kept(articles, page):
    text = articles[page].text
    assert len(text.split("\n")) >= 3
    assert not [noise for noise in NOISE if noise.lower() in text.lower()]
    assert not any(menu in text for menu in ("Nasional Internasional", "Berita Bursa", "Whats New"))


def test_the_canonical_link_is_the_url(articles):
    assert articles["kompas"].url.startswith("https://money.kompas.com/read/2024/11/20/")


def test_a_page_too_short_for_an_article_keeps_its_text():
    text, found = read_html('<html><head><meta property="og:site_name" content="Kompas"></head>'
                            '<body><p>Satu kalimat saja.</p></body></html>')
    assert (text, found) == ("Satu kalimat saja.", {"source": "Kompas"})


def test_a_date_is_never_guessed_from_text_in_the_page():
    html = ("<html><head><title>Tanpa tanggal</title></head><body><article>"
            + "<p>Rapat berikutnya dijadwalkan pada 15 Januari 2031 di gedung utama kementerian.</p>" * 5
            + "</article></body></html>")
    assert "date" not in read_html(html)[1]
