"""The watched folder: restarts read only what changed, half-written files wait, rows that
disappear from a table leave the index."""

import csv
import os
import threading
import time
from pathlib import Path

import pytest

from qa.errors import IndexBusyError, InvalidInputError
from qa.watching import FolderWatch

PAGES = Path(__file__).parent / "fixtures" / "pages"
STORY = "Harga cabai rawit merah di Pasar Induk Kramat Jati tembus Rp 80 ribu per kilogram pada pekan ini."


def settled(path: Path) -> None:
    """Date `path` back so it counts as completely written."""
    past = time.time() - 60
    os.utime(path, (past, past))


def test_a_restart_reads_only_what_changed_while_stopped(live_engine, tmp_path):
    folder = tmp_path / "scraper"
    folder.mkdir()
    for name in ("detik.html", "antara.html"):
        (folder / name).write_bytes((PAGES / name).read_bytes())
        settled(folder / name)
    first = FolderWatch(live_engine, folder, settle_s=1).sync()
    assert sorted(first.read) == ["antara.html", "detik.html"] and sorted(first.added) == ["antara", "detik"]
    assert FolderWatch(live_engine, folder, settle_s=1).sync().read == []  # a restart: nothing read again
    (folder / "antara.html").unlink()
    (folder / "tempo.html").write_bytes((PAGES / "tempo.html").read_bytes())
    settled(folder / "tempo.html")
    after = FolderWatch(live_engine, folder, settle_s=1).sync()
    assert (after.read, after.added, after.removed) == (["tempo.html"], ["tempo"], ["antara"])


def test_a_file_being_written_waits_until_it_settles(live_engine, tmp_path):
    folder = tmp_path / "scraper"
    folder.mkdir()
    page = (PAGES / "kompas.html").read_bytes()
    (folder / "kompas.html").write_bytes(page[: len(page) // 3])  # the scraper is still writing
    watch = FolderWatch(live_engine, folder, settle_s=30)
    report = watch.sync()
    assert report.waiting == ["kompas.html"] and not report.read
    (folder / "kompas.html").write_bytes(page)
    settled(folder / "kompas.html")
    assert watch.sync().added == ["kompas"]
    _, text = live_engine.article("kompas")
    assert "Rote Ndao" in text  # the whole page, not the third first seen


def test_rows_gone_from_a_table_leave_the_index(live_engine, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "harian.csv"

    def write(rows: int) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["judul", "isi"])
            writer.writerows([f"Berita {i}", f"{STORY} Laporan nomor {i}."] for i in range(rows))
        settled(path)

    write(3)
    watch = FolderWatch(live_engine, folder, settle_s=1)
    assert watch.sync().added == ["harian-2", "harian-3", "harian-4"]
    write(2)
    os.utime(path, (time.time() - 30, time.time() - 30))  # a new modification time
    assert watch.sync().removed == ["harian-4"]


def test_a_missing_folder_is_an_input_error(live_engine, tmp_path):
    with pytest.raises(InvalidInputError, match="no such folder"):
        FolderWatch(live_engine, tmp_path / "nope")


def test_one_watcher_per_folder_and_index(live_engine, tmp_path):
    """A second watcher of the same folder into the same index is refused while the first runs,
    and may start once it has stopped."""
    folder = tmp_path / "scraper"
    folder.mkdir()
    stop, passes = threading.Event(), []
    first = threading.Thread(target=FolderWatch(live_engine, folder, settle_s=0.2).run, args=(passes.append, stop))
    first.start()
    try:
        time.sleep(1)  # the first watcher holds its lock
        with pytest.raises(IndexBusyError, match="already watching"):
            FolderWatch(live_engine, folder, settle_s=0.2).run(passes.append, threading.Event())
    finally:
        stop.set()
        first.join(timeout=10)
    again = threading.Event()
    again.set()  # stops after its first pass
    FolderWatch(live_engine, folder, settle_s=0.2).run(passes.append, again)
