import pytest

from qa import atomic


def test_write_text_replaces_the_file_whole(tmp_path):
    target = tmp_path / "state.json"
    atomic.write_text(target, "eerste")
    atomic.write_text(target, "tenaga kerja: 12,37 juta", durable=True)
    assert target.read_text(encoding="utf-8") == "tenaga kerja: 12,37 juta"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_staging_file(tmp_path):
    target = tmp_path / "state.json"
    atomic.write_text(target, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic.write_text(target, "half \ud800 written")  # a lone surrogate fails after the first bytes
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_target_that_cannot_be_replaced_raises_os_error_and_leaves_nothing_behind(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        atomic.write_text(tmp_path / "taken", "text")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    with pytest.raises(OSError):
        atomic.write_text(tmp_path / "missing" / "state.json", "text")


def test_fsync_takes_files_and_folders(tmp_path):
    (tmp_path / "a").write_text("x")
    atomic.fsync(tmp_path / "a")
    atomic.fsync(tmp_path)
