"""Which number format, streams and threads an OpenVINO model runs with on this CPU, chosen by
measurement the first time the model meets the CPU.

No one choice is fastest everywhere. bf16 is 2.5x fp32 on a CPU with AMX, 1.6x on one AMD EPYC
with AVX-512 BF16 and slower than fp32 on another; 8-bit weights help where memory traffic
limits; two inference streams beat one on some CPUs and lose on others. So each
candidate the CPU runs natively is timed on a fixed small sample (`data/runtime_sample.json`;
~20 s in all on a 2-core AVX2 CPU) and checked against fp32; the fastest faithful one is kept, separately for passage
batches and for lone questions, with the streams and threads that measured fastest. The choice,
its timings and the CPU's identity are recorded in the model cache and reused; a cache that
finds itself on another CPU (or another OpenVINO) chooses again.

The chooser knows nothing of embeddings: a model's owner hands it a `Trial` that runs the
sample through a compiled model, so the same mechanism serves any model the product runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import numpy as np

from qa import atomic
from qa.model_cache import cached_dir

log = logging.getLogger(__name__)

# Faithfulness floors, as cosine to the fp32 outputs on the sample: a faster candidate below
# either is never chosen, however fast. Set by retrieval, not by feel: 8-bit weights (cosine
# 0.9999) rank FacQA and the own set exactly as fp32 does, while static int8 (mean 0.997, min
# 0.98, which looser floors of 0.99/0.98 would pass) lost 0.021 hit@1 on the own set.
MIN_MEAN_COSINE, MIN_COSINE = 0.999, 0.995
# A lower precision must beat the more faithful choice by this factor to replace it: timings on
# a shared machine wander by a few percent, and a tie is no reason to give up exactness.
MIN_GAIN = 1.05
CHOICES_DIR = "runtime"  # inside the model's export directory, one file per CPU identity
VARIANTS_DIR = "variants"  # compressed copies of the export (int8), made when first timed
SAMPLE_FILE = Path(__file__).parent / "data" / "runtime_sample.json"

REFERENCE = "fp32"


@dataclass(frozen=True)
class Candidate:
    """A way to run the model: `precision` is what reports call it, `inference_precision` is
    OpenVINO's hint for the arithmetic that is not quantized, `variant` names a compressed copy
    of the model ("" is the export itself)."""

    precision: str
    inference_precision: str
    variant: str = ""


CANDIDATES = {
    "fp32": Candidate("fp32", "f32"),
    "bf16": Candidate("bf16", "bf16"),
    "fp16": Candidate("fp16", "f16"),
    "int8-weights": Candidate("int8-weights", "f32", "int8-weights"),  # 8-bit weights, fp32 arithmetic
    # Weights and activations, calibrated on the sample: only when forced, as it falls below the
    # faithfulness floors (and on CPUs without int8 dot products, VNNI or AMX, it is slower too).
    "int8": Candidate("int8", "f32", "int8"),
}


@dataclass(frozen=True)
class CpuIdentity:
    """What makes timings from one machine valid on another: the CPU's model and flags, the
    cores this process may use, and the runtime's version."""

    model: str
    flags: tuple[str, ...]
    capabilities: tuple[str, ...]  # OpenVINO's OPTIMIZATION_CAPABILITIES: the native formats
    cores: int
    openvino: str

    @classmethod
    def current(cls, core) -> CpuIdentity:
        import openvino as ov

        return cls(
            model=str(core.get_property("CPU", "FULL_DEVICE_NAME")),
            flags=tuple(sorted(_cpu_flags())),
            capabilities=tuple(sorted(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))),
            cores=usable_cores(),
            openvino=ov.__version__,
        )

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def sample() -> dict[str, list[str]]:
    """The fixed passages and questions every runtime candidate is timed and checked on."""
    return json.loads(SAMPLE_FILE.read_text(encoding="utf-8"))


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo ("flags" on x86, "Features" on Arm); empty
    where there is no such file (then OpenVINO's capabilities alone decide)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_candidates(cpu: CpuIdentity) -> list[Candidate]:
    """The candidates worth timing on `cpu`: fp32 always, 8-bit weights always (they halve
    memory traffic anywhere), bf16 and fp16 only where OpenVINO computes them natively."""
    chosen = [CANDIDATES["fp32"]]
    if "BF16" in cpu.capabilities:
        chosen.append(CANDIDATES["bf16"])
    if "FP16" in cpu.capabilities:
        chosen.append(CANDIDATES["fp16"])
    chosen.append(CANDIDATES["int8-weights"])
    return chosen


@dataclass(frozen=True)
class Plan:
    """How one kind of work runs: `streams` requests in parallel sharing `threads` threads."""

    precision: str
    streams: int
    threads: int

    def config(self) -> dict:
        """OpenVINO compile options for this plan."""
        return {
            "INFERENCE_PRECISION_HINT": CANDIDATES[self.precision].inference_precision,
            "NUM_STREAMS": self.streams,
            "INFERENCE_NUM_THREADS": self.threads,
        }


@dataclass
class Measurement:
    """One candidate (or plan) timed on the sample."""

    plan: Plan
    work: str  # "passages" or "questions"
    speed: float  # passages per second, or milliseconds per question (median)
    cosine_mean: float = 1.0
    cosine_min: float = 1.0

    @property
    def faithful(self) -> bool:
        return self.cosine_mean >= MIN_MEAN_COSINE and self.cosine_min >= MIN_COSINE

    def better_than(self, other: Measurement, gain: float = MIN_GAIN) -> bool:
        """Faster than `other` by at least `gain` (passages/s up, or question ms down)."""
        if self.work == "passages":
            return self.speed >= other.speed * gain
        return self.speed * gain <= other.speed


@dataclass
class RuntimeChoice:
    """The plans for passage batches and lone questions, why, and what was measured."""

    passages: Plan
    questions: Plan
    reason: str
    cpu: CpuIdentity
    measurements: list[Measurement] = field(default_factory=list)
    seconds: float = 0.0  # time the measuring took
    chosen_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RuntimeChoice:
        cpu = data["cpu"]
        cpu = CpuIdentity(**{**cpu, "flags": tuple(cpu["flags"]), "capabilities": tuple(cpu["capabilities"])})
        return cls(
            passages=Plan(**data["passages"]), questions=Plan(**data["questions"]), reason=data["reason"],
            cpu=cpu, seconds=data["seconds"], chosen_at=data["chosen_at"],
            measurements=[Measurement(**{**m, "plan": Plan(**m["plan"])}) for m in data["measurements"]],
        )

    def summary(self, measurements: bool = False) -> dict:
        """What /health shows (the plans, the reason, the CPU in brief) and `qa runtime` (with
        `measurements`: every timing, and how long measuring took)."""
        summary = {
            "passages": asdict(self.passages), "questions": asdict(self.questions), "reason": self.reason,
            "cpu": self.cpu.model, "cpu_key": self.cpu.key, "chosen_at": self.chosen_at,
        }
        if measurements:
            summary["measured_seconds"] = self.seconds
            summary["measurements"] = [{**asdict(m), "faithful": m.faithful} for m in self.measurements]
        return summary


class ModelVariants:
    """A model's OpenVINO export and its compressed copies: `variants(candidate)` is the model a
    candidate runs. A copy is made once, on first need, and kept beside the export
    (VARIANTS_DIR); full int8 is calibrated on the `calibration()` inputs (real text)."""

    def __init__(self, core, directory: Path, model_file: str, calibration: Callable[[], list[dict]]):
        self._core, self._directory, self._file, self._calibration = core, Path(directory), model_file, calibration
        self.model = core.read_model(self._directory / model_file)
        self._variants: dict[str, object] = {}  # read once: every compile of a variant starts here

    def __call__(self, candidate: Candidate):
        if not candidate.variant:
            return self.model
        if candidate.variant not in self._variants:
            target = self._directory / VARIANTS_DIR / candidate.variant
            cached_dir(target, self._file, lambda staging: self._compress(candidate.variant, staging))
            self._variants[candidate.variant] = self._core.read_model(target / self._file)
        return self._variants[candidate.variant]

    def _compress(self, variant: str, out: Path) -> None:
        import nncf
        import openvino as ov

        log.info("making the %s variant of %s (once)", variant, self._directory.name)
        nncf.set_log_level(logging.ERROR)
        # NNCF draws its own progress bars; the notice above is what a user needs to see
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if variant == "int8-weights":
                compressed = nncf.compress_weights(self.model.clone(), mode=nncf.CompressWeightsMode.INT8_ASYM)
            else:  # full int8: activations calibrated on real text
                calibration = self._calibration()
                compressed = nncf.quantize(self.model.clone(), nncf.Dataset(calibration),
                                           model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration))
        ov.save_model(compressed, out / self._file, compress_to_fp16=False)


