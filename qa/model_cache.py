"""Model directories made once on first use and kept in the model cache."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cached_dir(target: Path, marker: str, make: Callable[[Path], None]) -> Path:
    """`target`, made by `make(staging_dir)` unless it already holds `marker`.

    The directory appears under its final name only once `make` has returned (it raises if
    its result fails a check), so an interrupted first run leaves nothing half-made behind.
    """
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        make(staging)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process published the same directory first; theirs is as good.
            if not (target / marker).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def quiet_model_libraries() -> None:
    """Model loading prints progress bars and load reports; ours is the only output a user sees."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
