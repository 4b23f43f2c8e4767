"""Question → candidates: the passages the backend finds by embedding and by BM25, under the
question's filters, each with both scores: what `qa.ranking.rank` orders."""

from __future__ import annotations

from qa.backends import Backend, Filters
from qa.embedding import Embedder
from qa.query import Query, QueryPlan
from qa.ranking import Candidate, Weights
from qa.timing import Stages


class Retriever:
    """Finds candidates for questions in one backend with one model."""

    def __init__(self, backend: Backend, embedder: Embedder, depth: int):
        """`depth`: passages taken from each of dense and BM25 retrieval (at least top_k)."""
        self.backend, self.embedder, self.depth = backend, embedder, depth

    def candidates(self, query: Query, plan: QueryPlan, weights: Weights, stages: Stages | None = None) -> list[Candidate]:
        """The best passages by embedding and by BM25 (each skipped when its weight is 0)."""
        stages = stages or Stages(None)
        # the model embeds the question while the backend runs BM25
        pending = self.embedder.embed_query_later(query.question) if weights.dense else None
        hits = self.backend.search(
            stems=plan.lexical_stems if weights.lexical else None,
            vector=pending.result if pending else None,
            depth=max(self.depth, query.top_k),
            filters=Filters(query.date_from, query.date_to, tuple(query.sources)),
            stages=stages.done,
        )
        return [Candidate(key=hit.key, dense=hit.dense, lexical=hit.lexical, passage=hit.passage) for hit in hits]
