"""FacQA (IndoNLU, Apache-2.0): Indonesian factoid questions on news passages, with the answer
marked by BIO tags on the passage's tokens. Read into questions with their passage and answer
offsets (for training the reader) and into question sets over a corpus (for `qa eval`)."""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

from qa.errors import InvalidInputError

def detokenize(tokens: list[str]) -> tuple[str, list[int]]:
    """Text from FacQA's tokens (punctuation re-attached), and where each token starts in it."""
    text, starts = "", []
    for token in tokens:
        if text and token[:1] not in ".,;:!?)%" and not text.endswith("("):
            text += " "
        starts.append(len(text))
        text += token
    return text, starts


@dataclass
class FacQARow:
    """One FacQA question with its passage and the answer's place in it."""

    question: str
    passage: str
    answer: str  # "" when the row marks none
    answer_start: int  # character offset of the answer in `passage`; -1 when none


SPLITS = ("train", "valid", "test")  # test: IndoNLU's test_preprocess.csv, saved as test.csv beside the others


def facqa_rows(directory: Path, split: str) -> list[FacQARow]:
    """The rows of FacQA's `split` file (one of SPLITS) in `directory`."""
    path = Path(directory) / f"{split}.csv"
    if not path.is_file():
        raise InvalidInputError(f"FacQA file {path} not found")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            tokens = ast.literal_eval(row["passage"])
            passage, starts = detokenize(tokens)
            inside = [i for i, label in enumerate(ast.literal_eval(row["seq_label"])) if label != "O"]
            first, last = (inside[0], inside[-1]) if inside else (0, -1)
            answer = passage[starts[first] : starts[last] + len(tokens[last])] if inside else ""
            rows.append(FacQARow(detokenize(ast.literal_eval(row["question"]))[0], passage, answer,
                                 starts[first] if inside else -1))
    return rows
