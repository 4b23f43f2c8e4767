"""Web pages in: the main text of an HTML page and the metadata its markup states.

trafilatura finds the article among the menus, link lists and comments of any site's template,
and reads title, date (through htmldate: meta tags, JSON-LD, the URL, `<time>`) and site name.
Only what the page states is kept: htmldate's extensive search, which guesses a date from any
date-like text on the page, is off, and the project's own rules read the text afterwards.

The author markup names is kept only where it names a person: templates fill the author meta
tag with the site ("Kompas Cyber Media", "mediaindonesia.com developer"), its company ("PT VIVA
MEDIA BARU") or its web team ("Web Design; Development"), and bylines carry a label
("Pewarta Nur Imansyah"). Seen on real pages of five Indonesian sites.

Two things every news template shows and markup often leaves out are read from the page itself:
- the headline: `<title>` and og:title carry the site's name ("… - Kompas.com Regional",
  "KapanLagi.com: …"); the `<h1>` that holds the rest is the title, else the site's name is cut;
- the byline date: a short line right under the headline that states a date ("Kamis, 05
  November 2015 11:52") is the publication date when the markup gives none. Dates in the story's
  own paragraphs are never read as the page's.

And the story starts below its headline: first lines of the text that the page shows only above
the `<h1>` are a teaser of something else, and go.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from qa.dates import first_written_date
from qa.metadata import find_source

_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?|[\w.-]+:\d+")
# Where a title joins the headline and the site's name: "headline - Site", "Site | headline", "Site: headline".
_TITLE_PARTS = re.compile(r"\s+[-|–—]\s+|(?<=\w):\s+")
# A byline is a short line of its own; a story's paragraph is longer.
_BYLINE_CHARS = 80
# How many text lines under the headline may hold its byline.
_BYLINE_LINES = 6
# A byline's label before the name ("Pewarta: Nur Imansyah", "Oleh Ani", "By Ani").
_BYLINE_LABEL = re.compile(r"^(?:pewarta|penulis|reporter|editor|oleh|by)\b\s*:?\s*", re.IGNORECASE)
# A company's legal form: "PT VIVA MEDIA BARU", "Kompas Cyber Media Tbk".
_COMPANY = re.compile(r"^PT\.?\s|\bTbk\.?$", re.IGNORECASE)
# Words of a template's web team, not of a person's name: an author made of only these is dropped.
_WEB_TEAM = {"web", "design", "designer", "development", "developer", "developers", "admin", "administrator",
             "webmaster", "team", "it"}
# htmldate: the date the page was first published, from its markup and URL only.
_DATE_SEARCH = {"extensive_search": False, "original_date": True}


def read_html(html: str | bytes, url: str | None = None) -> tuple[str, dict]:
    """The page's main text (one paragraph per line) and what its markup says of it:
    `title`, `date` (ISO), `source`, `url` and `author`, each only when found. `url` is where the page
    came from, when known; the page's own canonical link is preferred. Bytes are decoded by
    the page's declared charset (else detected)."""
    import trafilatura  # imported here, not at start-up: every `qa` command and server would pay for it
    from trafilatura.settings import Document

    tree = trafilatura.load_html(html)
    headlines = list(tree.iter("h1")) if tree is not None else []
    document = trafilatura.bare_extraction(  # works on its own copy of the tree: `headlines` stay as they are
        tree if tree is not None else html, url=url, with_metadata=True, include_comments=False,
        include_tables=True, deduplicate=False, date_extraction_params=_DATE_SEARCH,
    )
    if document is None:  # too little text for trafilatura to call it an article: keep it all
        text = trafilatura.html2txt(html)
        document = trafilatura.extract_metadata(html, default_url=url, date_config=_DATE_SEARCH) or Document()
    else:
        text = document.text or ""
    page_title = tree.findtext(".//title") if tree is not None else None
    found, headline = _found(document, url, headlines, page_title)
    return (_without_lead_in(text, headline) if headline is not None else text), found


def _found(document, url: str | None, headlines: list, page_title: str | None) -> tuple[dict, object]:
    """What the markup says of the page, and the story's `<h1>` (None where none was found)."""
    source = _source(document.sitename, document.hostname, page_title)
    title, headline = _headline(document.title, headlines, (document.sitename, document.hostname, source))
    found = {
        "title": title,
        "date": document.date or (_byline_date(headline) if headline is not None else None),
        "source": source,
        "url": document.url or url,
        "author": _person(document.author, (document.sitename, document.hostname, source)),
    }
    return {key: value.strip() for key, value in found.items() if isinstance(value, str) and value.strip()}, headline


def _without_lead_in(text: str, headline) -> str:
    """`text` without its first lines that the page shows above the story's headline and
    nowhere below it: a section label and a teaser of another story (Media Indonesia's
    "Headline" and a line of the day's e-paper), which the extraction took for the story's
    start. A line that the story below the headline also holds stays."""
    def shown(where: str) -> str:
        nodes = headline.xpath(f"{where}::text()[normalize-space()][not(ancestor::script or ancestor::style)]")
        return " ".join(" ".join(node.split()) for node in nodes)

    above, below = shown("preceding"), None  # the text below is read only for a line found above
    lines = text.split("\n")
    lead = 0
    for line in lines:
        words = " ".join(line.split())
        if words:
            if words not in above:
                break
            below = below if below is not None else shown("following")
            if words in below:
                break
        lead += 1
    return "\n".join(lines[lead:])


