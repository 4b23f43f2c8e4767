"""Load test: a real `qa serve` (uvicorn), once with each worker count, asked FacQA questions on
loopback for a fixed time, while a writer adds articles through POST /articles.

First the engine's ceiling: the questions per second of the engine in a process of its own
pinned to one core, asking one question after another, times the cores; the same questions,
in the same run. Then closed-loop runs (N clients, each asking again as soon as it is answered,
or after the Retry-After of a 503) and open-loop runs (questions arriving at random, Poisson, at a share of the ceiling, however
slowly they are answered). Each run reports throughput as a share of the ceiling, latency
p50/p95/p99 and p99/p50 as the clients see it, the p99 the server's access log gives for the
same answers (from a request's arrival to its answer: without the load generator's own delays
on the same cores), errors (any answer but 200 and 503, or a failed request), 503s (the
server shedding load, with Retry-After), the writes done, their p50 and their lag (from the
write's answer until /health shows an index generation past the one before it: searchable),
and /health's p99 during the run, as a monitor in a process of its own sees it (as a load
balancer's health check would) and as the load generator's own event loop sees it (which adds
that loop's wait behind the clients' answers); then the resident memory of the server's
processes. Beside each open loop's p99, the ideal one: that of a queue with one perfect
server per core (no HTTP, no load generator, writer or monitor on the cores, no work lost
between workers), each question served in the time the ceiling's engine took for it, the same
arrivals: no server answering in order of arrival can do better on these cores, so it says
how much of the tail is the server's and how much is the load itself.
Targets (issue 17), on 2 cores with FacQA indexed: 16 clients, 0 errors, >= 0.7 x ceiling,
p99 <= 3 x p50; open loop at 80%: p99 <= 250 ms; 64 clients and open loop at 150%: only 503s,
p99 of the served ones <= 1 s, /health p99 <= 50 ms.

    python benchmarks/load.py [--facqa ../shared/data/facqa] [--clients 1,16,64] [--rates 0.5,0.8,1.5]
                              [--seconds 20] [--write-every 1.0] [--workers 1,2] [--index-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embedding import cpu_line  # noqa: E402

from qa import Engine  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.reading import read_paths  # noqa: E402

KEY = "load-test-key"
RUN = time.strftime("%Y%m%d%H%M%S")


@dataclass
class Run:
    load: str  # "16 clients", "open 80%"
    writer: bool
    workers: int = 1
    seconds: float = 0.0
    rate: float = 0.0  # questions a second arriving (open loop), 0 for a closed loop
    latencies: list[float] = field(default_factory=list)  # of the questions answered (200)
    server_ms: list[float] = field(default_factory=list)  # the same, as the server's access log times them
    errors: list[str] = field(default_factory=list)
    shed: int = 0  # 503s with Retry-After
    writes: int = 0
    write_errors: list[str] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    write_lag_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)  # /health asked from the load generator's event loop
    monitor_health_ms: list[float] = field(default_factory=list)  # ... from a process of its own


# An access log line of a question answered: '… "GET /ask?question=…" 200 35.2 ms id=…'
ANSWERED = re.compile(r'"GET /ask[^"]*" 200 ([\d.]+) ms')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    """`qa serve --workers N` on `port`, its log (one access line per request) into the file `log`."""
    env = {**os.environ, "QA_API_KEY": KEY, "QA_CORPUS_DIR": "/nonexistent"}
    with open(log, "wb") as written:
        server = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir), "--port", str(port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=written, start_new_session=True,
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("server did not start within 300 s")


async def ask(http: httpx.AsyncClient, question: str, run: Run) -> float:
    """Ask once; returns the seconds the server asked to wait before retrying (0 if none)."""
    started = time.perf_counter()
    try:
        response = await http.get("/ask", params={"question": question, "top_k": 5})
    except httpx.HTTPError as exc:
        run.errors.append(repr(exc))
        return 0.0
    if response.status_code == 200:
        run.latencies.append((time.perf_counter() - started) * 1000)
    elif response.status_code == 503 and "retry-after" in response.headers:
        run.shed += 1
        return float(response.headers["retry-after"])
    else:
        run.errors.append(f"{response.status_code} {response.text[:100]}")
    return 0.0


async def client(http: httpx.AsyncClient, questions: list[str], stop: float, run: Run, rng: random.Random):
    """A closed-loop client: asks again as soon as it is answered, or after the Retry-After a
    busy server gave it (as well-behaved clients do)."""
    while time.monotonic() < stop:
        await asyncio.sleep(await ask(http, rng.choice(questions), run))


async def arrivals(http: httpx.AsyncClient, questions: list[str], rate: float, stop: float, run: Run,
                   rng: random.Random):
    """Questions arriving at random (Poisson, `rate` a second), each answered on its own."""
    asked = []
    while (now := time.monotonic()) < stop:
        asked.append(asyncio.create_task(ask(http, rng.choice(questions), run)))
        await asyncio.sleep(max(0.0, rng.expovariate(rate) - (time.monotonic() - now)))
    await asyncio.gather(*asked)


# A health check from a process of its own, every 0.2 s for argv[2] seconds; prints the latencies.
MONITOR = (
    "import json, sys, time, httpx\n"
    "ms, stop = [], time.monotonic() + float(sys.argv[2])\n"
    "with httpx.Client(base_url=sys.argv[1], timeout=10) as http:\n"
    "    while time.monotonic() < stop:\n"
    "        started = time.perf_counter()\n"
    "        if http.get('/health').status_code == 200:\n"
    "            ms.append((time.perf_counter() - started) * 1000)\n"
    "        time.sleep(0.2)\n"
    "print(json.dumps(ms))\n"
)


async def health(http: httpx.AsyncClient, stop: float, run: Run):
    while time.monotonic() < stop:
        started = time.perf_counter()
        response = await http.get("/health")
        if response.status_code == 200:
            run.health_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.2)


async def writer(http: httpx.AsyncClient, articles: list[dict], every: float, stop: float, run: Run, offset: int):
    n = 0
    while time.monotonic() + every < stop:
        await asyncio.sleep(every)
        article = articles[(offset + n) % len(articles)]
        tag = f"{RUN}-{offset + n}"  # new in every run, so each write adds an article
        record = {**article, "id": f"load-{tag}", "text": article["text"] + f"\n\nPembaruan {tag}."}
        try:
            before = (await http.get("/health")).json()["generation"]
            started = time.perf_counter()
            response = await http.post("/articles", json=record, headers={"X-API-Key": KEY})
            if response.status_code != 201 or not response.json()["added"]:
                run.write_errors.append(f"{response.status_code} {response.text[:100]}")
            else:
                run.writes += 1
                answered = time.perf_counter()
                run.write_ms.append((answered - started) * 1000)
                # searchable once the server's index is past the generation before the write
                while (await http.get("/health")).json()["generation"] <= before:
                    if time.perf_counter() - answered > 10:
                        run.write_errors.append(f"{record['id']} not searchable 10 s after its write")
                        break
                    await asyncio.sleep(0.02)
                run.write_lag_ms.append((time.perf_counter() - answered) * 1000)
        except httpx.HTTPError as exc:
            run.write_errors.append(repr(exc))
        n += 1


async def load(base: str, questions: list[str], articles: list[dict], name: str, seconds: float,
               write_every: float | None, offset: int, clients: int = 0, rate: float = 0.0) -> Run:
    """`clients` asking in a closed loop, or questions arriving at `rate` a second."""
    run = Run(load=name, writer=write_every is not None, rate=rate)
    connections = clients + 4 if clients else 1000
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        await http.get("/ask", params={"question": questions[0]})  # warm the connection and the model
        monitor = subprocess.Popen([sys.executable, "-c", MONITOR, base, str(seconds)], stdout=subprocess.PIPE, text=True)
        stop = time.monotonic() + seconds
        started = time.perf_counter()
        tasks = [client(http, questions, stop, run, random.Random(i)) for i in range(clients)]
        if rate:
            tasks.append(arrivals(http, questions, rate, stop, run, random.Random(rate)))
        tasks.append(health(http, stop, run))
        if write_every:
            tasks.append(writer(http, articles, write_every, stop, run, offset))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
        run.monitor_health_ms = json.loads(monitor.communicate(timeout=60)[0])
    return run


def engines_on_cores(index_dir: Path, questions: list[str], seconds: float, cores: list[int]) -> list[list[float]]:
    """The seconds each question took the engine in one process per core of `cores`, each
    pinned to its core and asking one question after another, all starting together once all
    are loaded."""
    code = (
        "import os, sys, time, json\n"
        "os.sched_setaffinity(0, {int(sys.argv[1])})\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from qa import Engine\n"
        f"engine = Engine(index_dir={str(index_dir)!r}, corpus_dir='/nonexistent')\n"
        "questions = json.loads(sys.stdin.readline())\n"
        "for q in questions[:5]: engine.ask(q, 5)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "started, took = time.perf_counter(), []\n"
        f"while time.perf_counter() - started < {seconds}:\n"
        "    asked = time.perf_counter()\n"
        "    engine.ask(questions[len(took) % len(questions)], 5)\n"
        "    took.append(time.perf_counter() - asked)\n"
        "print(json.dumps(took))\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", code, str(core)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for core in cores]
    for process in processes:
        process.stdin.write(json.dumps(questions) + "\n")
        process.stdin.flush()
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit(f"the engine's ceiling could not be measured:\n{process.stderr.read()[-2000:]}")
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    times = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise SystemExit(f"the engine's ceiling could not be measured:\n{err[-2000:]}")
        times.append(json.loads(out.strip().splitlines()[-1]))
    return times


def per_second(took: list[float]) -> float:
    return len(took) / sum(took)


def ceiling(index_dir: Path, questions: list[str], seconds: float) -> tuple[float, list[float]]:
    """Questions a second of the engine in a process pinned to one core, times the cores; and
    the seconds each question took it."""
    cores = sorted(os.sched_getaffinity(0))
    took = engines_on_cores(index_dir, questions, seconds, cores[:1])[0]
    return per_second(took) * len(cores), took


def side_by_side(index_dir: Path, questions: list[str], seconds: float) -> float:
    """Questions a second of one engine per core, all at once: what the cores give together,
    which is less than the ceiling where they share caches, memory and clock."""
    return sum(map(per_second, engines_on_cores(index_dir, questions, seconds, sorted(os.sched_getaffinity(0)))))


def ideal_p99(took: list[float], rate: float, servers: int, arrivals: int = 200_000) -> float:
    """p99 ms of a first-come-first-served queue with `servers` servers, questions arriving at
    random (Poisson) at `rate` a second, each served in a time drawn from `took` (seconds): the
    least a server answering in order of arrival can give on that many cores; nan when `rate` is
    past what they serve."""
    if rate >= servers * per_second(took):
        return float("nan")
    rng = random.Random(0)
    free, now, answered = [0.0] * servers, 0.0, []  # free: when each server is next free
    for _ in range(arrivals):
        now += rng.expovariate(rate)
        done = max(heapq.heappop(free), now) + rng.choice(took)
        heapq.heappush(free, done)
        answered.append(done - now)
    return percentile(answered[arrivals // 10 :], 99) * 1000  # past the first tenth: a queue started empty


def memory(root: int) -> dict[str, list[tuple[float, float]]]:
    """Resident MB of a server's processes, by role: the one `qa serve` started as, its workers
    (children that answer), and the embedding processes of writes (children at a lower priority).
    Each as (RSS, PSS): PSS counts pages shared between processes (model files mapped from the
    cache, libraries) once in all, split among them, so the PSS of all processes adds up."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    roles: dict[str, list[float]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            command = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            continue
        rss, pss = (int(next(line.split()[1] for line in rollup if line.startswith(f"{name}:"))) / 1024
                    for name in ("Rss", "Pss"))
        if pid == root:
            role = "qa serve"
        elif "resource_tracker" in command:
            role = "multiprocessing's resource tracker"
        elif os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, root):
            role = "embedding process (writes)"
        else:
            role = "worker"
        roles.setdefault(role, []).append((rss, pss))
    return roles


