"""Fetching under limits, against the local news site: redirects, loops, slow and huge
answers, refused addresses, conditional requests."""

import time

import pytest

from qa.errors import FetchError, FetchRefusedError
from qa.fetching import USER_AGENT, FetchPolicy, allowed_address, fetch

LOCAL = FetchPolicy(timeout_s=3, max_bytes=2_000_000, max_redirects=3, allow_private=True)


def test_a_page_with_a_user_agent(news_site):
    fetched = fetch(f"{news_site.base}/berita/detik", LOCAL)
    assert b"Ekspor Kopi Lampung" in fetched.content and "text/html" in fetched.content_type
    assert news_site.requests[-1][1]["User-Agent"] == USER_AGENT


def test_redirects_are_followed_up_to_a_limit(news_site):
    assert fetch(f"{news_site.base}/pindah", LOCAL).url == f"{news_site.base}/berita/kompas"
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(f"{news_site.base}/loop", LOCAL)


def test_slow_and_huge_answers_are_cut_off(news_site):
    started = time.monotonic()
    with pytest.raises(FetchError, match="within 3 s"):
        fetch(f"{news_site.base}/lambat", LOCAL)
    assert time.monotonic() - started < 6
    with pytest.raises(FetchError, match="more than the 2 MB limit"):
        fetch(f"{news_site.base}/besar", LOCAL)


def test_an_error_status_is_a_fetch_error(news_site):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(f"{news_site.base}/tidak-ada", LOCAL)


def test_conditional_requests(news_site):
    first = fetch(f"{news_site.base}/rss.xml", LOCAL)
    again = fetch(f"{news_site.base}/rss.xml", LOCAL, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and not again.content
    assert news_site.requests[-1][1]["If-Modified-Since"] == first.last_modified


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://localhost:8000/x", "http://10.1.2.3/",
                                 "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                 "http://0.0.0.0/"])
def test_private_loopback_and_link_local_addresses_are_refused(url):
    with pytest.raises(FetchRefusedError, match="private, loopback or link-local"):
        allowed_address(url, allow_private=False)
    assert allowed_address(url, allow_private=True) is None  # resolved as usual


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http:///nohost"])
def test_only_http_and_https(url):
    with pytest.raises(FetchRefusedError, match="only http"):
        allowed_address(url, allow_private=True)


def test_a_refused_address_is_never_contacted(news_site):
    policy = FetchPolicy(timeout_s=3, max_bytes=2_000_000, max_redirects=3, allow_private=False)
    before = len(news_site.requests)
    with pytest.raises(FetchRefusedError):  # the site itself is on loopback
        fetch(f"{news_site.base}/berita/detik", policy)
    assert len(news_site.requests) == before


def test_each_redirect_is_checked_like_the_first_address(news_site, monkeypatch):
    """The site stands for a public server (its first address is let through, as a public
    one would be); its redirect to 127.0.0.1 is refused."""
    import qa.fetching

    checked = []

    def first_hop_public(url, allow_private):
        checked.append(url)
        return "127.0.0.1" if len(checked) == 1 else allowed_address(url, allow_private)

    monkeypatch.setattr(qa.fetching, "allowed_address", first_hop_public)
    policy = FetchPolicy(timeout_s=3, max_bytes=2_000_000, max_redirects=3, allow_private=False)
    with pytest.raises(FetchRefusedError, match="127.0.0.1"):
        fetch(f"{news_site.base}/ke-lokal", policy)
    assert checked == [f"{news_site.base}/ke-lokal", "http://127.0.0.1:9/berita/kompas"]


def test_the_request_goes_to_the_address_that_was_checked(news_site, monkeypatch):
    """A name that resolves to a public address when checked and to another when connecting
    (DNS rebinding) still reaches the checked one: the connection is made to that address."""
    import qa.fetching

    monkeypatch.setattr(qa.fetching, "allowed_address", lambda url, allow_private: "127.0.0.1")
    policy = FetchPolicy(timeout_s=3, max_bytes=2_000_000, max_redirects=3, allow_private=False)
    port = news_site.base.rsplit(":", 1)[1]
    fetched = fetch(f"http://news.invalid:{port}/berita/detik", policy)  # .invalid never resolves
    assert b"Ekspor Kopi Lampung" in fetched.content
    assert news_site.requests[-1][1]["Host"] == f"news.invalid:{port}"


@pytest.fixture
def https_news_site(monkeypatch):
    """The local news site over HTTPS, its certificate issued to news.test by a test CA that
    the fetcher trusts (in place of the public CAs)."""
    import ssl

    import certifi
    import trustme

    from news_site import NewsSite

    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("news.test").configure_cert(tls)
    with authority.cert_pem.tempfile() as ca_file:
        monkeypatch.setattr(certifi, "where", lambda: ca_file)
        site = NewsSite(tls)
        yield site
        site.close()


def _reached_at_loopback(monkeypatch):
    """news.test checked as a public address that is in fact this machine."""
    import qa.fetching

    monkeypatch.setattr(qa.fetching, "allowed_address", lambda url, allow_private: "127.0.0.1")
    return FetchPolicy(timeout_s=3, max_bytes=2_000_000, max_redirects=3, allow_private=False)


def test_https_at_the_checked_address_verifies_the_sites_own_name(https_news_site, monkeypatch):
    """Connecting to the checked address, not the name, must still send the name in TLS (SNI)
    and verify the certificate against it: the way every real https:// page is fetched."""
    policy = _reached_at_loopback(monkeypatch)
    port = https_news_site.base.rsplit(":", 1)[1]
    fetched = fetch(f"https://news.test:{port}/berita/detik", policy)
    assert b"Ekspor Kopi Lampung" in fetched.content
    assert https_news_site.requests[-1][1]["Host"] == f"news.test:{port}"


def test_https_with_a_certificate_for_another_name_is_refused(https_news_site, monkeypatch):
    policy = _reached_at_loopback(monkeypatch)
    port = https_news_site.base.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="ConnectError"):
        fetch(f"https://other.test:{port}/berita/detik", policy)
