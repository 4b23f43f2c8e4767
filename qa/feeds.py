"""Feeds in: the entries of an RSS or Atom feed (feedparser), each a link to an article with
the feed's own title and date for it."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass

from qa.dates import parse_date

FEED_SUFFIXES = {".rss", ".atom", ".xml"}


@dataclass
class FeedEntry:
    link: str
    title: str | None
    date: str | None  # ISO, as the feed wrote it (in the publisher's own time zone)
    text: str = ""  # the entry's own content or summary (HTML), the longest the feed gives
    author: str | None = None


def is_feed(content: bytes, content_type: str = "") -> bool:
    """Whether `content` is an RSS/Atom feed rather than a page."""
    lowered = content_type.lower()
    if "html" in lowered:
        return False
    head = content[:2048].lstrip().lower()
    return any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf")) or (
        ("xml" in lowered or head.startswith(b"<?xml")) and bool(_parse(content).version))


def feed_entries(content: bytes) -> tuple[str | None, list[FeedEntry]]:
    """The feed's title and its entries that link somewhere."""
    parsed = _parse(content)
    entries = []
    for entry in parsed.entries:
        if link := (entry.get("link") or "").strip():
            texts = [c.get("value") or "" for c in entry.get("content") or []] + [entry.get("summary") or ""]
            entries.append(FeedEntry(link, (entry.get("title") or "").strip() or None, _entry_date(entry),
                                     max(texts, key=len), (entry.get("author") or "").strip() or None))
    return parsed.feed.get("title"), entries


def _parse(content: bytes):
    import feedparser  # imported here, not at start-up: every `qa` command and server would pay for it

    return feedparser.parse(content)


def _entry_date(entry) -> str | None:
    for key in ("published", "updated"):
        if value := entry.get(key):
            try:  # RSS: "Mon, 18 Nov 2024 14:05:00 +0700", the date as the publisher wrote it
                return email.utils.parsedate_to_datetime(value).date().isoformat()
            except (TypeError, ValueError):
                pass
            if found := parse_date(value):  # Atom: ISO 8601
                return found.isoformat()
    for key in ("published_parsed", "updated_parsed"):
        if parsed := entry.get(key):
            return dt.date(*parsed[:3]).isoformat()
    return None
