"""Tables in: CSV, TSV and Parquet exports, one article per row.

Scrapers and open datasets name their columns in their own way ("isi_berita", "judul",
"tanggal", "tautan"). A column mapping says which column holds which article field; without
one, columns are recognised by the common names below. Rows are read one at a time, so a file
may be any size; a row that can't be read is reported by its number and the rest go in.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from qa.errors import InvalidInputError

TABLE_SUFFIXES = {".csv", ".tsv", ".parquet"}
FIELDS = ("text", "title", "date", "source", "url", "author", "id")
# Column names recognised without a mapping, per field, in order of preference (compared
# lower case, with spaces and dashes read as underscores).
KNOWN_COLUMNS = {
    "text": ("text", "content", "isi_berita", "isi", "konten", "body", "article", "artikel", "berita", "teks"),
    "title": ("title", "judul", "headline", "judul_berita"),
    "date": ("date", "tanggal", "published", "published_at", "publish_date", "date_published", "tanggal_terbit",
             "waktu", "datetime", "pubdate"),
    "source": ("source", "sumber", "media", "portal", "site", "publisher", "penerbit"),
    "url": ("url", "link", "tautan", "href"),
    "author": ("author", "penulis", "reporter", "wartawan", "byline", "authors"),
    "id": ("id", "article_id", "doc_id"),
}
_SNIFF_BYTES = 64 * 1024


def parse_columns(spec: str) -> dict[str, str]:
    """`text=isi_berita,title=judul` as a mapping; InvalidInputError naming the problem."""
    mapping = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        field, sep, column = (s.strip() for s in item.partition("="))
        if not sep or not column:
            raise InvalidInputError(f"columns: {item!r} is not FIELD=COLUMN (like text=isi_berita)")
        mapping[field] = column
    return checked_columns(mapping)


def checked_columns(mapping: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise InvalidInputError(f"columns: unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    return dict(mapping)


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def column_plan(header: list[str], mapping: dict[str, str], where: str) -> dict[str, str]:
    """Which of `header`'s columns holds each field: `mapping` first, then the known names.
    InvalidInputError when a mapped column is missing or no column holds the text."""
    by_key = {_key(name): name for name in reversed(header)}
    plan = {}
    for field in FIELDS:
        if field in mapping:
            if mapping[field] not in header and _key(mapping[field]) not in by_key:
                raise InvalidInputError(f"{where}: no column {mapping[field]!r} (for {field}); "
                                        f"its columns are {', '.join(header)}")
            plan[field] = mapping[field] if mapping[field] in header else by_key[_key(mapping[field])]
        elif found := next((by_key[k] for k in KNOWN_COLUMNS[field] if k in by_key), None):
            plan[field] = found
    if "text" not in plan:
        raise InvalidInputError(f"{where}: no column for the article text; its columns are {', '.join(header)}. "
                                "Name it with --columns text=COLUMN (or `columns` in qa.toml)")
    return plan


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def table_rows(file: Path, mapping: dict[str, str], max_cell_bytes: int) -> Iterator[tuple[int, dict]]:
    """(row number, record) per row, the record holding the article fields it has. Rows are
    numbered as a spreadsheet shows them: the header is row 1. InvalidInputError when the file
    as a whole can't be read."""
    if file.suffix.lower() == ".parquet":
        yield from _parquet_rows(file, mapping)
    else:
        yield from _csv_rows(file, mapping, max_cell_bytes)


def _csv_rows(file: Path, mapping: dict[str, str], max_cell_bytes: int) -> Iterator[tuple[int, dict]]:
    csv.field_size_limit(max_cell_bytes)
    try:
        handle = open(file, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInputError(f"{file}: unreadable ({exc.strerror})") from None
    with handle:
        try:
            sample = handle.read(_SNIFF_BYTES)
            handle.seek(0)
            reader = csv.reader(handle, delimiter=_delimiter(file, sample))
            header = next(reader, None)
            if not header:
                raise InvalidInputError(f"{file}: empty file")
            plan = column_plan(header, mapping, str(file))
            positions = {field: header.index(column) for field, column in plan.items()}
            row = 1
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InvalidInputError(f"{file}: row {row}: {exc}; the rows after it were not read") from None
                if not any(cell.strip() for cell in cells):
                    continue
                yield row, {f: _cell(cells[i]) for f, i in positions.items() if i < len(cells)}
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def _delimiter(file: Path, sample: str) -> str:
    """The header line's most frequent separator: exports use ",", ";" (spreadsheets set to
    Indonesian, where "," is the decimal mark) or tabs. csv.Sniffer is not used: on rows with
    quoted multi-line text it guesses wrong."""
    if file.suffix.lower() == ".tsv":
        return "\t"
    header = sample.split("\n", 1)[0]
    return max(",;\t|", key=header.count)


def _parquet_rows(file: Path, mapping: dict[str, str]) -> Iterator[tuple[int, dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInputError(f"{file}: reading Parquet needs pyarrow: pip install 'qa-berita[parquet]'") from None
    try:
        table = pq.ParquetFile(file)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError and more for a bad file
        raise InvalidInputError(f"{file}: not a Parquet file ({exc})") from None
    plan = column_plan(table.schema_arrow.names, mapping, str(file))
    row = 1
    for batch in table.iter_batches(batch_size=256, columns=list(dict.fromkeys(plan.values()))):
        for values in batch.to_pylist():
            row += 1
            yield row, {field: _cell(values.get(column)) for field, column in plan.items()}