class Trial(Protocol):
    """Runs the fixed sample through a compiled model, as the product will run it. `works`:
    the kinds of work the model does ("passages" batches, lone "questions"); a model that only
    answers lone requests measures "questions" alone and runs batches with the same plan."""

    works: tuple[str, ...]

    def passages(self, compiled, streams: int) -> tuple[float, np.ndarray]:
        """Seconds for the sample's passage batches (after a warm-up), and their outputs."""

    def questions(self, compiled) -> tuple[float, np.ndarray]:
        """Median seconds per lone question, and the outputs."""

    def question_model(self, model):
        """The model as lone questions run it (a fixed shape, say)."""


def default_plans(precision: str, cores: int, throughput_streams: int) -> tuple[Plan, Plan]:
    """Plans without measuring: OpenVINO's throughput streams for passages, one stream on
    every core for questions."""
    return Plan(precision, throughput_streams, cores), Plan(precision, 1, cores)


def pick(measured: Sequence[Measurement]) -> Measurement:
    """The fastest faithful measurement; one listed earlier (more faithful, or a default plan)
    is kept unless a later one beats it by MIN_GAIN."""
    best = None
    for candidate in measured:
        if candidate.faithful and (best is None or candidate.better_than(best)):
            best = candidate
    if best is None:
        raise ValueError("no faithful candidate was measured")
    return best


