"""URLs in, web pages out: a page's URL is fetched and read as a web page; a feed (a URL, or an
.rss/.atom/.xml file) is read for its entries, and each entry's link is fetched and read the
same way, with the entry's own title and date as fallbacks for what the page does not state.

An article read from the web is named by its URL (`url_id`), so an entry already indexed is
known before anything is fetched and is skipped; two links to the same text in one run are
read once. A feed's ETag and Last-Modified are kept beside the index and sent next time, but
only once the articles they cover are committed (`save_validators`): a crash in between must
not make the next run believe it has everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from qa import atomic
from qa.errors import FetchError
from qa.feeds import FEED_SUFFIXES, FeedEntry, feed_entries, is_feed
from qa.fetching import FetchPolicy, fetch
from qa.types import Page, ReadReport
from qa.webpages import read_html

FEED_STATE_FILE = "feeds.json"
# An entry whose link cannot be fetched is read from the feed's own text of it when that text is
# the article (a full-text feed), not a teaser: a teaser indexed under the link's id would stand
# in for the article for good, since an id already indexed is not fetched again.
FEED_TEXT_WORDS = 80


def is_url(source: object) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def is_feed_file(path: Path) -> bool:
    return path.suffix.lower() in FEED_SUFFIXES


def url_id(url: str) -> str:
    """An article id for the page at `url`: its host and a digest of the whole URL."""
    host = (urlsplit(url).hostname or "web")[:60]
    return f"{host}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


class WebReader:
    """Reads URLs and feeds under one fetch policy. `known(ids)` says which article ids are
    already indexed; `state_dir` is where feed validators are kept (None: not kept)."""

    def __init__(self, policy: FetchPolicy, state_dir: Path | None = None,
                 known: Callable[[list[str]], set[str]] = lambda ids: set()):
        self.policy, self.known = policy, known
        self.state_file = state_dir / FEED_STATE_FILE if state_dir else None
        self._validators = self._load_validators()
        self._pending: dict[str, dict] = {}
        self._texts: set[str] = set()

    def read_url(self, url: str, report: ReadReport) -> list[Page]:
        """The page at `url`, or the pages of the feed's entries there; what is skipped, and
        why, goes into `report`."""
        if url_id(url) in self.known([url_id(url)]):  # (a feed is never an article: always fetched)
            report.warnings.append(f"{url}: already indexed, not fetched again")
            report.known += 1
            return []
        validators = self._validators.get(url, {})
        try:
            fetched = fetch(url, self.policy, validators.get("etag"), validators.get("last_modified"))
        except FetchError as exc:
            report.skipped.append(str(exc))
            return []
        if fetched.not_modified:
            report.warnings.append(f"{url}: feed unchanged since it was last read")
            report.known += 1
            return []
        if is_feed(fetched.content, fetched.content_type):
            self._pending[url] = {"etag": fetched.etag, "last_modified": fetched.last_modified}
            return self._read_feed(fetched.content, url, report)
        return self._page(url, fetched.url, *read_html(fetched.content, url=fetched.url), FeedEntry(url, None, None),
                          report)

    def read_feed_file(self, path: Path, report: ReadReport) -> list[Page]:
        try:
            content = path.read_bytes()
        except OSError as exc:
            report.skipped.append(f"{path}: unreadable ({exc.strerror})")
            return []
        if not is_feed(content):
            report.skipped.append(f"{path}: not an RSS or Atom feed")
            return []
        return self._read_feed(content, str(path), report)

    def _read_feed(self, content: bytes, where: str, report: ReadReport) -> list[Page]:
        _, entries = feed_entries(content)
        known = self.known([url_id(e.link) for e in entries])
        fresh = [e for e in entries if url_id(e.link) not in known]
        if len(fresh) < len(entries):
            report.warnings.append(f"{where}: {len(entries) - len(fresh)} of {len(entries)} entries already indexed")
            report.known += len(entries) - len(fresh)
        pages = []
        for entry in fresh:
            try:
                fetched = fetch(entry.link, self.policy)
            except FetchError as exc:
                own = _feed_text(entry)
                if own is None:
                    report.skipped.append(f"{where}: entry {str(exc)}")
                    continue
                report.warnings.append(f"{where}: entry {str(exc)}; the feed's own text of it was read instead")
                pages += self._page(entry.link, entry.link, *own, entry, report)
                continue
            pages += self._page(entry.link, fetched.url, *read_html(fetched.content, url=fetched.url), entry, report)
        return pages

    def _page(self, asked: str, landed: str, text: str, found: dict, entry: FeedEntry, report: ReadReport) -> list[Page]:
        """The page read for `asked` (it landed at `landed`: its `text` and the metadata `found`
        in it), unless its text was read before."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in self._texts:
            report.warnings.append(f"{asked}: the same text as a page read before in this run; skipped")
            return []
        self._texts.add(digest)
        fallbacks = {"title": entry.title, "date": entry.date, "url": landed, "author": entry.author}
        return [Page(id=url_id(asked), text=text, path=asked, found={k: v for k, v in fallbacks.items() if v} | found)]

    def _load_validators(self) -> dict[str, dict]:
        try:
            values = json.loads(self.state_file.read_text(encoding="utf-8")) if self.state_file else {}
        except (OSError, json.JSONDecodeError):  # missing or damaged: fetch everything in full once
            return {}
        return values if isinstance(values, dict) else {}

    def save_validators(self) -> None:
        """Keep the validators of the feeds read, once their articles are committed."""
        if not self.state_file or not self._pending:
            return
        values = self._validators | self._pending
        atomic.write_text(self.state_file, json.dumps(values, indent=1))
        self._validators, self._pending = values, {}


def _feed_text(entry: FeedEntry) -> tuple[str, dict] | None:
    """The entry's text in the feed, when that text is the whole article (FEED_TEXT_WORDS or
    more), and the one thing a fragment of HTML tells of itself, the publisher (from its link's
    host): the title, date and link are the entry's (`WebReader._page`'s fallbacks), not guesses
    from the fragment. (trafilatura reads a fragment only inside a page.)"""
    if not entry.text:
        return None
    text, found = read_html(f"<html><body>{entry.text}</body></html>", url=entry.link)
    if len(text.split()) < FEED_TEXT_WORDS:
        return None
    return text, {k: v for k, v in found.items() if k == "source"}
