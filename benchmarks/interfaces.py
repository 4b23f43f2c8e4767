"""What each way in costs on top of the engine: the same questions asked in process (the
baseline), over HTTP to a real `qa serve`, through the web page's own request (GET /ask?k=10
plus its assets once), over MCP (`search_news` in a real `qa mcp` stdio session), and with
`qa ask` (one process per question, and all questions piped into one process).

Every interface answers from the same index (the default corpus, or FacQA with --facqa) and
must return the same top passage as the engine; a mismatch is reported as an error.

    python benchmarks/interfaces.py [--questions benchmarks/questions.jsonl] [--facqa DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import free_port, percentile  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from qa import Engine  # noqa: E402
from qa.evaluation import facqa, load_questions  # noqa: E402


def timed(function, questions: list[str], repeat: int) -> tuple[list[float], list[str]]:
    """Milliseconds per call, and the top passage id of each question (from the first round)."""
    latencies, tops = [], []
    for round_number in range(repeat):
        for question in questions:
            started = time.perf_counter()
            top = function(question)
            latencies.append((time.perf_counter() - started) * 1000)
            if round_number == 0:
                tops.append(top)
    return latencies, tops


def start_server(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--port", str(port), "--index-dir", str(index_dir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("qa serve did not start")


def mcp_latencies(index_dir: Path, questions: list[str], repeat: int) -> tuple[list[float], list[str]]:
    server = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp", "--index-dir", str(index_dir)],
                                   cwd=str(ROOT))

    async def run():
        latencies, tops = [], []
        async with Client(server) as client:
            await client.call_tool("search_news", {"question": "pemanasan"})  # warm, like the other interfaces
            for round_number in range(repeat):
                for question in questions:
                    started = time.perf_counter()
                    result = await client.call_tool("search_news", {"question": question})
                    latencies.append((time.perf_counter() - started) * 1000)
                    if round_number == 0:
                        passages = result.structured_content["passages"]
                        tops.append(passages[0]["article_id"] if passages else None)
        return latencies, tops

    return asyncio.run(run())


def cli_latencies(index_dir: Path, questions: list[str]) -> tuple[list[float], list[str], float]:
    """One `qa ask` process per question (as a shell script would), then one process for all."""
    latencies, tops = [], []
    for question in questions:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "qa", "ask", question, "--json", "--index-dir", str(index_dir)],
                              capture_output=True, text=True, cwd=ROOT, check=True)
        latencies.append((time.perf_counter() - started) * 1000)
        results = json.loads(done.stdout)["results"]
        tops.append(results[0]["doc_id"] if results else None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "ask", "--format", "jsonl", "--index-dir", str(index_dir)],
                   input="\n".join(questions), capture_output=True, text=True, cwd=ROOT, check=True)
    piped_ms = (time.perf_counter() - started) * 1000 / len(questions)
    return latencies, tops, piped_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks" / "questions.jsonl")
    parser.add_argument("--facqa", type=Path, help="ask FacQA valid questions over its passages instead")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli-questions", type=int, default=10, help="questions asked one `qa ask` process each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qa-interfaces-") as tmp:
        index_dir = Path(tmp) / "index"
        engine = Engine(index_dir=index_dir)
        if args.facqa:
            items = facqa(args.facqa, "valid", Path(tmp) / "facqa.jsonl")
            engine.build_index([Path(tmp) / "facqa.jsonl"])
        else:
            items = load_questions(args.questions)
            engine.build_index([ROOT / "corpus"])
        questions = [item.question for item in items]
        engine.ask("pemanasan")

        def top_of(answer_results) -> str | None:
            return answer_results[0].doc_id if answer_results else None

        rows = {}
        rows["engine (in process)"] = timed(lambda q: top_of(engine.ask(q).results), questions, args.repeat)
        expected = rows["engine (in process)"][1]

        process, base = start_server(index_dir)
        try:
            with httpx.Client(base_url=base, timeout=60) as http:
                http.get("/ask", params={"question": "pemanasan"})

                def over_http(question: str, k: int = 5) -> str | None:
                    results = http.get("/ask", params={"question": question, "top_k": k}).json()["results"]
                    return results[0]["doc_id"] if results else None

                rows["HTTP GET /ask"] = timed(over_http, questions, args.repeat)
                rows["web page's request (k=10)"] = timed(lambda q: over_http(q, 10), questions, args.repeat)
                started = time.perf_counter()
                for path in ("/", "/static/style.css", "/static/common.js", "/static/search.js", "/facets"):
                    http.get(path).raise_for_status()
                page_ms = (time.perf_counter() - started) * 1000
        finally:
            process.terminate()
            process.wait(timeout=30)
        rows["MCP search_news"] = mcp_latencies(index_dir, questions, args.repeat)
        cli, cli_tops, piped_ms = cli_latencies(index_dir, questions[: args.cli_questions])
        rows["qa ask (a process each)"] = (cli, cli_tops)

    baseline = statistics.median(rows["engine (in process)"][0])
    print(f"{len(questions)} questions x {args.repeat} rounds ({'FacQA valid' if args.facqa else args.questions.name}); "
          f"the page and its assets load in {page_ms:.0f} ms")
    print("| interface | p50 ms | p95 ms | p50 / engine p50 | top passage as engine |")
    print("|---|---|---|---|---|")
    for name, (latencies, tops) in rows.items():
        same = sum(a == b for a, b in zip(tops, expected))
        print(f"| {name} | {statistics.median(latencies):.1f} | {percentile(latencies, 95):.1f} | "
              f"{statistics.median(latencies) / baseline:.2f} | {same}/{len(tops)} |")
    print(f"| qa ask (questions piped into one process), per question | {piped_ms:.1f} | - | "
          f"{piped_ms / baseline:.2f} | - |")


if __name__ == "__main__":
    main()
