"""PDFs in: the text of a born-digital PDF (a ministry's siaran pers) and its title and date.

pypdf reads the text layer. A PDF prints its text as lines cut to the page width; they are
joined back into paragraphs, since cleaning and passage splitting work on paragraphs. The
title comes from the document's metadata unless that names a file or a program ("Microsoft
Word - rilis.docx"), else from the largest type on the first page, where that stands out; the
date is the first one written on the first page, else the document's creation date. A scanned PDF has no text layer: it is refused, not indexed empty.
"""

from __future__ import annotations

import re
from pathlib import Path

from qa.dates import first_written_date
from qa.errors import InvalidInputError

# Fewer letters than this in the whole document: no text layer worth indexing (a scan).
_MIN_LETTERS = 50
# Not a title: a file name, or what a program writes when nobody set one.
_NOT_A_TITLE = re.compile(r"\.(?:docx?|pdf|odt|rtf|indd)\s*$|^microsoft\s+word\b|^untitled$", re.IGNORECASE)
_SHORT_LINE = 0.85  # of the page's usual line width: a line ending a paragraph stops short
_STANDS_OUT = 1.2  # a headline's type is this much larger than the body's
_MAX_TITLE_CHARS = 300


def read_pdf(file: Path) -> tuple[str, dict]:
    """The PDF's text, a paragraph per line, and its `title` and `date` where known.
    InvalidInputError when it is not a PDF, is encrypted, or has no text layer."""
    from pypdf import PdfReader  # imported here, not at start-up: every `qa` command and server would pay for it
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInputError(f"{file}: an encrypted PDF; skipped")
        headline = _largest_type(reader.pages[0]) if reader.pages else None
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{file}: not a readable PDF ({exc})") from None
    text = "\n".join(paragraphs(page) for page in pages)
    if sum(c.isalpha() for c in text) < _MIN_LETTERS:
        raise InvalidInputError(f"{file}: no text layer (a scanned PDF?); skipped, not indexed empty")
    found = {}
    title = (info.title or "").strip() if info else ""
    if title and not _NOT_A_TITLE.search(title):
        found["title"] = title
    elif headline:
        found["title"] = headline
    if date := first_written_date(pages[0] if pages else "") or _creation_date(info):
        found["date"] = date.isoformat()
    return text, found


def _largest_type(page) -> str | None:
    """The text set in the page's largest type, if that is clearly larger than most of it."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip() and size:
            runs.append((round(size * abs(tm[3] or 1) * abs(cm[3] or 1), 1), text.strip()))

    page.extract_text(visitor_text=visit)
    if not runs:
        return None
    sizes = sorted(size for size, text in runs for _ in text)  # weighted by characters
    body, largest = sizes[len(sizes) // 2], sizes[-1]
    if largest < _STANDS_OUT * body:
        return None
    title = " ".join(text for size, text in runs if size == largest)
    return " ".join(title.split())[:_MAX_TITLE_CHARS] or None


def _creation_date(info):
    try:
        return info.creation_date.date() if info and info.creation_date else None
    except (ValueError, TypeError):  # a malformed date string in the metadata
        return None


def paragraphs(page_text: str) -> str:
    """`page_text`'s lines joined into paragraphs, one per line. A paragraph ends at a blank
    line, at a line all in capitals (a heading), or at a line that stops short of the usual
    width (the lines inside a paragraph run to the margin)."""
    lines = [line.strip() for line in page_text.splitlines()]
    widths = sorted(len(line) for line in lines if line)
    if not widths:
        return ""
    usual = widths[int(0.9 * (len(widths) - 1))]
    out, current = [], []
    for line in lines:
        if not line:
            out.append(" ".join(current))
            current = []
            continue
        heading = not any(c.islower() for c in line)
        if heading and current:
            out.append(" ".join(current))
            current = []
        current.append(line)
        if heading or len(line) < _SHORT_LINE * usual:
            out.append(" ".join(current))
            current = []
    out.append(" ".join(current))
    return "\n".join(p for p in out if p)