def _person(author: str | None, site_names: tuple[str | None, ...]) -> str | None:
    """The names in `author` (trafilatura joins several with "; ") that are people's: without a
    byline label, and without those that name the site, a company or a web team."""
    site = _site_letters(site_names)
    people = []
    for part in (author or "").split(";"):
        name = _BYLINE_LABEL.sub("", part.strip()).strip()
        words = set(re.findall(r"\w+", name.lower()))
        if (not name or _COMPANY.search(name) or words <= _WEB_TEAM
                or any(site_name in _letters(name) for site_name in site)):
            continue
        people.append(name)
    return ", ".join(people) or None


def _headline(title: str | None, headlines: list, site_names: tuple[str | None, ...]) -> tuple[str | None, object]:
    """The story's title and its `<h1>` element: the `<h1>` that the page title holds, else
    the page title without the site's name (with the `<h1>` that holds the same words in
    other punctuation, "Raja Ampat: Apa Iya Betul Dicabut?" for "Raja Ampat Apa Iya Betul
    Dicabut", or no element)."""
    core = _without_site_name(title, site_names) if title else None
    core_letters = _letters(core) if core else ""
    for h1 in headlines if core else ():
        text = " ".join(h1.text_content().split())
        letters = _letters(text)
        # A longer <h1> can hold a logo's or a menu's words around the headline: only a shorter one is taken.
        if len(text.split()) >= 2 and letters in core_letters and len(letters) >= len(core_letters) / 2:
            return (text if text in core else core), h1
    return core, None


def _byline_date(h1) -> str | None:
    """The date (ISO) a short line among the first under the headline `h1` states, if any."""
    lines = h1.xpath("following::text()[normalize-space()][not(ancestor::script or ancestor::style)]"
                     f"[position() <= {_BYLINE_LINES}]")
    dates = (first_written_date(line) for line in lines if len(line.strip()) <= _BYLINE_CHARS)
    return next((d.isoformat() for d in dates if d), None)


def _without_site_name(title: str, site_names: tuple[str | None, ...]) -> str:
    """The title without a first or last part that names the site or is a host ("ihram.co.id")."""
    names = _site_letters(site_names)

    def names_site(part: str) -> bool:
        letters = _letters(part)
        return bool(_HOST.fullmatch(part.strip())) or any(letters.startswith(name) for name in names)

    parts = _TITLE_PARTS.split(title)
    separators = _TITLE_PARTS.findall(title)
    if len(parts) > 1 and names_site(parts[-1]):
        parts, separators = parts[:-1], separators[:-1]
    if len(parts) > 1 and names_site(parts[0]):
        parts, separators = parts[1:], separators[1:]
    return parts[0] + "".join(sep + part for sep, part in zip(separators, parts[1:]))


def _site_letters(site_names: tuple[str | None, ...]) -> set[str]:
    """The site's names as bare letters ("kompascom"), and a host's first label ("ihram" of
    "ihram.co.id"); four letters at least, so that "www" or "m" names nothing."""
    names = {_letters(name) for name in site_names if name and len(_letters(name)) >= 4}
    return names | {_letters(name.split(".")[0]) for name in site_names
                    if name and _HOST.fullmatch(name) and len(name.split(".")[0]) >= 4}


def _letters(text: str) -> str:
    return re.sub(r"\W|_", "", text.lower())


def _source(site_name: str | None, hostname: str | None, page_title: str | None) -> str | None:
    """The publisher as the project names it ("detik" for detikFinance or finance.detik.com),
    else the name the page's title gives its host, else the page's site name, else its host
    (without "www." or a port). trafilatura gives the host as the site name when the page names
    none, and else reads a Twitter handle as one ("Jakpost" where the title ends "| The Jakarta
    Post" on thejakartapost.com)."""
    looks_like_host = bool(site_name and _HOST.fullmatch(site_name))
    host = _bare_host(hostname) or (_bare_host(site_name) if looks_like_host else None)
    # Hosts are lower case; site names come in any case ("Tempo.co", "KOMPAS.com").
    named = find_source(host or "") or find_source((site_name or "").lower())
    if named:
        return named
    if host and page_title and (title_named := _host_named_in(page_title, host)):
        return title_named
    return host if looks_like_host else site_name or host


def _host_named_in(page_title: str, host: str) -> str | None:
    """The first or last part of `page_title` that spells the host's name ("The Jakarta Post"
    for thejakartapost.com, "Tempo.co" for tempo.co), if one does. trafilatura's host is the
    site's domain, without a section's subdomain."""
    names = {_letters(host)} | {label for label in host.split(".") if len(label) >= 4}
    parts = [part.strip() for part in _TITLE_PARTS.split(page_title)]
    return next((part for part in ((parts[-1], parts[0]) if len(parts) > 1 else ()) if _letters(part) in names), None)


def _bare_host(name: str | None) -> str | None:
    try:
        host = urlsplit(f"//{name}").hostname if name else None
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None
