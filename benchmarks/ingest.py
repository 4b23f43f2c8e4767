"""Reading what newsrooms hold: metadata accuracy on saved pages, the noise left in a CSV
export's passages, and reading speed per format against plain text, in one process.

    python benchmarks/ingest.py [--pages DIR --truth FILE.jsonl] [--rounds 3]

`--truth` holds one line per page: {"file", "site", "title", "source", "date"} (null where the
page states none). By default: the hand-made pages of tests/fixtures/pages, one per site
template, and benchmarks/pages_truth.jsonl. Point it at a folder of real saved pages and their
truth to measure those (`benchmarks/real_pages.py` makes one from a public scraper's fixtures).
Titles are compared with their spaces evened out; a source is right when it names the publisher
("okezone.com" for "Okezone").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunking import split_article  # noqa: E402
from qa.reading import read_paths  # noqa: E402
from qa.tables import parse_columns  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
# What the big sites add around a story; a passage holding any of these is noisy.
NOISE = ("tonton juga", "simak juga", "baca juga", "scroll to continue", "advertisement", "dapatkan update",
         "artikel ini telah tayang", "gambas:", "pilihan editor", "Â", "â€")


def _same_title(got: str | None, expected: str | None) -> bool:
    return " ".join((got or "").split()) == " ".join((expected or "").split())


def _same_publisher(got: str | None, expected: str | None) -> bool:
    """The same publisher under any of its spellings: "detik" for "Detik", "okezone.com" for
    "Okezone", "Antara News Agency" for "Antara"."""
    if got is None or expected is None:
        return got == expected
    got, expected = (re.sub(r"\W|_", "", name.lower()) for name in (got, expected))
    return bool(got and expected) and (got in expected or expected in got)


def metadata_accuracy(pages: Path, truth_file: Path) -> None:
    truth = [json.loads(line) for line in truth_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    read = {Path(a.path).name: a for a in read_paths([pages / t["file"] for t in truth]).articles}
    by_site: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for expected in truth:
        article = read.get(expected["file"])
        got = (article.title, article.source, article.date) if article else (None, None, None)
        by_site[expected["site"]].append((_same_title(got[0], expected["title"]),
                                          _same_publisher(got[1], expected["source"]), got[2] == expected["date"]))
    print(f"\nmetadata of {len(truth)} pages from {len(by_site)} sites ({pages})\n")
    print("| site | pages | title | source | date | all three |\n|---|---:|---:|---:|---:|---:|")
    rows = [*by_site.items(), ("all", [r for results in by_site.values() for r in results])]
    for site, results in rows:
        share = [sum(r[i] for r in results) / len(results) for i in range(3)]
        whole = sum(all(r) for r in results) / len(results)
        print(f"| {site} | {len(results)} | {share[0]:.0%} | {share[1]:.0%} | {share[2]:.0%} | {whole:.0%} |")


def noise_in_passages(export: Path, columns: str) -> None:
    articles = read_paths([export], columns=parse_columns(columns)).articles
    passages = [p.text for a in articles for p in split_article(a)]
    noisy = [p for p in passages if any(n.lower() in p.lower() for n in NOISE)]
    raw = export.read_text(encoding="utf-8").lower()
    print(f"\nnoise in a CSV export ({export.name}): {sum(raw.count(n.lower()) for n in NOISE)} noise markers in "
          f"the file, {len(noisy)} of {len(passages)} passages hold one after reading")


def reading_speed(rounds: int, columns: str) -> None:
    kinds = {"txt (baseline)": [ROOT / "corpus"], "html": [FIXTURES / "pages"],
             "csv": [FIXTURES / "ekspor-berita.csv"], "pdf": [FIXTURES / "siaran-pers.pdf"]}
    print(f"\nreading speed, best of {rounds} rounds (articles with cleaning and metadata)\n")
    print("| input | articles | ms per article | × txt |\n|---|---:|---:|---:|")
    baseline = None
    for kind, paths in kinds.items():
        best, count = float("inf"), 0
        for _ in range(rounds):
            started = time.perf_counter()
            count = len(read_paths(paths, columns=parse_columns(columns)).articles)
            best = min(best, time.perf_counter() - started)
        per = best / max(count, 1) * 1000
        baseline = baseline or per
        print(f"| {kind} | {count} | {per:.1f} | {per / baseline:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=FIXTURES / "pages")
    parser.add_argument("--truth", type=Path, default=ROOT / "benchmarks" / "pages_truth.jsonl")
    parser.add_argument("--export", type=Path, default=FIXTURES / "ekspor-berita.csv")
    parser.add_argument("--columns", default="text=isi_berita,title=judul,date=tanggal,url=tautan")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    metadata_accuracy(args.pages, args.truth)
    noise_in_passages(args.export, args.columns)
    reading_speed(args.rounds, args.columns)


if __name__ == "__main__":
    main()
