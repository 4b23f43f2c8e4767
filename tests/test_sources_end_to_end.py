"""From raw input to a right answer, per kind of source: a saved web page, a feed, a CSV
export, a PDF press release and a watched folder. Each question's first passage must come from
the right article, with its title, source and date, and answer it."""

import shutil
import threading
from pathlib import Path

import pytest

from qa import Engine
from qa.watching import FolderWatch

from conftest import within
from test_pdfs import press_release

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"


def answer_words(answer) -> str:
    """The short answer, or else the answer span the reader found in the first passage."""
    if answer.answer and answer.answer.text:
        return answer.answer.text
    first = answer.results[0]
    return first.text[first.answer[0]:first.answer[1]] if first.answer else ""


def check(engine: Engine, question: str, title: str, source: str | None, date: str | None, words: str):
    answer = engine.ask(question)
    first = answer.results[0]
    assert (first.title, first.source, first.date) == (title, source, date)
    assert words in answer_words(answer)


def test_a_saved_web_page(live_engine):
    live_engine.add_paths([PAGES / "detik.html"])
    check(live_engine, "berapa harga kopi di tingkat petani Lampung?",
          "Ekspor Kopi Lampung Naik 18 Persen pada Oktober 2024", "detik", "2024-11-18", "Rp 60 ribu")


def with_settings(live_engine: Engine, **overrides) -> Engine:
    """`live_engine`'s index and model under other settings."""
    return Engine(live_engine.settings, embedder=live_engine.embedder, **overrides)


def test_a_feed(live_engine, news_site):
    live_engine = with_settings(live_engine, fetch_private_addresses=True)  # the test site is on this machine
    report = live_engine.add_paths([f"{news_site.base}/rss.xml"])
    assert len(report.added) == 3
    # The page states no date or site name: the date is the feed entry's, the source its host.
    check(live_engine, "pewarna apa yang dipakai tenun ikat Sumba?", "Mengenal Tenun Ikat Sumba", "127.0.0.1",
          "2024-11-30", "akar mengkudu")
    check(live_engine, "berapa juta wisatawan mancanegara ke Bali?", "Kunjungan wisman ke Bali capai 5,3 juta orang",
          "ANTARA", "2024-12-02", "5,3 juta")
    again = live_engine.add_paths([f"{news_site.base}/rss.xml"])  # unchanged (ETag): nothing fetched
    assert not again.added and any("unchanged" in w for w in again.warnings)


def test_a_csv_export(live_engine):
    """A scraper's export with its own column names, detik's "Tonton juga" / "Simak juga" /
    "SCROLL TO CONTINUE" lines, reporters' codes, mojibake, and a row with no text."""
    live_engine = with_settings(live_engine, columns="text=isi_berita,title=judul,date=tanggal,url=tautan")
    report = live_engine.add_paths([FIXTURES / "ekspor-berita.csv"])
    assert report.added == ["ekspor-berita-2", "ekspor-berita-3"] and "row 4" in report.skipped[0]
    check(live_engine, "berapa harga cabai rawit di Kramat Jati?", "Harga Cabai Rawit Tembus Rp 80 Ribu di Kramat Jati",
          "detik", "2024-11-18", "Rp 80 ribu")
    for article_id in report.added:
        _, text = live_engine.article(article_id)
        noise = ("Tonton juga", "SCROLL TO", "Simak juga", "Baca juga", "ADVERTISEMENT", "Â", "(das/hns)")
        assert not [n for n in noise if n in text]
    assert "±35 derajat" in live_engine.article("ekspor-berita-2")[1]


def test_a_pdf_press_release(live_engine, tmp_path):
    live_engine.add_paths([press_release(tmp_path / "rilis.pdf")])
    # its second paragraph: the body's text is read, past the letterhead and the headline
    check(live_engine, "berapa unit usaha rotan di Cirebon?", "Kemenperin Dorong Ekspor Furnitur Rotan Cirebon",
          None, "2024-11-21", "1.200 unit usaha rotan")


def test_a_watched_folder(live_engine, tmp_path):
    folder = tmp_path / "scraper"
    folder.mkdir()
    shutil.copy(PAGES / "tempo.html", folder)
    stop, passes = threading.Event(), []
    watcher = FolderWatch(live_engine, folder, settle_s=0.5)
    thread = threading.Thread(target=watcher.run, args=(passes.append, stop), daemon=True)
    thread.start()
    try:
        wait_for(lambda: "tempo" in ids(live_engine))
        check(live_engine, "berapa penumpang kereta cepat Whoosh?", "Kereta Cepat Whoosh Angkut 5 Juta Penumpang",
              "Tempo", "2024-10-17", "5 juta penumpang")
        (folder / "kompas.html").write_bytes((PAGES / "kompas.html").read_bytes())
        wait_for(lambda: "kompas" in ids(live_engine))
        check(live_engine, "berapa produksi garam nasional 2024?", "Produksi Garam Nasional 2024 Capai 2,5 Juta Ton",
              "Kompas", "2024-11-20", "2,5 juta ton")
        (folder / "tempo.html").unlink()
        wait_for(lambda: "tempo" not in ids(live_engine))
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def ids(engine: Engine) -> set[str]:
    return {a.id for a in engine.articles(0, 1000)[1]}


def wait_for(condition, seconds: float = 30) -> None:
    if not within(seconds, condition, pause=0.2):
        pytest.fail("the watched folder's change did not reach the index")
