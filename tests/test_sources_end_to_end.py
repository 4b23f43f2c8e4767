"""From raw input to a right answer, per kind of source: a saved web page, a feed, a CSV
export, a PDF press release and a watched folder. Each question's first passage must come from
the right article, with its title, source and date, and answer it."""

import csv
import shutil
import threading
import time
from pathlib import Path

import pytest

from qa import Engine
from qa.watching import FolderWatch
from test_pdfs import press_release

PAGES = Path(__file__).parent / "fixtures" / "pages"


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


NOISY_ROW = {
    "judul": "Harga Cabai Rawit Tembus Rp 80 Ribu",
    "isi_berita": "Jakarta - Harga cabai rawit merah di Pasar Induk Kramat Jati tembus Rp 80 ribu per kilogram "
    "pada pekan ini.\nTonton juga video \"Cabai Mahal di Pasar\" di sini:\nSCROLL TO CONTINUE WITH CONTENT\n"
    "Pedagang mengatakan pasokan dari Jawa Timur berkurang separuh dan suhu Â±35 derajat merusak tanaman.\n"
    "Simak juga: Harga Bawang Merah Turun\n(das/hns)",
    "tanggal": "Senin, 18 Nov 2024 14:05 WIB",
    "tautan": "https://finance.detik.com/berita-ekonomi-bisnis/d-7641300/harga-cabai-rawit",
}


def test_a_csv_export(live_engine, tmp_path):
    path = tmp_path / "ekspor.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(NOISY_ROW))
        writer.writeheader()
        writer.writerow(NOISY_ROW)
        writer.writerow({**NOISY_ROW, "isi_berita": ""})
    live_engine = with_settings(live_engine, columns="text=isi_berita,title=judul,date=tanggal,url=tautan")
    report = live_engine.add_paths([path])
    assert report.added == ["ekspor-2"] and "row 3" in report.skipped[0]
    check(live_engine, "berapa harga cabai rawit di Kramat Jati?", "Harga Cabai Rawit Tembus Rp 80 Ribu", "detik",
          "2024-11-18", "Rp 80 ribu")
    _, text = live_engine.article("ekspor-2")
    assert "±35 derajat" in text
    assert not [n for n in ("Tonton juga", "SCROLL TO", "Simak juga", "Â", "das/hns") if n in text]


def test_a_pdf_press_release(live_engine, tmp_path):
    live_engine.add_paths([press_release(tmp_path / "rilis.pdf")])
    check(live_engine, "berapa tenaga kerja usaha rotan di Cirebon?", "Kemenperin Dorong Ekspor Furnitur Rotan Cirebon",
          None, "2024-11-21", "60 ribu tenaga kerja")


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
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the watched folder's change did not reach the index")
        time.sleep(0.2)
