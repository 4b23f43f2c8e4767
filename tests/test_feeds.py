"""RSS and Atom: entries with their links, titles and dates as the publisher wrote them."""

from qa.feeds import feed_entries, is_feed

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>detikFinance</title>
<item><title>Pagi di Jakarta</title><link>https://finance.detik.com/d-1/a</link>
<pubDate>Tue, 19 Nov 2024 01:30:00 +0700</pubDate></item>
<item><title>Tanpa tautan</title></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Rilis</title>
<entry><title>Siaran pers</title><link href="https://kemenperin.go.id/artikel/1"/>
<updated>2024-11-21T23:10:00+07:00</updated><author><name>Biro Humas</name></author></entry></feed>"""


def test_rss_entries_keep_the_publishers_date():
    title, entries = feed_entries(RSS)
    assert title == "detikFinance"
    assert [(e.link, e.title, e.date) for e in entries] == [
        ("https://finance.detik.com/d-1/a", "Pagi di Jakarta", "2024-11-19")]  # not 18 November, as UTC would say


def test_atom_entries():
    _, entries = feed_entries(ATOM)
    assert [(e.link, e.title, e.date, e.author) for e in entries] == [
        ("https://kemenperin.go.id/artikel/1", "Siaran pers", "2024-11-21", "Biro Humas")]
    assert feed_entries(RSS)[1][0].author is None


def test_feeds_are_told_from_pages():
    assert is_feed(RSS) and is_feed(ATOM) and is_feed(RSS, "application/rss+xml")
    assert not is_feed(b"<!DOCTYPE html><html><body><p>rss</p></body></html>", "text/html")
    assert not is_feed(b"<html><body>halo</body></html>")


def test_an_entry_keeps_its_own_text_the_longest_the_feed_gives():
    rss = b"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
    <channel><title>Rilis</title><item><title>Siaran pers</title><link>https://kemenperin.go.id/a/1</link>
    <description>Ringkas.</description><content:encoded><![CDATA[<p>Isi lengkap siaran pers.</p>]]></content:encoded>
    </item><item><title>Hanya ringkasan</title><link>https://kemenperin.go.id/a/2</link>
    <description>Ringkasan saja.</description></item></channel></rss>"""
    _, entries = feed_entries(rss)
    assert [e.text for e in entries] == ["<p>Isi lengkap siaran pers.</p>", "Ringkasan saja."]
