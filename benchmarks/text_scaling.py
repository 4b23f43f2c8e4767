"""Time against input size for reading (with cleaning), chunking and indexing one article,
and the scaling exponent of each: the slope of log(time) over log(size), 1.0 being linear.

The article is made of distinct paragraphs (words drawn from two FacQA passages each, so that
no two are near repeats and none is dropped), with a tenth of them printed twice, as scraped
pages do. Indexing embeds every passage, so it is measured up to --index-up-to bytes only.

    python benchmarks/text_scaling.py [--sizes 10e3,100e3,1e6,10e6] [--index-up-to 100e3]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Engine, Settings  # noqa: E402
from qa.chunking import split_article  # noqa: E402
from qa.evaluation import facqa  # noqa: E402
from qa.reading import read_paths  # noqa: E402


def article_text(size: int, passages: list[str], rng: random.Random) -> str:
    paragraphs, total = [], 0
    while total < size:
        words = rng.choice(passages).split() + rng.choice(passages).split()
        paragraph = " ".join(rng.sample(words, min(45, len(words)))) + "."
        paragraphs.append(paragraph)
        if rng.random() < 0.1:
            paragraphs.append(paragraph)  # printed twice
        total += len(paragraph) + 2
    return "Judul berita untuk pengukuran\n\n" + "\n\n".join(paragraphs)


def exponent(sizes: list[int], seconds: list[float]) -> str:
    if len(sizes) < 2:
        return "-"
    return f"{np.polyfit(np.log(sizes), np.log(np.maximum(seconds, 1e-6)), 1)[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10e3,100e3,1e6,10e6", help="article sizes in bytes")
    parser.add_argument("--index-up-to", type=float, default=100e3, help="largest size also indexed")
    parser.add_argument("--facqa", type=Path, default=ROOT.parent / "shared" / "data" / "facqa")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "facqa.jsonl"
        facqa(args.facqa, "valid", corpus)
        import json

        passages = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
        engine = Engine(Settings(index_dir=Path(tmp) / "index", corpus_dir=Path(tmp) / "none"))
        rows, timed = [], {"read": [], "chunk": [], "index": []}
        for size in sizes:
            path = Path(tmp) / f"article-{size}.txt"
            path.write_text(article_text(size, passages, rng), encoding="utf-8")
            started = time.perf_counter()
            article = read_paths([path]).articles[0]
            read_s = time.perf_counter() - started
            started = time.perf_counter()
            count = len(split_article(article))
            chunk_s = time.perf_counter() - started
            index_s = math.nan
            if size <= args.index_up_to:
                engine.embedder  # loaded before timing
                started = time.perf_counter()
                engine.build_index([path])
                index_s = time.perf_counter() - started
                timed["index"].append((size, index_s))
            timed["read"].append((size, read_s))
            timed["chunk"].append((size, chunk_s))
            rows.append(f"| {size / 1000:,.0f} KB | {count} | {read_s:.3f} | {chunk_s:.3f} | "
                        f"{'-' if math.isnan(index_s) else f'{index_s:.1f}'} |")
            print(rows[-1], flush=True)
    print("\n| size | passages | read + clean s | chunk s | index s |\n|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("| exponent | | " + " | ".join(exponent(*zip(*timed[k])) if timed[k] else "-" for k in timed) + " |")


if __name__ == "__main__":
    main()
