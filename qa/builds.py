"""The local backend's index directory on disk: builds, the pointer to the live one, the write
lock, and recovering or backing up a build.

Layout of an index directory:

    index/CURRENT              name of the live build (replaced atomically)
    index/write.lock           held by whoever writes (flock: released if the process dies)
    index/build-<time>-<tag>/  manifest.json (model, prefixes, format), store.sqlite (qa.store),
                               vectors.saved (a graph worth keeping: qa.snapshot)
    index/.staging/            a full build under way or interrupted (same files)

A full build is written beside the live one, in `index/.staging/`, and switched in by
renaming CURRENT, so a crash leaves the previous build in service; the staging build commits as
it goes and the next full build with the same model resumes it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from qa import atomic
from qa.backends.base import FORMAT_VERSION, Manifest, same_model
from qa.errors import (
    REBUILD_HINT, CorruptIndexError, IndexBusyError, IndexMismatchError, IndexNotFoundError, InvalidInputError,
    QAError, StorageError, damaged_index, disk_problem,
)
from qa.store import Store

POINTER = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
LOCK = "write.lock"
STAGING = ".staging"  # the full build under way (or interrupted)
SAVED_VECTORS = "vectors.saved"  # written by qa.snapshot; copied by a backup
# What else lives beside the builds, kept by the readers that fill the index (feed validators:
# qa.urls; watched folders' state: qa.watching). A backup copies it with the build it belongs to.
STATE_FILES = "*.json"
LOCK_WAIT_SECONDS = 10.0

log = logging.getLogger(__name__)

def _require_folder(index_dir: Path) -> None:
    """An index directory that is a file is an operator's slip, not a damaged index."""
    if index_dir.exists() and not index_dir.is_dir():
        raise InvalidInputError(f"index directory {index_dir} is a file, not a folder: name a folder "
                                "(one that does not exist yet is made)")


@contextmanager
def write_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS):
    """Hold the index directory's write lock, waiting at most `wait` seconds for it."""
    _require_folder(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / LOCK, "a+")
    except OSError as exc:
        raise disk_problem(index_dir) or CorruptIndexError(f"index in {index_dir} cannot be written ({exc})") from exc
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"index in {index_dir} is being written by another process (a full rebuild?); "
                        "try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_build(index_dir: Path) -> str:
    """The name of the live build (the content of CURRENT). A directory whose CURRENT is lost,
    unreadable or names no build, but that holds builds, is not an empty one: that is an error
    naming them and `qa recover`, so nothing indexes over them."""
    _require_folder(index_dir)
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text().strip()
        if name.startswith("build-") and "/" not in name and (index_dir / name).is_dir():
            return name
        problem = f"has a {POINTER} file naming no build here ({name[:80]!r})"
    except FileNotFoundError:
        problem = f"has lost its {POINTER} file"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"has an unreadable {POINTER} file ({exc})"
    found = builds(index_dir)
    if found:
        raise CorruptIndexError(
            f"index in {index_dir} {problem} but holds {len(found)} build(s) "
            f"({', '.join(b.name for b in found[:3])}{', …' if len(found) > 3 else ''}); nothing was "
            f"changed: run `qa recover --index-dir {index_dir}` to make the newest complete build live"
        ) from None
    if problem.startswith("has lost"):
        raise IndexNotFoundError(f"no index in {index_dir}: build one with `qa index PATH --index-dir {index_dir}`")
    raise CorruptIndexError(f"index in {index_dir} {problem} and no build; {REBUILD_HINT}")


def builds(index_dir: Path) -> list[Path]:
    """The build directories in `index_dir`, newest first (their names begin with the time)."""
    try:
        return sorted((b for b in index_dir.glob("build-*") if b.is_dir()), key=lambda b: b.name, reverse=True)
    except OSError:
        return []


def _set_live(index_dir: Path, name: str) -> None:
    """Point CURRENT at build `name`, atomically and durably."""
    atomic.write_text(index_dir / POINTER, name + "\n", durable=True)


def recover(index_dir: Path) -> tuple[str, int] | None:
    """Make the newest complete build live when CURRENT is lost or names no readable build;
    returns it with its article count, or None when the live build is fine as it is. The
    caller holds `write_lock`. Nothing is deleted."""
    try:
        build, manifest = read_manifest(index_dir)
        checked_store(index_dir, build, manifest).close()
        return None
    except IndexNotFoundError:
        raise
    except (CorruptIndexError, IndexMismatchError):
        pass  # lost, dangling or damaged: look for a build that reads
    problems = []
    for build in builds(index_dir):
        try:
            _, manifest = read_manifest(index_dir, build.name)
            store = checked_store(index_dir, build, manifest)
        except QAError as exc:
            problems.append(f"{build.name}: {exc}")
            continue
        articles = store.counts()[0]
        store.close()
        _set_live(index_dir, build.name)
        log.info("%s now points at %s (%d articles)", POINTER, build.name, articles)
        return build.name, articles
    raise CorruptIndexError(f"no complete build to recover in {index_dir} ({'; '.join(problems) or 'none found'}); "
                            f"{REBUILD_HINT.replace('PATH', f'PATH --index-dir {index_dir}')}")


