"""Stall test: does one heavy request hold up the questions of everyone else?

A real `qa serve` over the default corpus; one reader thread asks questions back to back the
whole time. First the reader runs alone (the baseline), then each heavy request below is sent
once while it runs. A client gives up on a request after --request-seconds (the largest write
takes about 10 minutes of embedding on 2 cores), and the server stops that work at its next
batch. For each request, the table gives its own time and status, and the reader's latency
while it ran: p50, max, and the stall (max minus the baseline p50).
Target (issue 15): no single request stalls other readers by more than 1 s.

    python benchmarks/stall.py [--baseline-seconds 10] [--request-seconds 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from load import KEY, free_port, percentile, start_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.reading import read_paths  # noqa: E402

QUESTIONS = ["berapa tenaga kerja IKM 2024?", "berapa jumlah IKM di Indonesia?", "siapa Menteri Perindustrian?"]


def heavy_requests(texts: list[str]) -> dict[str, tuple[str, str, dict]]:
    """The heaviest requests a client may send within the default limits."""
    body = " ".join(texts)
    many = [{"id": f"banyak-{i}", "title": f"Berita {i}", "text": f"{texts[i % len(texts)]} (edisi {i})"}
            for i in range(1000)]  # MAX_ARTICLES_PER_REQUEST, ~5 MB
    words, rng = body.split(), random.Random(0)
    # ~4.6 MB of sentences in random word order: no paragraph repeats another (repeats are dropped)
    large = {"id": "besar", "text": " ".join(rng.choice(words) + ("." if i % 20 == 19 else "")
                                             for i in range(700_000))}
    spaces = {"id": "spasi", "text": texts[0] + "\n" + " " * 100_000 + "\n" + texts[1]}
    return {
        "POST /articles, 1,000 articles (~5 MB)": ("post", "/articles", {"json": many}),
        "POST /articles, one 4.6 MB article": ("post", "/articles", {"json": large}),
        "POST /articles, 100 KB of spaces on a line": ("post", "/articles", {"json": spaces}),
        "GET /ask, top_k=50, 100 sources": ("get", "/ask", {"params": {"question": QUESTIONS[0], "top_k": 50,
                                                                         "sources": [f"s{i}" for i in range(100)]}}),
        "GET /articles, limit 1,000": ("get", "/articles", {"params": {"limit": 1000}}),
    }


class Reader(threading.Thread):
    """Asks questions back to back, recording (start, seconds) of each."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.times, self.errors = base, [], []
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as http:
            n = 0
            while not self.stopped.is_set():
                started = time.monotonic()
                response = http.get("/ask", params={"question": QUESTIONS[n % len(QUESTIONS)], "top_k": 5})
                if response.status_code != 200:
                    self.errors.append(response.status_code)
                self.times.append((started, time.monotonic() - started))
                n += 1

    def during(self, start: float, end: float) -> list[float]:
        """Latencies of the questions that overlapped [start, end]."""
        return [seconds for began, seconds in self.times if began <= end and began + seconds >= start]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--request-seconds", type=float, default=60.0)
    args = parser.parse_args()
    texts = [a.text for a in read_paths([ROOT / "corpus"]).articles]
    with tempfile.TemporaryDirectory() as work:
        index_dir = Path(work) / "index"
        Engine(Settings(index_dir=index_dir)).build_index([ROOT / "corpus"])
        port = free_port()
        server = start_server(index_dir, port)
        base = f"http://127.0.0.1:{port}"
        reader = Reader(base)
        try:
            reader.start()
            time.sleep(args.baseline_seconds)
            baseline = [s for _, s in reader.times]
            base_p50 = statistics.median(baseline)
            rows = []
            with httpx.Client(base_url=base, timeout=args.request_seconds, headers={"X-API-Key": KEY}) as http:
                for name, (method, path, options) in heavy_requests(texts).items():
                    start = time.monotonic()
                    try:
                        status = str(getattr(http, method)(path, **options).status_code)
                    except httpx.TimeoutException:
                        status = "client gave up"
                    end = time.monotonic()
                    time.sleep(5)  # the question in flight when it ended; abandoned work stops
                    during = reader.during(start, end)
                    rows.append((name, end - start, status, len(during), statistics.median(during), max(during)))
        finally:
            reader.stopped.set()
            reader.join()
            server.terminate()
            server.wait(timeout=60)
    print(f"reader alone: {len(baseline)} questions, p50 {base_p50 * 1000:.0f} ms, "
          f"p95 {percentile(baseline, 95) * 1000:.0f} ms; reader errors: {len(reader.errors)}")
    print()
    print("| heavy request | its time (s) | status | questions meanwhile | reader p50 (ms) | reader max (ms) "
          "| stall: max - baseline p50 (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, seconds, status, count, p50, worst in rows:
        print(f"| {name} | {seconds:.1f} | {status} | {count} | {p50 * 1000:.0f} | {worst * 1000:.0f} | "
              f"{worst - base_p50:.2f} |")


if __name__ == "__main__":
    main()
