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
# article:published_time, CNBC's dtk:publishdate, Media Indonesia's article:published_time; the
# undated page states none, and none is invented.
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


STORY = "".join(f"<p>Paragraf {i} berita ini cukup panjang untuk dianggap isi artikel oleh pembacanya.</p>"
                for i in range(6))


def _page(head: str, before_story: str) -> str:
    return f"<html><head>{head}</head><body><div class='menu'>Beranda</div>{before_story}<article>{STORY}</article></body></html>"


def test_the_site_name_in_the_page_title_is_cut_by_the_headline():
    # A regional desk's suffix ("Kompas.com Regional") and an <h1> that holds the headline alone.
    html = _page('<meta property="og:title" content="Polres Serahkan Tersangka ke Kejaksaan - Kompas.com Regional">'
                 '<meta property="og:site_name" content="KOMPAS.com">',
                 "<h1>Polres Serahkan Tersangka ke Kejaksaan</h1>")
    assert read_html(html)[1]["title"] == "Polres Serahkan Tersangka ke Kejaksaan"


def test_the_site_name_is_cut_without_a_headline_element():
    for title, site in (("KapanLagi.com: Penyanyi Ini Rilis Album Baru", "KapanLagi.com"),
                        ("Jamaah Haji Ikuti Pemeriksaan Kesehatan | ihram.co.id", "Republika Online"),
                        ("Ini 7 Alasan Orang Malas Bergerak | Tempo Gaya", "Tempo")):
        html = _page(f'<title>{title}</title><meta property="og:site_name" content="{site}">', "")
        assert read_html(html)[1]["title"] == title.replace("KapanLagi.com: ", "").split(" | ")[0]


def test_the_publisher_is_the_name_the_title_gives_the_host_not_a_twitter_handle():
    # No og:site_name: trafilatura reads the Twitter handle ("Jakpost") as the site's name.
    head = ('<title>Banjir Rendam Jakarta Utara | The Harian Post</title>'
            '<meta name="twitter:site" content="@harpost">'
            '<link rel="canonical" href="https://www.theharianpost.com/news/2031/01/15/banjir.html">')
    assert read_html(_page(head, ""))[1]["source"] == "The Harian Post"
    # A title whose parts do not spell the host leaves the host as the publisher.
    head = head.replace("The Harian Post", "Berita Lain").replace('<meta name="twitter:site" content="@harpost">', "")
    assert read_html(_page(head, ""))[1]["source"] == "theharianpost.com"


def test_a_title_that_only_looks_split_keeps_its_words():
    # "Jokowi" is who spoke, not the site (og:site_name "Harian Rakyat").
    html = _page('<title>Jokowi: Ekonomi Tumbuh 5 Persen</title><meta property="og:site_name" content="Harian Rakyat">', "")
    assert read_html(html)[1]["title"] == "Jokowi: Ekonomi Tumbuh 5 Persen"


def test_a_longer_headline_element_with_a_logo_is_not_the_title():
    html = _page('<meta property="og:title" content="Sering Depresi, Hati-Hati Diabetes">'
                 '<meta property="og:site_name" content="Okezone">',
                 "<h1><span>Okezone</span> Sering Depresi, Hati-Hati Diabetes - Health</h1>")
    assert read_html(html)[1]["title"] == "Sering Depresi, Hati-Hati Diabetes"


def test_a_teaser_above_the_headline_is_not_the_story(articles):
    # Media Indonesia's pages open with the day's e-paper headline: a "Headline" label and a line
    # of another story, above the story's <h1> (which has a colon the page title lacks)
    text = articles["mediaindonesia"].text
    assert text.startswith("EKSPOR rumput laut") and "Headline" not in text and "Pemangkasan transfer" not in text


def test_a_line_above_the_headline_that_the_story_also_holds_stays():
    first = "Paragraf 0 berita ini cukup panjang untuk dianggap isi artikel oleh pembacanya."
    html = _page('<meta property="og:title" content="Polres Serahkan Tersangka">',
                 f"<p>{first}</p><h1>Polres Serahkan Tersangka</h1>")
    assert read_html(html)[0].startswith(first)


def test_the_byline_under_the_headline_dates_a_page_without_date_markup():
    html = _page("<title>KapanLagi.com: Penyanyi Rilis Album</title>",
                 "<h1>Penyanyi Rilis Album</h1><span class='schedule'>Kamis, 05 November 2015 11:52</span>")
    assert read_html(html)[1]["date"] == "2015-11-05"


def test_a_date_in_the_story_under_the_headline_is_not_the_byline():
    paragraph = "<p>Rapat berikutnya dijadwalkan pada 15 Januari 2031 di gedung utama kementerian pusat kota.</p>"
    html = _page("<title>Rapat Kementerian</title>", f"<h1>Rapat Kementerian Dijadwalkan</h1>{paragraph}")
    assert "date" not in read_html(html)[1]


def test_date_markup_wins_over_the_byline():
    html = _page('<title>Penyanyi Rilis Album</title>'
                 '<meta property="article:published_time" content="2016-02-16T13:01:52+0700">',
                 "<h1>Penyanyi Rilis Album</h1><span>Kamis, 05 November 2015 11:52</span>")
    assert read_html(html)[1]["date"] == "2016-02-16"


def test_the_author_the_markup_names_is_kept():
    html = _page('<title>Penyanyi Rilis Album</title><meta name="author" content="Ani Suryani">',
                 "<h1>Penyanyi Rilis Album</h1>")
    assert read_html(html)[1]["author"] == "Ani Suryani"


def test_authors_from_each_sites_markup(articles):
    # detik's dtk:author meta tag, Kompas's and Tempo's JSON-LD (one person, and a list of them)
    authors = {page: articles[page].author for page in ("detik", "kompas", "tempo", "undated")}
    assert authors == {"detik": "Aulia Damayanti", "kompas": "Elsa Catriana", "tempo": "Riri Rahayu", "undated": None}


@pytest.mark.parametrize("author, site, expected", [
    ("mediaindonesia.com developer", "Media Indonesia", None),  # the site's own name
    ("Kompas Cyber Media", "KOMPAS.com", None),
    ("PT VIVA MEDIA BARU", "VIVA.co.id", None),  # a company
    ("Web Design; Development", "Tempo.co", None),  # the template's web team
    ("Pewarta: Nur Imansyah", "ANTARA News", "Nur Imansyah"),  # a byline's label
    ("mediaindonesia.com developer; Indriyani Astuti", "Media Indonesia", "Indriyani Astuti"),
    ("Ani Suryani; Budi Santoso", "Kompas.com", "Ani Suryani, Budi Santoso"),
])
def test_an_author_is_kept_only_where_it_names_a_person(author, site, expected):
    """What the author meta tag held on real pages of five Indonesian sites."""
    html = _page(f'<title>Penyanyi Rilis Album</title><meta name="author" content="{author}">'
                 f'<meta property="og:site_name" content="{site}">', "<h1>Penyanyi Rilis Album</h1>")
    assert read_html(html)[1].get("author") == expected
