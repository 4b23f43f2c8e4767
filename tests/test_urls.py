"""Pages and feeds by URL, from the local news site: feed entries fetched and read as pages,
what is indexed already never fetched again, feed validators kept only once committed."""

import json

from qa.fetching import FetchPolicy
from qa.reading import read_paths
from qa.types import ReadReport
from qa.urls import FEED_STATE_FILE, WebReader, url_id

LOCAL = FetchPolicy(timeout_s=5, max_bytes=5_000_000, max_redirects=3, allow_private=True)


def test_a_page_url(news_site):
    report = read_paths([f"{news_site.base}/pindah"], web=WebReader(LOCAL))
    (article,) = report.articles
    assert article.id == url_id(f"{news_site.base}/pindah")
    assert (article.title, article.source, article.date) == (
        "Produksi Garam Nasional 2024 Capai 2,5 Juta Ton", "Kompas", "2024-11-20")


def test_a_feed_gives_its_entries_with_the_entry_as_fallback(news_site):
    report = read_paths([f"{news_site.base}/rss.xml"], web=WebReader(LOCAL))
    by_title = {a.title: a for a in report.articles}
    assert set(by_title) == {"Ekspor Kopi Lampung Naik 18 Persen pada Oktober 2024",
                             "Kunjungan wisman ke Bali capai 5,3 juta orang", "Mengenal Tenun Ikat Sumba"}
    assert by_title["Ekspor Kopi Lampung Naik 18 Persen pada Oktober 2024"].date == "2024-11-18"  # the page's own
    undated = by_title["Mengenal Tenun Ikat Sumba"]
    assert (undated.date, undated.url) == ("2024-11-30", f"{news_site.base}/berita/undated")  # the entry's


def test_entries_already_indexed_are_not_fetched(news_site):
    indexed = {url_id(f"{news_site.base}/berita/detik"), url_id(f"{news_site.base}/berita/antara")}
    before = len(news_site.requests)
    report = read_paths([f"{news_site.base}/rss.xml"], web=WebReader(LOCAL, known=lambda ids: indexed & set(ids)))
    assert [a.title for a in report.articles] == ["Mengenal Tenun Ikat Sumba"]
    assert [path for path, _ in news_site.requests[before:]] == ["/rss.xml", "/berita/undated"]
    assert report.known == 2


def test_feed_validators_are_kept_once_committed_and_sent_next_time(news_site, tmp_path):
    feed = f"{news_site.base}/rss.xml"
    reader = WebReader(LOCAL, tmp_path)
    reader.read_url(feed, ReadReport())
    assert not (tmp_path / FEED_STATE_FILE).exists()  # nothing committed yet: a crash now refetches all
    reader.save_validators()
    assert json.loads((tmp_path / FEED_STATE_FILE).read_text())[feed]["etag"] == '"feed-v1"'
    again = ReadReport()
    assert WebReader(LOCAL, tmp_path).read_url(feed, again) == []
    assert again.known == 1 and "unchanged" in again.warnings[0]


def test_a_failing_link_is_reported_and_the_rest_are_read(news_site):
    report = read_paths([f"{news_site.base}/tidak-ada", f"{news_site.base}/berita/tempo"], web=WebReader(LOCAL))
    assert [a.title for a in report.articles] == ["Kereta Cepat Whoosh Angkut 5 Juta Penumpang"]
    assert "HTTP 404" in report.skipped[0]


def test_a_feed_file(news_site, tmp_path):
    from news_site import feed_xml

    (tmp_path / "berita.rss").write_bytes(feed_xml(news_site.base))
    report = read_paths([tmp_path / "berita.rss"], web=WebReader(LOCAL))
    assert len(report.articles) == 3


def test_an_entry_that_cannot_be_fetched_is_read_from_a_full_text_feed(news_site, tmp_path):
    """A full-text feed: an entry whose link fails is read from the feed's own text of it, with
    the entry's title, date and link; a teaser is not indexed in the article's place."""
    article = " ".join(["Kementerian Perindustrian melatih 120 pelaku IKM batik di Pekalongan agar produk "
                        "mereka menembus pasar ekspor."] * 8)
    rss = (f'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
           f"<channel><title>Rilis</title>"
           f"<item><title>Pelatihan Batik</title><link>{news_site.base}/hilang-1</link>"
           f"<pubDate>Tue, 03 Dec 2024 09:00:00 +0700</pubDate><description>Ringkas.</description>"
           f"<content:encoded><![CDATA[<p>{article}</p>]]></content:encoded></item>"
           f"<item><title>Hanya ringkasan</title><link>{news_site.base}/hilang-2</link>"
           f"<description>Pelatihan batik di Pekalongan.</description></item></channel></rss>")
    (tmp_path / "rilis.rss").write_text(rss, encoding="utf-8")
    report = read_paths([tmp_path / "rilis.rss"], web=WebReader(LOCAL))
    [read] = report.articles
    assert (read.title, read.date, read.url, read.source) == (
        "Pelatihan Batik", "2024-12-03", f"{news_site.base}/hilang-1", "127.0.0.1")
    assert "120 pelaku IKM batik" in read.text and read.id == url_id(f"{news_site.base}/hilang-1")
    assert any("hilang-1" in w and "feed's own text" in w for w in report.warnings)
    assert len(report.skipped) == 1 and "hilang-2" in report.skipped[0] and "HTTP 404" in report.skipped[0]
