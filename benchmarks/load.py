"""Load test: a real `qa serve` (uvicorn) process and N concurrent clients on loopback asking
FacQA questions for a fixed time, while a writer adds articles through POST /articles.

For each run it reports requests/s, latency p50/p95/p99, errors (any non-200 answer or failed
request), and the writes done. The baseline is the 1-client run of the same server: the
`p99 / 1-client p50` column is how much waiting the concurrency adds.
Target (issue 4), on 2 cores with FacQA indexed: 16 clients, 0 errors, p99 under 250 ms.

    python benchmarks/load.py [--facqa ../shared/data/facqa] [--clients 1,4,16] [--seconds 20]
                              [--write-every 1.0] [--index-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.reading import read_paths  # noqa: E402

KEY = "load-test-key"
RUN = time.strftime("%Y%m%d%H%M%S")


@dataclass
class Run:
    clients: int
    writer: bool
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    writes: int = 0
    write_errors: list[str] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "QA_API_KEY": KEY, "QA_CORPUS_DIR": "/nonexistent"}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("server did not start within 300 s")


async def client(http: httpx.AsyncClient, questions: list[str], stop: float, run: Run, rng: random.Random):
    while time.monotonic() < stop:
        question = rng.choice(questions)
        started = time.perf_counter()
        try:
            response = await http.get("/ask", params={"q": question, "k": 5})
            if response.status_code != 200:
                run.errors.append(f"{response.status_code} {response.text[:100]}")
        except httpx.HTTPError as exc:
            run.errors.append(repr(exc))
        run.latencies.append((time.perf_counter() - started) * 1000)


async def writer(http: httpx.AsyncClient, articles: list[dict], every: float, stop: float, run: Run, offset: int):
    n = 0
    while time.monotonic() + every < stop:
        await asyncio.sleep(every)
        article = articles[(offset + n) % len(articles)]
        tag = f"{RUN}-{offset + n}"  # new in every run, so each write adds an article
        record = {**article, "id": f"load-{tag}", "text": article["text"] + f"\n\nPembaruan {tag}."}
        started = time.perf_counter()
        try:
            response = await http.post("/articles", json=record, headers={"X-API-Key": KEY})
            if response.status_code != 200 or not response.json()["added"]:
                run.write_errors.append(f"{response.status_code} {response.text[:100]}")
            else:
                run.writes += 1
        except httpx.HTTPError as exc:
            run.write_errors.append(repr(exc))
        run.write_ms.append((time.perf_counter() - started) * 1000)
        n += 1


async def load(base: str, questions: list[str], articles: list[dict], clients: int, seconds: float,
               write_every: float | None, offset: int) -> Run:
    run = Run(clients=clients, writer=write_every is not None)
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        await http.get("/ask", params={"q": questions[0]})  # warm the connection and the model
        stop = time.monotonic() + seconds
        started = time.perf_counter()
        tasks = [client(http, questions, stop, run, random.Random(i)) for i in range(clients)]
        if write_every:
            tasks.append(writer(http, articles, write_every, stop, run, offset))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
    return run


def table(runs: list[Run]) -> str:
    baseline = statistics.median(runs[0].latencies)
    rows = [
        "| clients | writer | requests | req/s | p50 ms | p95 ms | p99 ms | p99 / 1-client p50 | errors | "
        "writes ok | write errors | write p50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        p99 = percentile(r.latencies, 99)
        rows.append(
            f"| {r.clients} | {'yes' if r.writer else 'no'} | {len(r.latencies)} | {len(r.latencies) / r.seconds:.1f} "
            f"| {percentile(r.latencies, 50):.0f} | {percentile(r.latencies, 95):.0f} | {p99:.0f} "
            f"| {p99 / baseline:.2f} | {len(r.errors)} | {r.writes} | {len(r.write_errors)} "
            f"| {percentile(r.write_ms, 50):.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between writes (0: no writer)")
    parser.add_argument("--index-dir", type=Path, help="index to serve (default: FacQA, built in a temp folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        corpus = Path(tmp) / "facqa.jsonl"
        items = facqa(args.facqa, "valid", corpus) + facqa(args.facqa, "train", corpus)
        questions = [item.question for item in items]
        index_dir = args.index_dir or Path(tmp) / "index"
        if not (index_dir / "CURRENT").exists():
            print(f"indexing FacQA passages into {index_dir} ...", file=sys.stderr)
            report = Engine(index_dir=index_dir).build_index([corpus])
            print(f"  {report.passages} passages in {report.seconds:.0f}s", file=sys.stderr)
        articles = [
            {"text": a.text, "title": a.title, "source": a.source, "date": a.date}
            for a in read_paths([ROOT / "corpus"]).articles
        ]
        port = free_port()
        server = start_server(index_dir, port)
        try:
            runs, offset = [], 0
            for clients in [int(c) for c in args.clients.split(",")]:
                print(f"{clients} clients for {args.seconds:.0f}s ...", file=sys.stderr)
                run = asyncio.run(load(f"http://127.0.0.1:{port}", questions, articles, clients, args.seconds,
                                       args.write_every or None, offset))
                offset += 1000
                runs.append(run)
            for run in runs:
                for error in (run.errors + run.write_errors)[:3]:
                    print(f"  error ({run.clients} clients): {error}", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"FacQA passages indexed; questions from FacQA; writer: one default-corpus article every "
          f"{args.write_every}s; {os.cpu_count()} CPU cores\n")
    print(table(runs))


if __name__ == "__main__":
    main()
