"""Real saved news pages with their truth, for `benchmarks/ingest.py`, from the test data of public
scrapers and extractors:
- github.com/anpandu/indonesian-news-scraper (MIT): its tests assert each saved article page's
  title, date and publisher; every version of a fixture in the repository's history is a page of
  its own. Pages of 10 sites from 2015-2017; two versions that no test asserts were read by hand
  (ANPANDU_READ_BY_HAND).
- github.com/flairNLP/fundus (MIT): its parser tests keep pages gzipped under
  tests/resources/parser/test_data/<country>/ with the expected title and publishing date in a
  JSON file beside them; Indonesia's ("id") held one Media Indonesia page at a time, three over
  its history (2025-2026). The rules of qa were never tuned on these.
- github.com/adbar/htmldate (Apache-2.0): its date-extraction evaluation keeps saved pages with
  the publishing date each should give (tests/eval_default.json, tests/eval_mediacloud_2020.json);
  three are Indonesian (detikHealth and Kompas 2023, Tribunnews 2020). It asserts no title, so
  each page's headline was read off the page by hand (HTMLDATE_HEADLINES), before qa read it.
- github.com/tisorlawan/indonesian-media-crawler (no licence stated): a crawler whose tests keep
  five detik pages of 2021-2022 (news, sport, football, inet, travel) under tests/htmls/; its
  test asserts the title and time of one, and the headline, publisher and date of each were read
  off the pages by hand (CRAWLER_PAGES) before qa read them. The newest version of each is used.
- github.com/hafizbadrie/slasherrb (MIT): a content extractor whose specs kept ten article pages
  of ten sites from June 2015 under spec/cases/ (removed from the repository later, so they are
  taken from its history), with the expected text and no metadata; the headline, publisher and
  day of each were read off the pages by hand (SLASHER_PAGES) before qa read them.

    git clone https://github.com/anpandu/indonesian-news-scraper /tmp/ins
    git clone https://github.com/flairNLP/fundus /tmp/fundus
    git clone https://github.com/adbar/htmldate /tmp/htmldate
    git clone https://github.com/tisorlawan/indonesian-media-crawler /tmp/crawler
    git clone https://github.com/hafizbadrie/slasherrb /tmp/slasher
    python benchmarks/real_pages.py /tmp/ins /tmp/real-pages --fundus /tmp/fundus --htmldate /tmp/htmldate \
        --crawler /tmp/crawler --slasher /tmp/slasher
    python benchmarks/ingest.py --pages /tmp/real-pages --truth /tmp/real-pages/truth.jsonl

The pages stay out of this repository: the scrapers' licences cover their code, not the
publishers' articles. The truth's date is the day in Jakarta (UTC+7), the zone the pages print.
"""

from __future__ import annotations

import argparse
import gzip
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


def _blob(repo: Path, sha: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "blob", sha], check=True, capture_output=True).stdout


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


# Two article pages in its history whose commits' tests assert no full truth for them (a
# fixture's version between two that are asserted; one also saved once under viva's name): the
# publisher, headline and day of each blob, read off the page by hand before qa read it.
ANPANDU_READ_BY_HAND = {
    "1b8a121": ("Republika", "City Siap Tawarkan Kontrak Baru untuk Fernandinho", "2015-11-18"),
    "d39ea96": ("Republika", "Sejak Jadi Tersangka, Ketua DPRD Sumut tak Masuk Kerja", "2015-11-05"),
}


def collect(repo: Path, out: Path) -> list[dict]:
    """Every distinct page blob with the truth its own commit's tests assert (newest wins), and
    the blobs of ANPANDU_READ_BY_HAND with theirs."""
    pages: dict[str, dict] = {}
    blobs: set[str] = set()
    for commit in _git(repo, "rev-list", "--all").split():
        tree = {line.split("\t")[1]: line.split()[2] for line in _git(repo, "ls-tree", "-r", commit).splitlines()}
        blobs.update(tree.values())
        for test in (path for path in tree if path.startswith("test/") and path.endswith(".js")):
            for fixture, truth in asserted_pages(_git(repo, "show", f"{commit}:{test}")).items():
                if fixture in tree and tree[fixture] not in pages:
                    pages[tree[fixture]] = {"name": Path(fixture).stem, "title": truth["title"],
                                            "source": truth["source"], "date": _jakarta_day(truth["date"])}
    for blob in sorted(blobs):
        if (truth := ANPANDU_READ_BY_HAND.get(blob[:7])) is not None and blob not in pages:
            publisher, headline, day = truth
            pages[blob] = {"name": "read-by-hand", "title": headline, "source": publisher, "date": day}
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for blob, page in sorted(pages.items(), key=lambda item: item[1]["name"]):
        name = f"{page['name']}-{blob[:7]}.html"
        (out / name).write_bytes(_blob(repo, blob))
        rows.append({"file": name, "site": page["source"], "title": page["title"], "source": page["source"],
                     "date": page["date"]})
    return rows


