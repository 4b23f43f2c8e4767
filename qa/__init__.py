"""Question answering over Indonesian news: ask in Indonesian or English, get ranked passages
with their source, date and the words that answer.

    from qa import Engine
    engine = Engine()
    answer = engine.ask("berapa tenaga kerja IKM 2024?")
"""

from qa.config import Settings
from qa.engine import Engine, IndexReport
from qa.errors import (
    CorruptIndexError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
    ModelError,
    NoArticlesError,
    QAError,
)
from qa.types import Answer, Article, Passage, Result

__all__ = [
    "Answer", "Article", "CorruptIndexError", "Engine", "IndexMismatchError", "IndexNotFoundError",
    "IndexReport", "InvalidInputError", "ModelError", "NoArticlesError", "Passage", "QAError",
    "Result", "Settings",
]
