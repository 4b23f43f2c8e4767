"""Where a question's time goes, stage by stage (benchmarks/scaling.py prints it)."""

from __future__ import annotations

import time


class Stages:
    """Adds the seconds since the previous stage ended to `timings[stage]` (when timing).

    A question's stages: snapshot (the latest index, filters), lexical (BM25, while the model
    embeds the question), embed (waiting for the question's vector after BM25 is done), dense
    (vector search, both scores for every candidate), passages (read from the store), rank
    (fusion, answers, duplicates), read (the trained reader on the best passages, and the short
    answer from its spans) and answer (the page of results: grouped by article, ordered,
    highlighted)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings, self.last = timings, time.perf_counter()

    def done(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now
