"""Files in, articles out.

Reads a file or a folder (recursively) of .txt, .md, .html/.htm, .pdf, .jsonl and tables
(.csv, .tsv, .parquet: one article per row). A .txt/.md/.html/.pdf article may have a sidecar
`<name>.json` beside it whose fields (title, date, source, url, author, id) override what is read from
the page. Anything that cannot be read is reported by name (and line or row, for JSONL and
tables) and skipped; everything else is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from qa.cleaning import clean_lines, page_lines, repair_text
from qa.dates import parse_date
from qa.errors import InvalidInputError
from qa.metadata import body_date, find_source, read_header
from qa.pdfs import read_pdf
from qa.tables import TABLE_SUFFIXES, table_rows
from qa.types import Article, Page, ReadReport
from qa.urls import WebReader, is_feed_file, is_url
from qa.webpages import read_html

PAGE_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}  # one article per file
ARTICLE_SUFFIXES = PAGE_SUFFIXES | {".jsonl"} | TABLE_SUFFIXES
FORMATS = ", ".join(sorted(ARTICLE_SUFFIXES))
METADATA_FIELDS = ("id", "title", "date", "source", "url", "author")


def read_paths(paths: list[Path | str], follow_links: bool = False, columns: dict[str, str] | None = None,
               web: WebReader | None = None) -> ReadReport:
    """The articles in `paths`: files, folders (read recursively), and with `web`, page or feed
    URLs and feed files (.rss, .atom, .xml). In a folder, a symbolic link is followed only to a
    file inside that folder unless `follow_links`; a link elsewhere, a dangling one or a loop
    is reported and skipped. `columns` maps article fields to a table's columns (qa.tables)."""
    report = ReadReport()
    seen_ids: set[str] = set()

    def keep(page: Page, where: object) -> None:
        if page.id in seen_ids:
            report.skipped.append(f"{where}: duplicate article id {page.id!r}")
            return
        article = make_article(page, report)
        if not article.text.strip():
            report.skipped.append(f"{where}: article {page.id!r} has no text after cleaning")
            return
        seen_ids.add(page.id)
        report.articles.append(article)

    for source in paths:
        if is_url(source) or (web and is_feed_file(Path(source))):
            for page in _read_web(source, report, web):
                keep(page, page.path)
            continue
        path = Path(source)
        if not path.exists():
            raise InvalidInputError(f"no such file or folder: {path}")
        for file in _article_files(path, report, follow_links):
            for page in read_file(file, report, columns or {}):
                keep(page, file)
    return report


def _read_web(source: str | Path, report: ReadReport, web: WebReader | None) -> list[Page]:
    if web is None:
        raise InvalidInputError(f"{source}: URLs and feeds are not read here")
    return web.read_url(str(source), report) if is_url(source) else web.read_feed_file(Path(source), report)


def _article_files(path: Path, report: ReadReport, follow_links: bool) -> list[Path]:
    if path.is_file():
        files = [path]
    else:
        files = [p for p in sorted(path.rglob("*")) if not is_hidden(p, path) and _readable_entry(p, path, report,
                                                                                                 follow_links)]
    chosen = []
    for file in files:
        if file.suffix.lower() in ARTICLE_SUFFIXES:
            chosen.append(file)
        elif file.suffix.lower() == ".json" and _sidecar_owner(file):
            continue
        else:
            report.warnings.append(f"{file}: skipped, not an article format ({FORMATS})")
    return chosen


def _readable_entry(entry: Path, root: Path, report: ReadReport, follow_links: bool) -> bool:
    """Whether a folder entry is a file to read; links that lead out of `root` (a corpus folder
    holding a link to /etc/passwd would serve it), nowhere or in circles are reported."""
    if not entry.is_symlink():
        return entry.is_file()
    try:
        target = entry.resolve(strict=True)
    except FileNotFoundError:
        report.warnings.append(f"{entry}: skipped, a link to nothing ({os.readlink(entry)})")
        return False
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        report.warnings.append(f"{entry}: skipped, a link that loops")
        return False
    if target.is_dir():
        report.warnings.append(f"{entry}: skipped, a link to a folder (give the folder itself)")
        return False
    if not follow_links and not target.is_relative_to(root.resolve()):
        report.warnings.append(f"{entry}: skipped, a link to {target}, outside {root} "
                               "(allow with --follow-links or QA_FOLLOW_LINKS=true)")
        return False
    return target.is_file()


def is_hidden(file: Path, root: Path) -> bool:
    """Whether `file` or a folder on its way from `root` is hidden (a dot name): not read."""
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def _sidecar_owner(sidecar: Path) -> Path | None:
    for suffix in PAGE_SUFFIXES:
        if (owner := sidecar.with_suffix(suffix)).is_file():
            return owner
    return None


