"""Web pages in: the main text of an HTML page and the metadata its markup states.

trafilatura finds the article among the menus, link lists and comments of any site's template,
and reads title, date (through htmldate: meta tags, JSON-LD, the URL, `<time>`) and site name.
Only what the page states is kept: htmldate's extensive search, which guesses a date from any
date-like text on the page, is off, and the project's own rules read the text afterwards.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from qa.metadata import find_source

_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?|[\w.-]+:\d+")
# htmldate: the date the page was first published, from its markup and URL only.
_DATE_SEARCH = {"extensive_search": False, "original_date": True}


def read_html(html: str | bytes, url: str | None = None) -> tuple[str, dict]:
    """The page's main text (one paragraph per line) and what its markup says of it:
    `title`, `date` (ISO), `source` and `url`, each only when found. `url` is where the page
    came from, when known; the page's own canonical link is preferred. Bytes are decoded by
    the page's declared charset (else detected)."""
    import trafilatura  # imported here, not at start-up: every `qa` command and server would pay for it
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True,
        deduplicate=False, date_extraction_params=_DATE_SEARCH,
    )
    if document is None:  # too little text for trafilatura to call it an article: keep it all
        text = trafilatura.html2txt(html)
        document = trafilatura.extract_metadata(html, default_url=url, date_config=_DATE_SEARCH) or Document()
    else:
        text = document.text or ""
    return text, _found(document, url)


def _found(document, url: str | None) -> dict:
    found = {
        "title": document.title,
        "date": document.date,
        "source": _source(document.sitename, document.hostname),
        "url": document.url or url,
    }
    return {key: value.strip() for key, value in found.items() if isinstance(value, str) and value.strip()}


def _source(site_name: str | None, hostname: str | None) -> str | None:
    """The publisher as the project names it ("detik" for detikFinance or finance.detik.com),
    else the page's site name, else its host (without "www." or a port). trafilatura gives
    the host as the site name when the page names none."""
    looks_like_host = bool(site_name and _HOST.fullmatch(site_name))
    host = _bare_host(hostname) or (_bare_host(site_name) if looks_like_host else None)
    # Hosts are lower case; site names come in any case ("Tempo.co", "KOMPAS.com").
    named = find_source(host or "") or find_source((site_name or "").lower())
    if named:
        return named
    return host if looks_like_host else site_name or host


def _bare_host(name: str | None) -> str | None:
    try:
        host = urlsplit(f"//{name}").hostname if name else None
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None