def thread_options(cores: int) -> list[int]:
    """Thread counts tried for a lone question: every core, half of them, one. A small model's
    matrix products on a short question can be too small to share among many threads."""
    return sorted({cores, max(1, cores // 2), 1}, reverse=True)


class Chooser:
    """Measures and records the runtime choice for one model directory.

    `models(candidate)` gives the OpenVINO model of a candidate (made on first need); `trial`
    runs the sample through it; `cpu` is this CPU unless a test says otherwise; `setting` names
    the setting that forces a precision."""

    def __init__(self, core, directory: Path, models: Callable[[Candidate], object], trial: Trial,
                 cpu: CpuIdentity | None = None, setting: str = "embedding_precision"):
        self.core, self.directory, self.models, self.trial = core, Path(directory), models, trial
        self.setting = setting  # the setting that forces a choice, for the reason
        self.cpu = cpu or CpuIdentity.current(core)

    @property
    def record(self) -> Path:
        return self.directory / CHOICES_DIR / f"{self.cpu.key}.json"

    def choice(self, precision: str = "auto", measure_again: bool = False) -> RuntimeChoice:
        """The recorded choice for this CPU, measured now if there is none (or if asked);
        a forced `precision` is taken as it is, with default plans and nothing measured."""
        if precision != "auto":
            return self._forced(precision)
        if not measure_again:
            recorded = self._read()
            if recorded:
                return recorded
        from filelock import FileLock

        try:
            self.record.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.record) + ".lock")
            lock.acquire()  # two first runs at once: one measures, the other waits for its choice
        except OSError as exc:  # a read-only model cache: measure for this process only
            log.warning("cannot record the runtime choice in %s (%s); measuring for this run only",
                        self.record.parent, exc)
            return self.measure()
        try:
            recorded = None if measure_again else self._read()
            if recorded:
                return recorded
            log.info("first use on this CPU (%s): choosing precision and threads by measurement (~20 s)",
                     self.cpu.model)
            choice = self.measure()
            try:
                atomic.write_text(self.record, json.dumps(choice.to_dict(), indent=2))
            except OSError as exc:  # a full disk: the choice still serves this run
                log.warning("cannot record the runtime choice in %s (%s)", self.record, exc)
            return choice
        finally:
            lock.release()

    def _read(self) -> RuntimeChoice | None:
        try:
            choice = RuntimeChoice.from_dict(json.loads(self.record.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: measure again
            log.warning("runtime choice %s cannot be read (%s); measuring again", self.record, exc)
            return None
        return choice if choice.cpu == self.cpu else None

    def _forced(self, precision: str) -> RuntimeChoice:
        cores = self.cpu.cores
        if "passages" in self.trial.works:
            passages, questions = default_plans(precision, cores, self._throughput_streams(precision))
        else:
            passages = questions = Plan(precision, 1, cores)
        native = precision in {c.precision for c in native_candidates(self.cpu)}
        reason = f"forced by the setting {self.setting}={precision}"
        if not native:
            reason += " (not native on this CPU: OpenVINO may run it in fp32, or slowly)"
        return RuntimeChoice(passages, questions, reason, self.cpu, chosen_at=_now())

    def _throughput_streams(self, precision: str) -> int:
        candidate = CANDIDATES[precision]
        compiled = self.core.compile_model(
            self.models(candidate), "CPU",
            {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": candidate.inference_precision},
        )
        return int(compiled.get_property("NUM_STREAMS"))

    def measure(self, candidates: Sequence[Candidate] | None = None) -> RuntimeChoice:
        """Times `candidates` (by default the CPU's native ones; fp32 first, the reference) on
        the sample: first fp32's streams for passage batches and threads for lone questions,
        then every other candidate under those; the fastest faithful one wins each kind of work,
        and is timed again under fp32's other plans."""
        started = time.perf_counter()
        candidates = list(candidates or native_candidates(self.cpu))
        if candidates[0].precision != REFERENCE:
            raise ValueError("the first candidate must be the fp32 reference")
        cores, reference = self.cpu.cores, {}
        batches = "passages" in self.trial.works
        # One stream on every core, half of them or one for a lone question; OpenVINO's throughput
        # streams or one stream for passage batches. The defaults come first, so another plan
        # needs a clear gain (MIN_GAIN) to win. The first run of a kind of work in a process is
        # slow (measured: passages a third below later runs of the same plan), which would decide
        # against whichever plan comes first: so each kind runs once untimed.
        default_q = Plan(REFERENCE, 1, cores)
        self._time_questions(default_q, {})
        plans_q = [self._time_questions(replace(default_q, threads=t), reference) for t in thread_options(cores)]
        plans_p = []
        if batches:
            default_p, _ = default_plans(REFERENCE, cores, self._throughput_streams(REFERENCE))
            self._time_passages(default_p, {})
            plans_p = [self._time_passages(replace(default_p, streams=s), reference)
                       for s in dict.fromkeys([default_p.streams, 1])]
        questions, passages = [pick(plans_q)], [pick(plans_p)] if batches else []
        for candidate in candidates[1:]:
            try:
                self.models(candidate)  # a compressed variant is made here, once
            except (OSError, ImportError) as exc:  # no room, a read-only cache, no NNCF
                log.warning("runtime candidate %s left out: %s", candidate.precision, exc)
                continue
            if batches:
                passages.append(self._time_passages(replace(passages[0].plan, precision=candidate.precision), reference))
            questions.append(self._time_questions(replace(questions[0].plan, precision=candidate.precision), reference))
        chosen_q, again_q = self._replanned(pick(questions), plans_q, reference)
        reason = f"questions {_describe(chosen_q, questions + again_q)}"
        chosen_p, again_p = chosen_q, []
        if batches:
            chosen_p, again_p = self._replanned(pick(passages), plans_p, reference)
            reason = f"passages {_describe(chosen_p, passages + again_p)}; {reason}"
        reason = f"measured on this CPU: {reason}"
        log.info("runtime choice: %s", reason)
        measurements = plans_p + plans_q + passages[1:] + questions[1:] + again_p + again_q
        return RuntimeChoice(chosen_p.plan, chosen_q.plan, reason, self.cpu, measurements,
                             round(time.perf_counter() - started, 2), _now())

    def _replanned(self, chosen: Measurement, plans: list[Measurement],
                   reference: dict) -> tuple[Measurement, list[Measurement]]:
        """`chosen` against its precision under the other plans fp32 was timed with: the
        streams or threads best for fp32 need not be best for bf16 (measured on an AVX-512 BF16
        CPU: one stream for fp32, two for bf16 on long passages), and one disturbed fp32 timing
        should not decide for every precision. The chosen plan stays unless another beats it
        by MIN_GAIN. Returns the winner and the new measurements."""
        if chosen.plan.precision == REFERENCE:
            return chosen, []
        timer = self._time_passages if chosen.work == "passages" else self._time_questions
        again = [timer(replace(m.plan, precision=chosen.plan.precision), reference)
                 for m in plans if m.plan != replace(chosen.plan, precision=REFERENCE)]
        return pick([chosen, *again]), again

    def _compile(self, model, plan: Plan):
        return self.core.compile_model(model, "CPU", plan.config())

    def _time_passages(self, plan: Plan, reference: dict) -> Measurement:
        compiled = self._compile(self.models(CANDIDATES[plan.precision]), plan)
        seconds, outputs = self.trial.passages(compiled, plan.streams)
        return self._measured(plan, "passages", len(outputs) / seconds, outputs, reference)

    def _time_questions(self, plan: Plan, reference: dict) -> Measurement:
        model = self.trial.question_model(self.models(CANDIDATES[plan.precision]))
        seconds, outputs = self.trial.questions(self._compile(model, plan))
        return self._measured(plan, "questions", seconds * 1000, outputs, reference)

    @staticmethod
    def _measured(plan: Plan, work: str, speed: float, outputs: np.ndarray, reference: dict) -> Measurement:
        outputs = _unit_rows(outputs)
        if plan.precision == REFERENCE and work not in reference:
            reference[work] = outputs
        cosines = np.sum(outputs * reference[work], axis=1)
        return Measurement(plan, work, round(float(speed), 2), round(float(cosines.mean()), 5),
                           round(float(cosines.min()), 5))


def _describe(chosen: Measurement, rivals: list[Measurement]) -> str:
    """"int8 (12.1 passages/s, 2.10x fp32, cosine min 0.9910), 1 stream(s) x 2 thread(s)"-style
    words for the reason; `rivals[0]` is fp32 under the same streams and threads."""
    reference = rivals[0]
    ratio = chosen.speed / reference.speed if chosen.work == "passages" else reference.speed / chosen.speed
    unit = f"{chosen.speed:.1f} passages/s" if chosen.work == "passages" else f"{chosen.speed:.1f} ms"
    rejected = [m.plan.precision for m in rivals if not m.faithful]
    words = (f"{chosen.plan.precision} ({unit}, {ratio:.2f}x fp32, cosine min {chosen.cosine_min:.4f}), "
             f"{chosen.plan.streams} stream(s) x {chosen.plan.threads} thread(s)")
    if rejected:
        words += f"; unfaithful, not chosen: {', '.join(rejected)}"
    return words


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

