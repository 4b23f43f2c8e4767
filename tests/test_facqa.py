"""Reading FacQA's CSV files into questions, passages and answer offsets."""

import pytest

from conftest import FACQA
from qa.errors import InvalidInputError
from qa.facqa import detokenize, facqa_rows



@pytest.mark.skipif(not FACQA.is_dir(), reason="../shared/data/facqa not present")
def test_facqa_rows_locate_their_answers():
    rows = facqa_rows(FACQA, "train")
    assert len(rows) == 2495 and all(r.answer and r.passage[r.answer_start:].startswith(r.answer) for r in rows)
    assert len(facqa_rows(FACQA, "valid")) == 311


def test_tokens_are_joined_with_punctuation_attached():
    text, starts = detokenize(["Harga", "naik", "(", "5", "%", ")", ",", "kata", "dia", "."])
    assert text == "Harga naik (5%), kata dia."
    assert [text[s] for s in starts] == ["H", "n", "(", "5", "%", ")", ",", "k", "d", "."]


def test_a_missing_split_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        facqa_rows(tmp_path, "train")
