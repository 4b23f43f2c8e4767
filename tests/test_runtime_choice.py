import json
from dataclasses import replace

import numpy as np
import pytest

from qa import Settings
from qa.embedding import load_embedder
from qa.embedding.openvino_backend import QUESTION_LENGTHS
from qa.runtime_choice import (
    CANDIDATES, Chooser, CpuIdentity, Measurement, Plan, RuntimeChoice, native_candidates, pick, sample,
    thread_options,
)

AVX2_LAPTOP = CpuIdentity("Laptop CPU", ("avx", "avx2", "fma"), ("EXPORT_IMPORT", "FP32", "INT8"), 4, "2026.0")
AVX512_BF16 = CpuIdentity("AMD EPYC 9004", ("avx2", "avx512f", "avx512_bf16", "avx512_vnni"),
                          ("BF16", "FP32", "INT8"), 2, "2026.0")
AMX = CpuIdentity("Intel Xeon 8480+", ("avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_int8"),
                  ("BF16", "FP16", "FP32", "INT8"), 2, "2026.0")


def test_candidates_are_the_formats_the_cpu_computes_natively():
    names = {cpu.model: [c.precision for c in native_candidates(cpu)] for cpu in (AVX2_LAPTOP, AVX512_BF16, AMX)}
    assert names == {
        "Laptop CPU": ["fp32", "int8-weights"],  # no bf16 units
        "AMD EPYC 9004": ["fp32", "bf16", "int8-weights"],
        "Intel Xeon 8480+": ["fp32", "bf16", "fp16", "int8-weights"],
    }  # full int8 only when forced: below the faithfulness floors


def measured(precision, passages_per_s, cosine_min=0.9999, work="passages", cosine_mean=None):
    mean = cosine_mean if cosine_mean is not None else min(1.0, cosine_min + 0.0001)
    return Measurement(Plan(precision, 2, 2), work, passages_per_s, mean, cosine_min)


def test_on_an_amx_cpu_bf16_is_picked_when_it_measures_fastest():
    """The AMX machine's own README figures (long passages/s): bf16 2.7x fp32, 8-bit weights
    about fp32's speed."""
    chosen = pick([measured("fp32", 6.5), measured("bf16", 17.6), measured("fp16", 9.0), measured("int8-weights", 7.0)])
    assert chosen.plan.precision == "bf16"


def test_an_unfaithful_candidate_is_never_picked_however_fast():
    chosen = pick([measured("fp32", 6.5), measured("bf16", 9.0), measured("int8", 30.0, cosine_min=0.97)])
    assert chosen.plan.precision == "bf16"
    # static int8's measured cosines: the issue's floors (0.99 mean, 0.98 min) pass them, ours do not
    static_int8 = measured("int8", 30.0, cosine_min=0.9875, cosine_mean=0.9973)
    assert not static_int8.faithful and pick([measured("fp32", 6.5), static_int8]).plan.precision == "fp32"


def test_a_lower_precision_must_win_clearly_to_replace_fp32():
    assert pick([measured("fp32", 10.0), measured("int8-weights", 10.3)]).plan.precision == "fp32"
    assert pick([measured("fp32", 10.0), measured("int8-weights", 11.0)]).plan.precision == "int8-weights"
    questions = [measured("fp32", 20.0, work="questions"), measured("bf16", 15.0, work="questions")]
    assert pick(questions).plan.precision == "bf16"  # milliseconds: less is faster


class ScriptedCore:
    """Compiles nothing: a compiled model is its options, which the scripted trial times."""

    def compile_model(self, model, device, config):
        return Compiled({**config, "NUM_STREAMS": config.get("NUM_STREAMS", 2)})


class Compiled(dict):
    def get_property(self, name):
        return self[name]


class ScriptedTrial:
    """Seconds per passage batch and per question from a table of (format, streams or threads),
    with outputs fp32 gives exactly: what a CPU whose best plan differs by format looks like."""

    works = ("passages", "questions")
    vectors = np.eye(4, dtype=np.float32)

    def __init__(self, passages_per_s: dict, question_ms: dict):
        self._passages, self._questions = passages_per_s, question_ms

    def passages(self, compiled, streams):
        rate = self._passages[compiled["INFERENCE_PRECISION_HINT"], streams]
        return len(self.vectors) / rate, self.vectors

    def questions(self, compiled):
        ms = self._questions[compiled["INFERENCE_PRECISION_HINT"], compiled["INFERENCE_NUM_THREADS"]]
        return ms / 1000, self.vectors

    def question_model(self, model):
        return model


def test_the_winning_format_gets_its_own_streams_and_threads(tmp_path):
    """As measured on a 2-core AVX-512 BF16 EPYC: fp32 ran best on one stream, bf16 on two
    (long passages); a plan that ties stays as fp32 chose it."""
    trial = ScriptedTrial(passages_per_s={("f32", 2): 18.0, ("f32", 1): 29.0, ("bf16", 1): 48.0, ("bf16", 2): 60.0},
                          question_ms={("f32", 2): 7.0, ("f32", 1): 10.0, ("bf16", 2): 4.0, ("bf16", 1): 3.9})
    chooser = Chooser(ScriptedCore(), tmp_path, lambda candidate: candidate, trial, cpu=AVX512_BF16)
    choice = chooser.measure([CANDIDATES["fp32"], CANDIDATES["bf16"]])
    assert choice.passages == Plan("bf16", 2, 2)  # fp32 chose one stream; bf16 is faster on two
    assert choice.questions == Plan("bf16", 1, 2)  # one thread is within MIN_GAIN of two: kept
    timed = {(m.work, m.plan.precision, m.plan.streams, m.plan.threads) for m in choice.measurements}
    assert {("passages", "bf16", 2, 2), ("questions", "bf16", 1, 1)} <= timed
    assert "bf16 (60.0 passages/s, 2.07x fp32" in choice.reason