# One article may hold this much: a longer one is a mistake (a dump, a log, a binary) that
# would fill memory and every result list. A JSONL file may be any size: it is read a line
# (an article) at a time.
MAX_ARTICLE_BYTES = 5_000_000
# A press release with photos runs to a few MB; its text is far smaller than the file.
MAX_PDF_BYTES = 50_000_000


def _too_big(size: int, where: str) -> str:
    return (f"{where}: {size / 1e6:.1f} MB, more than the {MAX_ARTICLE_BYTES / 1e6:.0f} MB one article may hold; "
            "split it into articles (one per JSONL line, say)")


def _read_text(file: Path, report: ReadReport) -> str | None:
    try:
        size = file.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            report.skipped.append(_too_big(size, str(file)))
            return None
        return file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.skipped.append(f"{file}: not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        report.skipped.append(f"{file}: unreadable ({exc.strerror})")
    return None


def read_file(file: Path, report: ReadReport, columns: dict[str, str]) -> list[Page]:
    """The pages of one file, whatever its format; what can't be read goes into `report`."""
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(file, report)
    if suffix in TABLE_SUFFIXES:
        return _read_table(file, report, columns)
    if suffix == ".pdf":
        text, found = _read_pdf(file, report)
    else:
        text, found = _read_text(file, report), {}
    if text is None:
        return []
    if not text.strip():
        report.skipped.append(f"{file}: empty file")
        return []
    if suffix in (".html", ".htm"):
        text, found = read_html(text)
    elif suffix in (".md", ".markdown"):
        text, found = markdown_to_text(text)
    given = _read_sidecar(file, report)
    try:
        article_id = checked_id(str(given.pop("id", None) or found.pop("id", None) or file.stem), str(file))
    except InvalidInputError as exc:
        report.skipped.append(str(exc))
        return []
    return [Page(id=article_id, text=text, given=given, path=str(file), found=found)]


def _read_pdf(file: Path, report: ReadReport) -> tuple[str | None, dict]:
    try:
        size = file.stat().st_size
        if size > MAX_PDF_BYTES:
            report.skipped.append(f"{file}: {size / 1e6:.0f} MB, more than the {MAX_PDF_BYTES / 1e6:.0f} MB "
                                  "a PDF may hold")
            return None, {}
        return read_pdf(file)
    except InvalidInputError as exc:
        report.skipped.append(str(exc))
    except OSError as exc:
        report.skipped.append(f"{file}: unreadable ({exc.strerror})")
    return None, {}


def _read_table(file: Path, report: ReadReport, columns: dict[str, str]) -> list[Page]:
    """One page per row; a row that can't be used is reported by its number, the rest are kept."""
    pages = []
    try:
        for row, record in table_rows(file, columns, MAX_ARTICLE_BYTES):
            try:
                pages.append(page_from_record(record, f"{file.stem}-{row}", f"{file}: row {row}"))
            except InvalidInputError as exc:
                report.skipped.append(str(exc))
    except InvalidInputError as exc:
        report.skipped.append(str(exc))
    return pages


def _read_sidecar(file: Path, report: ReadReport) -> dict:
    sidecar = file.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        values = json.loads(sidecar.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        report.warnings.append(f"{sidecar}: ignored, not a JSON object ({exc})")
        return {}
    if not isinstance(values, dict):
        report.warnings.append(f"{sidecar}: ignored, not a JSON object")
        return {}
    return {k: valid_unicode(values[k]) for k in METADATA_FIELDS if values.get(k) not in (None, "")}


def _read_jsonl(file: Path, report: ReadReport) -> list[Page]:
    """One article per line, read a line at a time; a bad line is reported and skipped."""
    pages, lines = [], 0
    try:
        with open(file, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                lines += bool(raw.strip())
                where = f"{file}:{number}"
                if len(raw) > MAX_ARTICLE_BYTES:
                    report.skipped.append(_too_big(len(raw), where))
                    continue
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    report.skipped.append(f"{where}: not UTF-8 text (byte {exc.start})")
                    continue
                if not line.strip():
                    continue
                try:
                    pages.append(page_from_record(json.loads(line), f"{file.stem}-{number}", where))
                except json.JSONDecodeError as exc:
                    report.skipped.append(f"{where}: not valid JSON ({exc.msg})")
                except (InvalidInputError, RecursionError) as exc:
                    report.skipped.append(str(exc) if isinstance(exc, InvalidInputError) else f"{where}: nested too deeply")
    except OSError as exc:
        report.skipped.append(f"{file}: unreadable ({exc.strerror})")
        return pages
    if not lines:
        report.skipped.append(f"{file}: empty file")
    return pages


MAX_ID_CHARS = 200
# Ids travel in URLs (/articles/{id}, the article page), file names and tab-separated lists:
# no control characters, no path separators, not "." or "..", no spaces around.
_ID_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def checked_id(article_id: str, where: str) -> str:
    """`article_id` if it can name an article; InvalidInputError, naming `where`, if not."""
    if not article_id.strip() or article_id != article_id.strip():
        problem = "is empty or has spaces around it"
    elif len(article_id) > MAX_ID_CHARS:
        problem = f"is longer than {MAX_ID_CHARS} characters"
    elif _ID_FORBIDDEN.search(article_id) or article_id in (".", ".."):
        problem = "holds a control character, '/' or '\\', or is '.' or '..'"
    else:
        return article_id
    raise InvalidInputError(f"{where}: id {article_id[:60]!r} {problem}")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(value: object) -> object:
    """JSON can escape half of a UTF-16 pair ("\\ud800"), which no file, terminal or database
    can hold: each such half becomes U+FFFD, so one odd record cannot fail a batch's write."""
    return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def page_from_record(record: object, default_id: str, where: str) -> Page:
    """A page from a JSON object with the JSONL fields (`text`; `id`, `title`, `date`, `source`,
    `url`, `author` optional; several authors may come as a list). Raises InvalidInputError,
    naming `where`, when it is not one."""
    if isinstance(record, dict):
        record = {k: valid_unicode(v) for k, v in record.items()}
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
        raise InvalidInputError(f"{where}: needs a non-empty string field 'text'")
    given = {k: record[k] for k in METADATA_FIELDS if record.get(k) not in (None, "", [])}
    if isinstance(given.get("author"), list) and all(isinstance(name, str) for name in given["author"]):
        given["author"] = ", ".join(given["author"])
    bad = [k for k, v in given.items() if not isinstance(v, (str, int)) or isinstance(v, bool)]
    if bad:
        raise InvalidInputError(f"{where}: field {bad[0]!r} must be a string")
    return Page(id=checked_id(str(given.pop("id", default_id)), where), text=record["text"], given=given, path=where)


def read_records(records: list[dict]) -> list[Article]:
    """Articles given as JSON objects (an HTTP request), all or none: the first record that
    cannot be used (no text, a date that does not parse, a repeated id) raises
    InvalidInputError. A record without `id` gets one from its text, so sending the same
    text twice names the same article."""
    report, articles, seen = ReadReport(), [], set()
    for number, record in enumerate(records):
        where = f"articles[{number}]"
        text = record.get("text") if isinstance(record, dict) else None
        default_id = "a-" + hashlib.sha256(str(valid_unicode(text)).encode()).hexdigest()[:16]
        page = page_from_record(record, default_id, where)
        if page.id in seen:
            raise InvalidInputError(f"{where}: id {page.id!r} appears twice in the request")
        seen.add(page.id)
        article = make_article(page, report, strict=True)
        if not article.text.strip():
            raise InvalidInputError(f"{where}: no text left after cleaning (menus and adverts only?)")
        articles.append(article)
    return articles


def make_article(page: Page, report: ReadReport, strict: bool = False) -> Article:
    """Clean a page and settle its metadata: given values first, then what the page's markup
    states, then what its text says. A date that does not parse is left empty with a warning,
    or raises when `strict`."""
    lines = page_lines(page.text)
    given = {k: repair_text(v) if isinstance(v, str) else v for k, v in (page.found | page.given).items()}
    header = read_header(lines)
    body = "\n".join(clean_lines([ln for i, ln in enumerate(lines) if i not in header.header_lines]))
    date = header.date or body_date(body)
    if "date" in given:
        date = parse_date(str(given["date"]))
        if date is None:
            problem = f"{page.path}: date {given['date']!r} not understood"
            if strict:
                raise InvalidInputError(f"{problem} (write it like 2024-11-15 or 15 November 2024)")
            report.warnings.append(f"{problem}; left empty")
    return Article(
        id=page.id,
        text=body,
        title=given.get("title") or header.title,
        source=given.get("source") or _publisher_of(given.get("url")) or header.source,
        date=date.isoformat() if date else None,
        url=given.get("url"),
        path=page.path,
        author=given.get("author"),
    )


def _publisher_of(url: object) -> str | None:
    """The publisher a link's host names (finance.detik.com: detik), if it is a known one."""
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return find_source(host) if host else None


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def markdown_to_text(markdown: str) -> tuple[str, dict]:
    """Plain text of a Markdown article; front matter keys and a leading '# ' heading as metadata."""
    meta: dict = {}
    if match := _FRONT_MATTER.match(markdown):
        for line in match[1].splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in METADATA_FIELDS and value.strip():
                meta[key.strip().lower()] = value.strip().strip("\"'")
        markdown = markdown[match.end():]
    lines = []
    for line in markdown.splitlines():
        if (heading := re.match(r"^#\s+(.+)", line)) and "title" not in meta:
            meta["title"] = heading[1].strip()
            continue
        line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)  # images
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)  # links keep their words
        line = re.sub(r"^#{1,6}\s+|^\s*[-*+>]\s+|[*_`]{1,3}", "", line)
        lines.append(line)
    return "\n".join(lines), meta