# fundus's Indonesian fixtures, and the publisher each file name's prefix stands for
FUNDUS_PAGES = "tests/resources/parser/test_data/id/"
FUNDUS_PUBLISHERS = {"MediaIndonesia": "Media Indonesia"}


def collect_fundus(repo: Path, out: Path) -> list[dict]:
    """Every distinct Indonesian page in fundus's history, with the title and publishing date its
    own commit's JSON expects."""
    rows, seen = [], set()
    for commit in _git(repo, "rev-list", "--all", "--", FUNDUS_PAGES).split():
        tree = {line.split("\t")[1]: line.split()[2] for line in _git(repo, "ls-tree", "-r", commit, FUNDUS_PAGES).splitlines()}
        for prefix, publisher in FUNDUS_PUBLISHERS.items():
            expected = tree.get(f"{FUNDUS_PAGES}{prefix}.json")
            pages = sorted(p for p in tree if p.startswith(f"{FUNDUS_PAGES}{prefix}_") and p.endswith(".html.gz"))
            if expected is None or len(pages) != 1 or tree[pages[0]] in seen:
                continue  # the JSON's versions name no file: only a lone page is matched to it
            truth = next(iter(json.loads(_blob(repo, expected)).values()))
            seen.add(tree[pages[0]])
            name = Path(pages[0]).name.removesuffix(".gz")
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(gzip.decompress(_blob(repo, tree[pages[0]])))
            rows.append({"file": name, "site": publisher, "title": truth["title"], "source": publisher,
                         "date": _jakarta_day(truth["publishing_date"])})
    return rows


# htmldate's evaluation files, and the publisher and headline of each Indonesian page in them
HTMLDATE_TRUTHS = ("tests/eval_default.json", "tests/eval_mediacloud_2020.json")
HTMLDATE_HEADLINES = {
    "health.detik.com-Stroke.html": ("Detik", "Curhat Wanita Kena Stroke di Umur 26, Ketahuan saat Terkapar di Kamar Mandi"),
    "money.kompas.com-Menhub.html": ("Kompas", "Menhub Bocorkan Penyebab Harga Tiket Pesawat Masih Mahal"),
    "1595907782.html": ("Tribunnews",
                        "Jawaban Soal Apa Dampak Negatif Jika Menunda Pekerjaan, Belajar dari Rumah SMA di TVRI"),
}
_INDONESIAN_PAGE = re.compile(rb"<html[^>]*\blang=[\"']?(?:id|in)\b", re.IGNORECASE)


def collect_htmldate(repo: Path, out: Path) -> list[dict]:
    """htmldate's Indonesian evaluation pages with the date its evaluation expects, and the
    publisher and headline read off each page."""
    files = {Path(path).name: path for path in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "tests/").split("\n")}
    rows = []
    for truths in HTMLDATE_TRUTHS:
        for entry in json.loads(_git(repo, "show", f"HEAD:{truths}")).values():
            name = entry.get("file")
            if name not in files or not isinstance(entry.get("date"), str):
                continue
            page = _blob(repo, f"HEAD:{files[name]}")
            if not _INDONESIAN_PAGE.search(page[:5000]):
                continue
            if name not in HTMLDATE_HEADLINES:
                print(f"skipped {name}: an Indonesian page whose headline has not been read by hand")
                continue
            publisher, headline = HTMLDATE_HEADLINES[name]
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(page)
            rows.append({"file": name, "site": publisher, "title": headline, "source": publisher, "date": entry["date"]})
    return rows