def table(runs: list[Run], ceiling_qps: float, took: list[float]) -> str:
    rows = [
        "| workers | load | writer | answered | req/s | × ceiling | p50 ms | p95 ms | p99 ms | p99 / p50 | "
        "p99 ms at the server | ideal p99 ms | errors | 503s | "
        "writes ok | write errors | write p50 ms | write lag p99 ms | /health p99 ms (monitor) | "
        "/health p99 ms (load generator) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cores = len(os.sched_getaffinity(0))
    for r in runs:
        p50, p99 = percentile(r.latencies, 50), percentile(r.latencies, 99)
        ideal = ideal_p99(took, r.rate, cores) if r.rate else None
        ideal_cell = "-" if ideal is None else "∞" if math.isnan(ideal) else f"{ideal:.0f}"
        rows.append(
            f"| {r.workers} | {r.load} | {'yes' if r.writer else 'no'} | {len(r.latencies)} | {len(r.latencies) / r.seconds:.1f} "
            f"| {len(r.latencies) / r.seconds / ceiling_qps:.2f} | {p50:.0f} | {percentile(r.latencies, 95):.0f} "
            f"| {p99:.0f} | {p99 / p50:.1f} | {percentile(r.server_ms, 99):.0f} | {ideal_cell} | {len(r.errors)} | {r.shed} "
            f"| {r.writes} | {len(r.write_errors)} "
            f"| {percentile(r.write_ms, 50):.0f} | {percentile(r.write_lag_ms, 99):.0f} "
            f"| {percentile(r.monitor_health_ms, 99):.0f} | {percentile(r.health_ms, 99):.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    parser.add_argument("--clients", default="1,16,64", help="comma-separated client counts (closed loop)")
    parser.add_argument("--rates", default="0.5,0.8,1.5", help="open-loop arrival rates, as shares of the ceiling")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--write-every", type=float, default=1.0, help="seconds between writes (0: no writer)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts of `qa serve`, one server each")
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
        print("the engine's ceiling: one core, in process ...", file=sys.stderr)
        sample = random.Random(0).sample(questions, 200)
        ceiling_qps, took = ceiling(index_dir, sample, args.seconds)
        print("the engines side by side: one per core, at once ...", file=sys.stderr)
        together_qps = side_by_side(index_dir, sample, args.seconds)
        loads = [(f"{c} clients", {"clients": c}) for c in map(int, filter(None, args.clients.split(",")))]
        loads += [(f"open {float(r):.0%}", {"rate": float(r) * ceiling_qps}) for r in filter(None, args.rates.split(","))]
        runs, memories = [], {}
        for workers in map(int, args.workers.split(",")):
            port = free_port()
            server_log = Path(tmp) / f"server-{workers}.log"
            server = start_server(index_dir, port, workers, server_log)
            try:
                for offset, (name, shape) in enumerate(loads):
                    print(f"{workers} worker(s), {name} for {args.seconds:.0f}s ...", file=sys.stderr)
                    logged = server_log.stat().st_size
                    run = asyncio.run(load(f"http://127.0.0.1:{port}", questions, articles, name, args.seconds,
                                           args.write_every or None, workers * 100_000 + offset * 1000, **shape))
                    run.workers = workers
                    with open(server_log, encoding="utf-8", errors="replace") as lines:
                        lines.seek(logged)
                        run.server_ms = [float(m.group(1)) for m in ANSWERED.finditer(lines.read())]
                    runs.append(run)
                memories[workers] = memory(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=60)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGKILL)  # anything of it still there
        for run in runs:
            for error in (run.errors + run.write_errors)[:3]:
                print(f"  error ({run.workers} worker(s), {run.load}): {error}", file=sys.stderr)
    print(f"FacQA passages indexed; questions from FacQA; writer: one default-corpus article every "
          f"{args.write_every}s; {cpu_line()[0]}")
    print(f"ceiling: {ceiling_qps:.1f} questions/s ({ceiling_qps / len(os.sched_getaffinity(0)):.1f} on one core, "
          f"in process, times {len(os.sched_getaffinity(0))} cores)")
    print(f"side by side: {together_qps:.1f} questions/s ({together_qps / ceiling_qps:.2f} × the ceiling: one engine "
          f"per core, all at once, the most the workers can reach)")
    print(f"the ceiling's engine, a question: p50 {percentile(took, 50) * 1000:.1f} ms, p99 "
          f"{percentile(took, 99) * 1000:.1f} ms (what the ideal p99 serves each question in)\n")
    print(table(runs, ceiling_qps, took))
    print("\nresident memory after the runs, MB, one value per process (PSS: shared pages split among the "
          "processes sharing them):\n")
    print("| workers | process | RSS | PSS |\n|---:|---|---|---|")
    for workers, roles in memories.items():
        for role, sizes in roles.items():
            rss, pss = zip(*sorted(sizes))
            print(f"| {workers} | {role} | {', '.join(f'{mb:.0f}' for mb in rss)} | {', '.join(f'{mb:.0f}' for mb in pss)} |")


if __name__ == "__main__":
    main()
