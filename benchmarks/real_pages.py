"""Real saved news pages with their truth, for `benchmarks/ingest.py`, from a public scraper's
test fixtures: github.com/anpandu/indonesian-news-scraper (MIT). Its tests assert each saved
article page's title, date and publisher; every version of a fixture in the repository's history
is a page of its own, checked by the test file of the same commit.

    git clone https://github.com/anpandu/indonesian-news-scraper /tmp/ins
    python benchmarks/real_pages.py /tmp/ins /tmp/real-pages
    python benchmarks/ingest.py --pages /tmp/real-pages --truth /tmp/real-pages/truth.jsonl

The pages stay out of this repository: the scraper's licence covers its code, not the
publishers' articles. The truth's date is the asserted time in Jakarta (UTC+7), the zone the
pages print.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

JAKARTA = timezone(timedelta(hours=7))
# A JavaScript string literal in single quotes, with its escapes.
LITERAL = r"'((?:[^'\\]|\\.)*)'"
FIXTURE = re.compile(r"getContent\(" + LITERAL + r"\)")
ASSERTED = re.compile(r"result\['(title|date|source)'\],\s*(?:" + LITERAL + r"|(\d+))")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def _jakarta_day(asserted: int | str) -> str:
    """The day in Jakarta of an asserted time: epoch milliseconds or an ISO string."""
    if isinstance(asserted, int):
        moment = datetime.fromtimestamp(asserted / 1000, timezone.utc)
    else:
        moment = datetime.fromisoformat(asserted.replace(" T", "T").replace("Z", "+00:00"))
    return moment.astimezone(JAKARTA).date().isoformat()


def asserted_pages(test_source: str) -> dict[str, dict]:
    """Each article fixture a test file reads, with the title, date and source it asserts."""
    found: dict[str, dict] = {}
    current = None
    for line in test_source.splitlines():
        if line.lstrip().startswith("//"):
            continue
        if (read := FIXTURE.search(line)) is not None:
            current = read.group(1) if "singlepage" in read.group(1) or "scrap.html" in read.group(1) else None
            continue
        if current and (asserted := ASSERTED.search(line)) is not None:
            field, text, number = asserted.groups()
            found.setdefault(current, {})[field] = _unescape(text) if text is not None else int(number)
    return {path: truth for path, truth in found.items() if {"title", "date", "source"} <= truth.keys()}


def collect(repo: Path, out: Path) -> list[dict]:
    """Every distinct page blob with the truth its own commit's tests assert (newest wins)."""
    pages: dict[str, dict] = {}
    for commit in _git(repo, "rev-list", "--all").split():
        tree = {line.split("\t")[1]: line.split()[2] for line in _git(repo, "ls-tree", "-r", commit).splitlines()}
        for test in (path for path in tree if path.startswith("test/") and path.endswith(".js")):
            for fixture, truth in asserted_pages(_git(repo, "show", f"{commit}:{test}")).items():
                if fixture in tree and tree[fixture] not in pages:
                    pages[tree[fixture]] = {"fixture": fixture, **truth}
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for blob, page in sorted(pages.items(), key=lambda item: item[1]["fixture"]):
        name = f"{Path(page['fixture']).stem}-{blob[:7]}.html"
        (out / name).write_bytes(subprocess.run(["git", "-C", str(repo), "cat-file", "blob", blob],
                                                check=True, capture_output=True).stdout)
        published = _jakarta_day(page["date"])
        rows.append({"file": name, "site": page["source"], "title": page["title"],
                     "source": page["source"], "date": published})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clone", type=Path, help="a clone of github.com/anpandu/indonesian-news-scraper")
    parser.add_argument("out", type=Path, help="folder for the pages and truth.jsonl")
    args = parser.parse_args()
    rows = collect(args.clone, args.out)
    (args.out / "truth.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    print(f"{len(rows)} pages from {len({r['site'] for r in rows})} sites in {args.out}")


if __name__ == "__main__":
    main()
