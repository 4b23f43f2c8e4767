"""Small files written whole or not at all.

The text goes to a staging file beside the target, named for this process and a random token so
that two writers never share one, and is then moved over the target in one step (`os.replace`):
a crash leaves the old file or the new one, never half of either, and a failed write leaves no
staging file behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (so that a rename in it survives a power cut), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: Path, text: str, durable: bool = False) -> None:
    """`text` at `path` in UTF-8, replacing what was there in one step; `durable`: on disk, the
    file and its folder's entry, before this returns. OSError as the write raised it."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    try:
        with open(staging, "w", encoding="utf-8") as file:
            file.write(text)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    if durable:
        fsync(path.parent)
