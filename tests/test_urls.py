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