def backup(index_dir: Path, target: Path) -> tuple[str, int, int]:
    """Copy the live build of `index_dir` into `target`, a new folder (or an empty one), as an
    index directory of its own; returns the build's name and its article and passage counts.

    The copy is consistent: writes wait for it (the write lock; they fail after
    LOCK_WAIT_SECONDS), and the store is copied by SQLite's backup API, not as a file that may
    be mid-commit. It is written beside `target` and renamed into place when complete, so an
    interrupted backup leaves no half index under that name. Restoring is the same copy the
    other way: `backup(the_backup, fresh_dir)`."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} already exists and is not an empty folder; name a new one "
                                "(a backup never writes over anything)")
    partial = target.parent / f".{target.name}.partial-{secrets.token_hex(3)}"
    with write_lock(index_dir):
        build, manifest = read_manifest(index_dir)
        source = checked_store(index_dir, build, manifest)
        try:
            (partial / build.name).mkdir(parents=True)
            shutil.copy2(build / MANIFEST, partial / build.name / MANIFEST)
            if (build / SAVED_VECTORS).is_file():  # a graph saves the next start rebuilding it
                shutil.copy2(build / SAVED_VECTORS, partial / build.name / SAVED_VECTORS)
            with sqlite3.connect(partial / build.name / STORE) as copy:
                source.backup_to(copy)
            articles, passages = source.counts()
            for state in index_dir.glob(STATE_FILES):
                if state.is_file():
                    shutil.copy2(state, partial / state.name)
            for written in (partial / build.name / STORE, partial / build.name, partial):
                atomic.fsync(written)
            _set_live(partial, build.name)
            if target.exists():  # an empty folder: rename replaces it
                target.rmdir()
            os.rename(partial, target)
            atomic.fsync(target.parent)
        except (OSError, sqlite3.Error) as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise disk_problem(target.parent) or StorageError(f"backup to {target} failed ({exc})") from exc
        finally:
            source.close()
    return build.name, articles, passages



def checked_store(index_dir: Path, build: Path, manifest: Manifest) -> Store:
    """The build's store, open and checked; an error saying why if it cannot be read."""
    store = Store(build / STORE, manifest.dimension)
    try:
        if not store.path.is_file():
            raise FileNotFoundError(f"{store.path} is missing")
        store.check()
    except (sqlite3.Error, OSError) as exc:
        store.close()
        raise damaged_index(index_dir, exc) from exc
    return store


def read_manifest(index_dir: Path, build_name: str | None = None) -> tuple[Path, Manifest]:
    """A build directory (by default the live one) and its manifest."""
    build = index_dir / (build_name or live_build(index_dir))
    try:
        fields = json.loads((build / MANIFEST).read_text())
        if fields.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in {index_dir} has format {fields.get('format')}, this version reads format "
                f"{FORMAT_VERSION}; {REBUILD_HINT}"
            )
        manifest = Manifest(**fields)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise damaged_index(index_dir, exc) from exc
    return build, manifest



@contextmanager
def new_build(index_dir: Path, manifest: Manifest, resume: bool = False):
    """A store in a staging directory; when the block ends without error, the build becomes the
    live one. The caller holds `write_lock`.

    With `resume`, the staging directory is kept when the block fails or the process dies, and
    the next resumable build with the same model goes on from what it committed; otherwise it is
    private to this build and removed on failure."""
    index_dir.mkdir(parents=True, exist_ok=True)
    for stale in index_dir.glob(f"{STAGING}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted private build
    staging = index_dir / (STAGING if resume else f"{STAGING}-{secrets.token_hex(3)}")
    try:
        store = _staging_store(staging, manifest)
    except (sqlite3.Error, OSError) as exc:
        raise disk_problem(index_dir) or CorruptIndexError(f"index in {index_dir} cannot be written ({exc})") from exc
    try:
        yield store
    except BaseException:
        store.close()
        if not resume:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    store.close()
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    for file in staging.iterdir():
        atomic.fsync(file)
    atomic.fsync(staging)
    name = f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
    os.rename(staging, index_dir / name)
    try:
        replaced = (index_dir / POINTER).read_text().strip()
    except (OSError, UnicodeDecodeError):
        replaced = None
    _set_live(index_dir, name)
    # Only the build this one replaces is deleted: any other (one a lost CURRENT left behind,
    # say) may hold articles nobody asked to drop.
    if replaced and replaced != name and (index_dir / replaced).parent == index_dir and replaced.startswith("build-"):
        shutil.rmtree(index_dir / replaced, ignore_errors=True)


def _staging_store(staging: Path, manifest: Manifest) -> Store:
    """The store of an interrupted build in `staging` made with the same model, or a new one."""
    try:
        found = Manifest(**json.loads((staging / MANIFEST).read_text()))
        if same_model(found, manifest) and found.format == FORMAT_VERSION and (staging / STORE).is_file():
            store = Store(staging / STORE, manifest.dimension)
            try:
                store.check()
                return store
            except QAError:
                store.close()
    except (OSError, ValueError, TypeError):
        pass  # nothing there, or nothing usable: start afresh
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    store = Store.create(staging / STORE, manifest.dimension)
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
    return store