# Pages whose truth was read off each page by hand, before qa read them: for each repository, the
# folder that keeps them, a prefix for their names here, and the publisher, headline and day of
# each file name.
CRAWLER_PAGES = ("tests/htmls/", "crawler-", {
    "1.html": ("Detik", "Polisi soal Pistol di Kasus Cekcok Pemobil vs Pemotor: Cuma Diperlihatkan", "2022-12-10"),
    "2.html": ("Detik", "Susunan Pemain Maroko Vs Portugal: Ronaldo Cadangan Lagi", "2022-12-10"),
    "4.html": ("Detik", "Para Peracik Bola Mati", "2021-09-30"),
    "inet.html": ("Detik", "Bos Kripto yang Bangkrut Ngeles Soal Hobi Beli Rumah Mewah", "2022-12-10"),
    "travel.html": ("Detik", "Kadispar Badung Jamin Wisman Tak Disweeping Imbas Pasal Zina KUHP", "2022-12-10"),
})
SLASHER_PAGES = ("spec/cases/", "slasher-", {
    "detik.html": ("Detik", "Mahasiswa UGM Kembangkan Robot Terapi Pascastroke", "2015-06-16"),
    "kompas.html": ("Kompas", "Supaya Timnya Mengalah, Eks Pelatih Mengaku Ditawari Rp 200 Juta", "2015-06-17"),
    "liputan6.html": ("Liputan6", "Wapres JK dan Ahok 'Blusukan' dari Udara", "2015-06-18"),
    "merdeka.html": ("Merdeka", "Kisah penjaga penjara Guantanamo yang beralih memeluk Islam", "2015-06-19"),
    "okezone.html": ("Okezone", "Ahok Dukung Jokowi Diberi Pangkat Bintang Lima", "2015-06-19"),
    "suara.html": ("Suara", "Polda Bali Kumpulkan 4 Alat Bukti Pembunuhan Angeline", "2015-06-19"),
    "thejakartaglobe.html": ("The Jakarta Globe", "Brouhaha Over Bill to Weaken KPK Carries PDI-P’s Hallmarks",
                             "2015-06-19"),
    "thejakartapost.html": ("The Jakarta Post", "Suspect caught in US black church 'hate crime' rampage", "2015-06-19"),
    "tribunnews.html": ("Tribunnews",
                        "Kadishub DKI: Taksi Uber Tak Punya Izin Operasi, Uji KIR, Tidak Berargo dan Bermahkota",
                        "2015-06-19"),
    "viva.html": ("Viva", "Thailand Butuh Empat Hari Sebelum Pastikan ada MERS", "2015-06-19"),
})


def collect_read_by_hand(repo: Path, out: Path, pages: tuple[str, str, dict[str, tuple[str, str, str]]]) -> list[dict]:
    """The newest version in `repo`'s history of each page named in `pages`, with the truth read
    off it."""
    folder, prefix, truths = pages
    newest: dict[str, str] = {}
    for commit in _git(repo, "rev-list", "--all", "--", folder).split():  # newest first
        for line in _git(repo, "ls-tree", "-r", commit, folder).splitlines():
            newest.setdefault(line.split("\t")[1], line.split()[2])
    rows = []
    for path, blob in sorted(newest.items()):
        if not path.endswith(".html"):
            continue
        if (truth := truths.get(Path(path).name)) is None:
            print(f"skipped {path}: a page whose truth has not been read by hand")
            continue
        publisher, headline, day = truth
        name = prefix + Path(path).name
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(_blob(repo, blob))
        rows.append({"file": name, "site": publisher, "title": headline, "source": publisher, "date": day})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clone", type=Path, help="a clone of github.com/anpandu/indonesian-news-scraper")
    parser.add_argument("out", type=Path, help="folder for the pages and truth.jsonl")
    parser.add_argument("--fundus", type=Path, help="a clone of github.com/flairNLP/fundus: its Indonesian pages too")
    parser.add_argument("--htmldate", type=Path, help="a clone of github.com/adbar/htmldate: its Indonesian pages too")
    parser.add_argument("--crawler", type=Path,
                        help="a clone of github.com/tisorlawan/indonesian-media-crawler: its detik pages too")
    parser.add_argument("--slasher", type=Path, help="a clone of github.com/hafizbadrie/slasherrb: its pages too")
    args = parser.parse_args()
    rows = collect(args.clone, args.out)
    if args.fundus:
        rows += collect_fundus(args.fundus, args.out)
    if args.htmldate:
        rows += collect_htmldate(args.htmldate, args.out)
    if args.crawler:
        rows += collect_read_by_hand(args.crawler, args.out, CRAWLER_PAGES)
    if args.slasher:
        rows += collect_read_by_hand(args.slasher, args.out, SLASHER_PAGES)
    (args.out / "truth.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    print(f"{len(rows)} pages from {len({r['site'] for r in rows})} sites in {args.out}")


if __name__ == "__main__":
    main()
