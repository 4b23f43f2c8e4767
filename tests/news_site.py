"""A news site on 127.0.0.1 for the tests that fetch: the saved pages of tests/fixtures/pages,
an RSS feed of three of them (with ETag and Last-Modified), redirects, a redirect loop, a slow
page and a huge one. The tests never touch the internet."""

import threading
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGES = Path(__file__).parent / "fixtures" / "pages"
FEED_ETAG = '"feed-v1"'
WIB = timezone(timedelta(hours=7))
# Entries: (page, title in the feed, published). The feed's dates are the fallback for a page
# that states none (undated); detik's own page date wins over its entry's.
FEED_ENTRIES = [
    ("detik", "Ekspor Kopi Lampung Naik", datetime(2024, 11, 19, 1, 30, tzinfo=WIB)),
    ("antara", "Wisman ke Bali 5,3 juta", datetime(2024, 12, 2, 11, 15, tzinfo=WIB)),
    ("undated", "Tenun Ikat Sumba", datetime(2024, 11, 30, 0, 30, tzinfo=WIB)),
]


def feed_xml(base: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/berita/{page}</link>"
        f"<pubDate>{format_datetime(published)}</pubDate><description>ringkasan</description></item>"
        for page, title, published in FEED_ENTRIES)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Berita Uji</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        base = f"http://{self.headers['Host']}"
        self.server.requests.append((self.path, dict(self.headers)))
        path = self.path
        if path.startswith("/berita/") and (PAGES / f"{path[8:]}.html").is_file():
            return self._send(200, (PAGES / f"{path[8:]}.html").read_bytes())
        if path == "/rss.xml":
            if self.headers.get("If-None-Match") == FEED_ETAG:
                return self._send(304, ETag=FEED_ETAG)
            return self._send(200, feed_xml(base), "application/rss+xml", ETag=FEED_ETAG,
                              Last_Modified="Mon, 02 Dec 2024 05:00:00 GMT")
        if path == "/pindah":
            return self._send(301, Location="/berita/kompas")
        if path.startswith("/loop"):
            return self._send(302, Location=f"/loop{len(path)}")
        if path == "/ke-lokal":
            return self._send(302, Location="http://127.0.0.1:9/berita/kompas")
        if path == "/lambat":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(100):  # a byte a second: each read is quick, the whole is not
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(1)
            return None
        if path == "/besar":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no Content-Length: the size shows only while reading
            chunk = b"<p>" + b"isi " * 16_000 + b"</p>"
            try:
                for _ in range(1000):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if path == "/tidak-ada":
            return self._send(404, b"not found")
        return self._send(404, b"not found")


class NewsSite:
    """`tls`: an ssl.SSLContext to serve HTTPS with (its certificate names the site's host)."""

    def __init__(self, tls=None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.server.requests = []
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def requests(self) -> list:
        return self.server.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()
