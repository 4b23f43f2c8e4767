"""The few errors the product raises on purpose.

Every interface maps them the same way: the CLI prints the message on one line and exits
with ``exit_code``; the HTTP server answers with ``http_status`` and the message.
Anything else escaping is a bug.
"""

import os
from pathlib import Path


class QAError(Exception):
    """Base class: a failure with a message meant for the person who caused it."""

    exit_code = 1
    http_status = 500


class InvalidInputError(QAError):
    """A question, option or file the caller gave us cannot be used as given."""

    exit_code = 2
    http_status = 422


class IndexNotFoundError(QAError):
    """There is no built index where one was expected."""

    exit_code = 3
    http_status = 503


class IndexMismatchError(QAError):
    """An index exists but was built with another model, dimension or format."""

    exit_code = 3
    http_status = 503


class CorruptIndexError(QAError):
    """An index directory exists but its files cannot be read."""

    exit_code = 3
    http_status = 503


class NoArticlesError(InvalidInputError):
    """Indexing found no readable article in the paths given."""


class ModelError(QAError):
    """The embedding model could not be loaded, converted or verified."""

    exit_code = 4
    http_status = 503


class ArticleNotFoundError(QAError):
    """No indexed article has the id given."""

    exit_code = 2
    http_status = 404


class IndexBusyError(QAError):
    """Another process holds the index's write lock (a full rebuild, say) for too long."""

    exit_code = 5
    http_status = 503


class AccessDeniedError(QAError):
    """A request without the API key a protected endpoint needs."""

    exit_code = 2
    http_status = 401


class WritesDisabledError(QAError):
    """A write over HTTP while no API key is configured: writes are closed, not open."""

    exit_code = 2
    http_status = 403


class WorkStoppedError(QAError):
    """A write stopped between batches, nothing stored: its client left, it ran past its time
    limit, or the server is stopping."""

    exit_code = 1
    http_status = 503


class FetchError(QAError):
    """A page or feed could not be fetched: the address did not answer, answered with an
    error, too slowly, or with more than the size limit."""

    exit_code = 8
    http_status = 502


class FetchRefusedError(FetchError):
    """A fetch this server will not make: fetching is off for HTTP callers, or the address is
    private, loopback or link-local (a way into the server's own network)."""

    exit_code = 2
    http_status = 403


class StorageError(QAError):
    """The disk under the index refused: it is full or mounted read-only. Nothing is damaged,
    and a rebuild would fail the same way."""

    exit_code = 6
    http_status = 503


class BackendUnavailableError(QAError):
    """The index's backend cannot be reached or used: a wrong Milvus URI, a server that does not
    answer, a refused token, or the `cluster` extra not installed."""

    exit_code = 7
    http_status = 503


def _disk(path) -> os.statvfs_result | None:
    """The file system statistics of the nearest existing folder holding `path`."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return os.statvfs(folder)
    except OSError:
        return None


def read_only_disk(path) -> bool:
    stats = _disk(path)
    return bool(stats and stats.f_flag & os.ST_RDONLY)


def disk_problem(path) -> StorageError | None:
    """A StorageError if the file system holding `path` is read-only or full, else None:
    asked after a failed read or write, so that a full disk is not called a damaged index."""
    stats = _disk(path)
    if stats is None:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return StorageError(f"{path} is on a read-only disk: it can be searched but not changed; nothing was "
                            "changed: mount it writable or use another --index-dir")
    if stats.f_bavail * stats.f_frsize < 1_000_000:
        return StorageError(f"the disk holding {path} is full; nothing was changed and the last good index is "
                            "kept: free some space and try again")
    return None


REBUILD_HINT = "rebuild it with `qa index PATH`"  # what every damaged or mismatched index tells the user to do


def damaged_index(where, why) -> QAError:
    """What a failure to read the index at `where` means: a full or read-only disk, or a damaged
    index (the one message for the latter, with how to rebuild)."""
    return disk_problem(where) or CorruptIndexError(f"index in {where} is damaged ({why}); {REBUILD_HINT}")
