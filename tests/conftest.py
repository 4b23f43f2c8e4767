"""Shared fixtures: the real model and a real index of the default corpus, built once per session."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import hypothesis
import pytest

from qa import Engine, Settings

ROOT = Path(__file__).resolve().parent.parent
FACQA = ROOT.parent / "shared" / "data" / "facqa"  # beside the checkout, as CI has it
OUTPUT = ROOT / "test-output"  # screenshots and other files a person may want to look at
CORPUS = ROOT / "corpus"
QUESTION = "berapa tenaga kerja IKM 2024?"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings for an index of the default corpus in a temporary folder (model cache: the user's)."""
    return Settings(
        index_dir=tmp_path_factory.mktemp("index"), corpus_dir=tmp_path_factory.mktemp("no-corpus") / "none"
    )


@pytest.fixture(scope="session")
def engine(settings) -> Engine:
    engine = Engine(settings)
    engine.build_index([CORPUS])
    return engine


def same_answer(found, expected, tolerance: float = 0.01) -> bool:
    """Two answers (`Answer.to_dict()`s) alike: the same results, texts, ranks and spans, and
    the same scores and confidences within `tolerance`. An index built again embeds its articles
    again, in other batches; where the CPU computes in bf16 (AMX) the vectors then differ in
    their last bits, and so do the scores (8.9462 for 8.9473)."""
    if isinstance(found, float) or isinstance(expected, float):
        return isinstance(found, (int, float)) and isinstance(expected, (int, float)) and abs(found - expected) <= tolerance
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(same_answer(found[k], expected[k], tolerance) for k in found)
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(same_answer(f, e, tolerance) for f, e in zip(found, expected))
    return found == expected


def batch_tolerance(reader, exact: float, rounded: float) -> float:
    """How far a batch's reader numbers may be from a lone read's: in fp32 they are the same
    (`exact`); bf16 and 8-bit weights (quantizing activations on the fly) round differently by
    the batch's shape (`rounded`): margins moved by up to 0.08 and confidences by 0.002, measured
    on an AVX-512 BF16 CPU where the reader chose them."""
    return exact if reader.choice.questions.precision == "fp32" else rounded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def within(seconds: float, condition, pause: float = 0.05) -> bool:
    """Whether `condition()` comes true within `seconds`, asked every `pause` seconds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True


def wait_until_up(base: str, process: subprocess.Popen, log: Path | None = None) -> None:
    """Wait for a server process to answer /health (model loading included); `log`: the file
    its output goes to, if not a pipe."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text() if log else process.stdout.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    pytest.fail("server did not start")


@contextmanager
def running_server(index_dir: Path, **env: str):
    """`uvicorn server:app` as deployed, over `index_dir` with QA_* `env`, on a loopback port.
    Its output (an access line per request) goes to a file: a pipe nobody reads would fill up
    and stop the server."""
    port = free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), **env}
    log = Path(index_dir).parent / f"server-{port}.log"
    with open(log, "w") as written:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=written, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, process, log)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_qa_serve(index_dir: Path, log: Path, *flags: str, **env: str) -> tuple[subprocess.Popen, str]:
    """`qa serve` over `index_dir` with `flags` and QA_* `env` on a loopback port, its output
    into the file `log`; returns the process, up, and its address."""
    port = free_port()
    with open(log, "w") as written:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--port", str(port), "--index-dir", str(index_dir), *flags],
            env={**os.environ, "QA_CORPUS_DIR": "/nonexistent", **env}, stdout=written, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)  # its own process group: a test's kill reaches its workers
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, process, log)
    return process, base


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a server started by `start_qa_serve` and its workers, if still there."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def server(settings, engine):
    """The app as deployed over the session's index."""
    with running_server(settings.index_dir) as base:
        yield base


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def live_engine(engine, tmp_path) -> Engine:
    """An engine over a private copy of the session's index, to add to and remove from freely."""
    shutil.copytree(engine.settings.index_dir, tmp_path / "index")
    return Engine(engine.settings, embedder=engine.embedder, index_dir=tmp_path / "index")


BATTERY = {
    "id": "baterai-batang",
    "title": "Pabrik baterai kendaraan listrik diresmikan",
    "source": "antara",
    "date": "3 Maret 2025",
    "text": "Kementerian Perindustrian meresmikan pabrik baterai kendaraan listrik di Batang, Jawa Tengah, "
    "pada Senin (3/3). Nilai investasi pabrik itu mencapai Rp 18 triliun dan menyerap 2.300 tenaga kerja.\n"
    "Menurut Menteri Perindustrian, pabrik tersebut memasok sel baterai untuk mobil listrik buatan dalam negeri.",
}
BATTERY_QUESTION = "berapa nilai investasi pabrik baterai di Batang?"


# Property and schema fuzzing: a bounded slice by default (CI), many more with HYPOTHESIS_PROFILE=deep.
hypothesis.settings.register_profile("default", max_examples=40, deadline=None)
hypothesis.settings.register_profile("deep", max_examples=1000, deadline=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def news_site():
    """A local news site (tests/news_site.py) serving saved pages, a feed, redirects, a slow
    and a huge response."""
    from news_site import NewsSite

    site = NewsSite()
    yield site
    site.close()