def test_thread_options_for_a_lone_question():
    assert thread_options(2) == [2, 1] and thread_options(16) == [16, 8, 1] and thread_options(1) == [1]


def test_the_cpu_identity_is_read_and_keyed():
    import openvino as ov

    cpu = CpuIdentity.current(ov.Core())
    assert cpu.model and "FP32" in cpu.capabilities and cpu.cores >= 1
    assert cpu.key == CpuIdentity.current(ov.Core()).key != replace(cpu, cores=cpu.cores + 1).key


def test_every_sample_question_fits_the_short_question_shape(engine):
    tokenizer = engine.embedder._tokenizer
    questions = sample()["questions"]
    assert len(questions) >= 12 and len(sample()["passages"]) >= 12
    assert all(len(tokenizer.encode(engine.embedder.query_prefix + q).ids) <= QUESTION_LENGTHS[0] for q in questions)


def test_the_choice_is_recorded_with_the_cpu_and_reused(engine, settings, monkeypatch):
    choice = engine.embedder.choice
    record = engine.embedder.chooser.record
    assert record.is_file() and record.stem == choice.cpu.key
    saved = json.loads(record.read_text())
    assert saved["cpu"]["model"] == choice.cpu.model and saved["cpu"]["flags"] == list(choice.cpu.flags)
    assert choice.reason.startswith("measured on this CPU")
    assert {m.plan.precision for m in choice.measurements} >= {"fp32", "int8-weights"}
    assert choice.passages.precision in CANDIDATES and choice.seconds > 0

    def no_measuring(*args, **kwargs):
        raise AssertionError("a recorded choice was measured again")

    monkeypatch.setattr(Chooser, "measure", no_measuring)
    again = load_embedder(settings)
    assert again.choice.to_dict() == choice.to_dict()
    assert RuntimeChoice.from_dict(saved).to_dict() == choice.to_dict()


def test_another_cpu_identity_chooses_again(engine):
    embedder = engine.embedder
    other_cpu = replace(embedder.chooser.cpu, model="Another CPU")
    chooser = Chooser(embedder._core, embedder._directory, embedder.candidate_model, embedder.chooser.trial, cpu=other_cpu)
    assert not chooser.record.exists()
    choice = chooser.choice()
    assert chooser.record.is_file() and chooser.record != embedder.chooser.record
    assert choice.cpu.model == "Another CPU" and choice.measurements
    assert embedder.chooser.record.is_file()  # the first CPU's choice is kept
    chooser.record.unlink()


def test_a_forced_precision_wins_and_stays_faithful(engine, settings):
    forced = load_embedder(Settings(**{**settings.model_dump(), "embedding_precision": "int8-weights"}))
    assert forced.choice.passages.precision == forced.choice.questions.precision == "int8-weights"
    assert forced.choice.reason.startswith("forced by the setting embedding_precision=int8-weights")
    assert forced.describe()["passages"]["precision"] == "int8-weights"
    texts = sample()["passages"][:4]
    assert np.all(np.sum(forced.embed_passages(texts) * engine.embedder.embed_passages(texts), axis=1) > 0.99)
    question = "berapa tenaga kerja IKM 2024?"
    assert forced.embed_query(question) @ engine.embedder.embed_query(question) > 0.99


def tiny_wrong_model(inputs):
    """A model much faster than the real one, with the same inputs, whose vectors mean nothing."""
    import openvino as ov
    import openvino.opset13 as ops

    parameters = [ops.parameter([-1, -1], ov.Type.i64, name=name) for name in inputs]
    table = ops.constant(np.random.default_rng(0).normal(size=(1000, 384)).astype(np.float32))
    ids = ops.floor_mod(parameters[0], ops.constant(np.int64(1000)))
    pooled = ops.reduce_mean(ops.gather(table, ids, ops.constant(np.int64(0))), ops.constant(np.int64(1)))
    model = ov.Model([pooled], parameters)
    for name, port in zip(inputs, model.inputs):
        port.get_tensor().set_names({name})
    return model


def test_an_unfaithful_candidate_is_measured_faster_and_still_not_chosen(engine):
    embedder = engine.embedder
    wrong = CANDIDATES["int8"]  # stands in for a broken quantization: fast, and wrong

    def models(candidate):
        return tiny_wrong_model(embedder._inputs) if candidate == wrong else embedder.candidate_model(candidate)

    chooser = Chooser(embedder._core, embedder._directory, models, embedder.chooser.trial)
    choice = chooser.measure([CANDIDATES["fp32"], wrong])
    by_plan = {}  # the first measurement of each: both candidates under the same default plans
    for m in choice.measurements:
        by_plan.setdefault((m.work, m.plan.precision), m)
    assert by_plan["passages", "int8"].speed > by_plan["passages", "fp32"].speed  # it is faster
    assert not by_plan["passages", "int8"].faithful and not by_plan["questions", "int8"].faithful
    assert choice.passages.precision == choice.questions.precision == "fp32"
    assert "unfaithful, not chosen: int8" in choice.reason


def test_torch_takes_only_fp32_or_bf16():
    from qa.config import load_settings
    from qa.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="embedding_precision int8 needs embedding_backend openvino"):
        load_settings(embedding_backend="torch", embedding_precision="int8")
