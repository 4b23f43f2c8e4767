"""The `qa` command run as a user runs it: a separate process."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import BATTERY, BATTERY_QUESTION, QUESTION, ROOT, free_port
from qa.facqa import facqa_rows
from qa.reader_training import split_held_in, without_text_of


def qa(*args, env=None, cwd=None, stdin=None):
    """Runs `qa` with standard input from `stdin` (text), or from nothing as in CI."""
    return subprocess.run(
        [sys.executable, "-m", "qa", *map(str, args)], capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})}, cwd=cwd, input=stdin if stdin is not None else "",
    )


def test_index_then_ask_as_json_matches_the_http_body(engine, corpus_copy, tmp_path):
    index_dir = tmp_path / "idx"
    built = qa("index", corpus_copy, "--index-dir", index_dir, env={"FORCE_COLOR": "1"})  # as on a terminal
    assert built.returncode == 0, built.stderr
    assert "indexed 5 articles into" in built.stdout
    assert "embedding passages" in built.stderr  # the progress bar, drawn on stderr
    asked = qa("ask", QUESTION, "-k", "3", "--json", "--index-dir", index_dir)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout) == engine.ask(QUESTION, 3).to_dict()


def test_readable_output_and_errors(settings):
    index_dir = settings.index_dir
    asked = qa("ask", QUESTION, "-k", "2", "--index-dir", index_dir)
    assert asked.returncode == 0, asked.stderr
    assert "A: 12,37 juta tenaga kerja  (kumparan · 2024-11-15)" in asked.stdout
    assert "1. [" in asked.stdout and "kumparan · 2024-11-15 · about 2024" in asked.stdout
    assert "**12,37 juta tenaga kerja**" in asked.stdout
    bad = qa("ask", "  ", "--index-dir", index_dir)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: question must not be empty"
    bad_k = qa("ask", QUESTION, "-k", "99", "--index-dir", index_dir)
    assert bad_k.returncode == 2 and bad_k.stderr.count("\n") == 1 and "between 1 and 50" in bad_k.stderr




def test_corpus_pages_sort_and_the_old_option_names(engine, settings):
    index_dir = settings.index_dir
    corpus = qa("corpus", "--index-dir", index_dir)
    assert corpus.returncode == 0, corpus.stderr
    assert corpus.stdout.splitlines() == [
        "5 news articles from KETIK, kumparan, marketeers and 1 more publisher, published 2022-08-10 to 2024-11-15",
        "KETIK\t1", "kumparan\t1", "marketeers\t1", "Republika\t1"]
    assert json.loads(qa("corpus", "--json", "--index-dir", index_dir).stdout)["passages"] == len(engine.index.snapshot())
    second = qa("ask", QUESTION, "--top-k", "2", "--offset", "2", "--sort", "newest", "--json", "--index-dir", index_dir)
    assert json.loads(second.stdout) == engine.ask(QUESTION, 2, offset=2, sort="newest").to_dict()
    shown = qa("ask", QUESTION, "-k", "2", "--index-dir", index_dir).stdout
    assert "results 1-2 of 5 articles, by relevance; next: --offset 2" in shown
    old = qa("ask", QUESTION, "-k", "1", "--from", "2023-01-01", "--source", "KETIK", "--json", "--index-dir", index_dir)
    new = qa("ask", QUESTION, "-k", "1", "--date-from", "2023-01-01", "--sources", "KETIK", "--json",
             "--index-dir", index_dir)
    assert old.stdout == new.stdout and json.loads(new.stdout)["results"][0]["source"] == "KETIK"
    assert old.stderr.splitlines() == [  # the old spellings still work, and say they go in the next release
        "warning: deprecated option name(s), accepted until the next release: --from (use --date-from)",
        "warning: deprecated option name(s), accepted until the next release: --source (use --sources)"]
    assert "deprecated" not in new.stderr
    unknown = qa("ask", QUESTION, "--sources", "kompas", "--index-dir", index_dir)
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == [
        "error: unknown source(s): kompas; the sources are: KETIK, kumparan, marketeers, Republika"]


def test_progress_off_a_terminal_is_lines_with_a_rate(corpus_copy, tmp_path, monkeypatch):
    """In a log (stderr not a terminal) progress comes as whole lines every few seconds, each
    with a count, a rate and the time left; a short build prints none."""
    monkeypatch.setattr("qa.cli.PROGRESS_EVERY", 0.0)
    from qa.cli import Progressing, err

    lines = []
    monkeypatch.setattr(err, "print", lambda text, **_: lines.append(text))
    with Progressing("reading", "embedding passages") as shown:
        for done in (0, 5, 10):
            shown(done, 10)
    assert [line.split(",")[0] for line in lines] == [
        "embedding passages: 0/10 (0%)", "embedding passages: 5/10 (50%)", "embedding passages: 10/10 (100%)"]
    assert all("/s, eta " in line for line in lines)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_missing_or_empty_index_dir_is_one_line(tmp_path, make):
    index_dir = tmp_path / "idx"
    if make == "empty":
        index_dir.mkdir()
    result = qa("ask", QUESTION, "--index-dir", index_dir, env={"QA_CORPUS_DIR": str(tmp_path / "none")})
    assert result.returncode == 3
    assert result.stderr.startswith("error: no index in") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_bad_setting_is_one_line(settings):
    result = qa("ask", QUESTION, env={"QA_BATCH_SIZE": "many"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: bad setting (batch_size:") and result.stderr.count("\n") == 1


def test_eval_prints_the_rankings_and_both_kinds_of_answers(tmp_path):
    from conftest import ROOT

    result = qa("eval", "--answers-out", tmp_path / "answers.jsonl", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("benchmarks/questions.jsonl: 67 questions over ")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    names = [row.split(" | ")[0][2:] for row in rows]
    assert names[0] == "ranking" and names[-2:] == ["bm25", "dense"]
    assert {"hybrid, trained answers", "hybrid, rules answers",
            "hybrid, trained answers: held-out questions (never tuned on)"} <= set(names)
    hybrid_hit1 = float(rows[1].split(" | ")[2])
    assert hybrid_hit1 >= 0.94
    # each question's outcome with the trained reader, adding up to its row's "answer holds expected"
    answers = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = [a for a in answers if a["expected"]]
    assert len(answers) == 67 and f"{sum(a['holds'] for a in expected) / len(expected):.3f}" == rows[1].split(" | ")[8]
    compared = subprocess.run([sys.executable, ROOT / "benchmarks" / "compare_answers.py", tmp_path / "answers.jsonl",
                               tmp_path / "answers.jsonl"], capture_output=True, text=True)
    assert compared.returncode == 0 and "\n0 questions changed" in compared.stdout


def test_eval_bad_input_is_one_line(tmp_path):
    missing = qa("eval", tmp_path / "none.jsonl")
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: question set")
    nowhere = qa("eval", "--answers-out", tmp_path / "no" / "answers.jsonl")
    assert nowhere.returncode == 2 and nowhere.stderr.startswith("error: cannot write") and nowhere.stderr.count("\n") == 1
    split = qa("eval", "--facqa", tmp_path, "--split", "dev")
    assert split.returncode == 2 and "--split must be train, valid or test" in split.stderr
    no_test = qa("eval", "--facqa", tmp_path, "--split", "test")
    assert no_test.returncode == 2 and no_test.stderr.startswith("error: FacQA file") and no_test.stderr.count("\n") == 1


def test_add_list_ask_remove(engine, tmp_path):
    shutil.copytree(engine.settings.index_dir, tmp_path / "index")
    index_dir = tmp_path / "index"
    path = tmp_path / "today.jsonl"
    path.write_text(json.dumps(BATTERY) + "\n", encoding="utf-8")
    added = qa("add", path, "--index-dir", index_dir, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == ["baterai-batang"]
    listed = qa("list", "--index-dir", index_dir, "--json")
    page = json.loads(listed.stdout)
    assert page["total"] == 6 and "baterai-batang" in [a["id"] for a in page["articles"]]
    plain = qa("list", "--index-dir", index_dir, "--limit", "1", "--offset", "5")
    assert plain.stdout.startswith("baterai-batang\t2025-03-03\tantara\t1 passages") and "6-6 of 6" in plain.stderr
    asked = qa("ask", BATTERY_QUESTION, "--index-dir", index_dir)
    assert "A: Rp 18 triliun  (antara · 2025-03-03)" in asked.stdout
    removed = qa("remove", "baterai-batang", "--index-dir", index_dir)
    assert removed.returncode == 0 and removed.stdout.strip() == "removed baterai-batang"
    assert json.loads(qa("list", "--index-dir", index_dir, "--json").stdout)["total"] == 5


def test_questions_from_standard_input_in_each_format(engine, settings):
    index_dir = settings.index_dir
    lines = f"{QUESTION}\n\n{'x' * 2001}\n{BATTERY_QUESTION}\n"
    jsonl = qa("ask", "-k", "2", "--format", "jsonl", "--index-dir", index_dir, stdin=lines)
    assert jsonl.returncode == 2  # one question could not be asked; the others were answered
    answers = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [a["question"] for a in answers] == [QUESTION, "x" * 2001, BATTERY_QUESTION]
    assert answers[0]["answer"]["text"] == "12,37 juta tenaga kerja" and "too long" in answers[1]["error"]
    assert jsonl.stderr.startswith("error (line 3): question is too long")

    as_list = qa("ask", "-k", "2", "--format", "json", "--index-dir", index_dir, stdin=f"{QUESTION}\n")
    assert as_list.returncode == 0 and [a["question"] for a in json.loads(as_list.stdout)] == [QUESTION]

    text = qa("ask", "-k", "1", "--index-dir", index_dir, stdin=f"{QUESTION}\n{BATTERY_QUESTION}\n")
    assert text.returncode == 0 and text.stdout.count("Q: ") == 2


def test_colour_only_on_a_terminal(engine, settings):
    piped = qa("ask", QUESTION, "-k", "1", "--index-dir", settings.index_dir)
    assert "\x1b[" not in piped.stdout and "**12,37 juta tenaga kerja**" in piped.stdout
    terminal = qa("ask", QUESTION, "-k", "1", "--index-dir", settings.index_dir, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in terminal.stdout and "**" not in terminal.stdout


def test_a_lost_pointer_stops_ask_and_add_until_recover_and_loses_no_article(engine, settings, tmp_path, corpus_copy):
    """The case that lost 200 articles: CURRENT gone, `qa ask` run in a folder holding corpus/."""
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    before = sorted(p.name for p in index_dir.iterdir())
    (index_dir / "CURRENT").unlink()
    workdir = corpus_copy.parent  # ./corpus is there: a missing index would be built from it
    for command in (["ask", QUESTION], ["add", corpus_copy / "000_72e7b393ea3bae9b.txt"]):
        stopped = qa(*command, "--index-dir", index_dir, cwd=workdir)
        assert stopped.returncode == 3 and stopped.stderr.count("\n") == 1, stopped.stderr
        assert "lost its CURRENT file but holds 1 build(s) (build-" in stopped.stderr
        assert "qa recover --index-dir" in stopped.stderr
    assert sorted(p.name for p in index_dir.iterdir() if p.name != "write.lock") == sorted(
        n for n in before if n not in ("CURRENT", "write.lock"))
    recovered = qa("recover", "--index-dir", index_dir)
    assert recovered.returncode == 0 and "recovered: build-" in recovered.stdout and "(5 articles)" in recovered.stdout
    assert qa("recover", "--index-dir", index_dir).stdout.startswith("nothing to recover")
    listed = qa("list", "--index-dir", index_dir)
    assert listed.returncode == 0 and "1-5 of 5 articles" in listed.stderr


def test_titles_sources_and_ids_are_printed_literally_never_as_terminal_codes(engine, settings, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({
        "id": "kode-terminal", "title": "Judul \x1b]0;diretas\x07 merah \x1b[31m", "source": "sumber\x1b[2J",
        "date": "2025-03-03", "text": BATTERY["text"]}) + "\n", encoding="utf-8")
    assert qa("add", hostile, "--index-dir", index_dir).returncode == 0
    listed = qa("list", "--index-dir", index_dir).stdout
    asked = qa("ask", BATTERY_QUESTION, "-k", "1", "--index-dir", index_dir, env={"FORCE_COLOR": "1"}).stdout
    for output in (listed, asked):
        assert "\\x1b]0;diretas\\x07" in output and "sumber\\x1b[2J" in output
        assert "\x1b]" not in output and "\x1b[2J" not in output and "\x07" not in output
    assert "kode-terminal\t2025-03-03\tsumber\\x1b[2J\t" in listed  # still one line, five columns
    removed = qa("remove", ":thumbs_up:", "--index-dir", index_dir)
    assert removed.stderr.strip() == "error: no article with id ':thumbs_up:'"  # text, not an emoji


def test_runtime_says_what_was_chosen_and_why(engine):
    shown = qa("runtime")
    assert shown.returncode == 0, shown.stderr
    choice = engine.embedder.choice
    assert f"passages: {choice.passages.precision}, {choice.passages.streams} stream(s)" in shown.stdout
    assert f"why: {choice.reason}" in shown.stdout and "cosine min" in shown.stdout
    reading = engine.reader.choice
    assert "the answer reader:\n" in shown.stdout and f"why: {reading.reason}" in shown.stdout
    assert sum(line.startswith(("passages\t", "questions\t")) for line in shown.stdout.splitlines()) == len(
        choice.measurements) + len(reading.measurements)
    as_json = json.loads(qa("runtime", "--json").stdout)
    assert as_json["cpu_key"] == choice.cpu.key and as_json["measurements"][0]["faithful"] is True
    assert as_json["reader"]["questions"]["precision"] == reading.questions.precision
    within = engine.reader.windows_within(engine.settings.reader_budget_ms)  # this CPU's reading depth
    assert as_json["reader"]["reading"]["windows_per_question"] == within and within >= 1
    assert f"as far as {within} windows a question" in shown.stdout
    later = engine.settings.reader_later_passages
    assert as_json["reader"]["reading"]["later_passages"] == later
    assert f"the best windows of the next {later} results" in shown.stdout
    forced = json.loads(qa("runtime", "--json", env={"QA_EMBEDDING_PRECISION": "fp32",
                                                     "QA_READER_PRECISION": "int8-weights"}).stdout)
    assert forced["passages"]["precision"] == "fp32" and forced["reason"].startswith("forced by the setting")
    assert forced["reader"]["reason"] == "forced by the setting reader_precision=int8-weights"
    assert forced["reader"]["reading"]["windows_per_question"] is None  # a forced format is not timed: no limit
    bad = qa("runtime", env={"QA_EMBEDDING_PRECISION": "int4"})
    assert bad.returncode == 2 and bad.stderr.startswith("error: bad setting (embedding_precision:")


@pytest.mark.parametrize("command", ["", "index", "add", "remove", "list", "ask", "eval", "serve", "mcp", "runtime", "recover"])
def test_help_has_examples(command):
    shown = qa(*filter(None, [command]), "--help", env={"COLUMNS": "200"})
    assert shown.returncode == 0 and "Example" in shown.stdout
    if command:
        assert f"qa {command}" in shown.stdout.split("Example", 1)[1]


def test_settings_from_flag_environment_and_config_file(engine, settings, tmp_path):
    config = tmp_path / "qa.toml"
    config.write_text(f'index_dir = "{settings.index_dir}"\n', encoding="utf-8")
    from_file = qa("list", "--config", config)
    assert from_file.returncode == 0 and "of 5 articles" in from_file.stderr
    in_cwd = qa("list", cwd=tmp_path)  # ./qa.toml is read without being named
    assert in_cwd.returncode == 0 and "of 5 articles" in in_cwd.stderr
    elsewhere = {"QA_INDEX_DIR": str(tmp_path / "elsewhere"), "QA_CORPUS_DIR": str(tmp_path / "none")}
    env_wins = qa("list", "--config", config, env=elsewhere)
    assert env_wins.returncode == 3 and "elsewhere" in env_wins.stderr
    flag_wins = qa("list", "--config", config, "--index-dir", settings.index_dir, env=elsewhere)
    assert flag_wins.returncode == 0


@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "facqa").is_dir(), reason="../shared/data/facqa not present")
def test_train_reader_saves_an_adapter_and_prints_its_scores(tmp_path):
    more = tmp_path / "more.json"  # more data in SQuAD's format goes in beside FacQA
    more.write_text(json.dumps([{"context": "Pabrik itu dibuka pada 1991.", "qas": [
        {"question": "Kapan pabrik itu dibuka?", "answers": [{"text": "1991", "answer_start": 23}]},
        {"question": "Siapa pemiliknya?", "is_impossible": True, "answers": []}]}]), encoding="utf-8")
    train, _ = split_held_in(facqa_rows(ROOT.parent / "shared" / "data" / "facqa", "train"))
    measured = tmp_path / "measured.txt"  # a corpus kept for measuring holds one of FacQA train's passages
    measured.write_text(f"Judul\n\n{train[0].passage}\n", encoding="utf-8")
    trained = qa("train-reader", "--facqa", ROOT.parent / "shared" / "data" / "facqa", "--epochs", "1",
                 "--limit", "16", "--squad", more, "--out", tmp_path / "reader", "--seed", "14", "--unseen", measured,
                 "--pretrain", more, "--pretrain-limit", "2")  # the same file read first, as a first stage
    assert trained.returncode == 0, trained.stderr
    assert "trained on 2 examples of --pretrain, then " in trained.stdout
    left_out = len(train) - len(without_text_of(train, [train[0].passage]))
    assert left_out > 0
    assert f"(16 FacQA questions; {left_out} left out, their passages sharing text with --unseen)" in trained.stdout
    assert "FacQA valid (gold passage): 311 questions, F1 " in trained.stdout
    # another seed draws another training, never other held-in questions (the curve is fitted on them)
    assert "held-in train: 241 questions, F1 " in trained.stdout
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (tmp_path / "reader").iterdir()}
    assert (tmp_path / "reader" / "adapter_model.safetensors").stat().st_size < 20_000_000
    missing = qa("train-reader", "--facqa", tmp_path / "nowhere")
    assert missing.returncode == 2 and missing.stderr.startswith("error: FacQA file")
    (tmp_path / "other.json").write_text('{"rows": []}', encoding="utf-8")
    not_squad = qa("train-reader", "--squad", tmp_path / "other.json", "--out", tmp_path / "other")
    assert not_squad.returncode == 2 and not_squad.stderr.count("\n") == 1 and "SQuAD's JSON format" in not_squad.stderr
    unpaired = qa("train-reader", "--pretrain", more, "--pretrain-limit", "1", "--pretrain-limit", "2", "--out", tmp_path / "other")
    assert unpaired.returncode == 2 and unpaired.stderr.count("\n") == 1 and "2 --pretrain-limit for 1 --pretrain files" in unpaired.stderr


def test_backup_then_restore_and_answer_from_the_restored_copy(engine, tmp_path):
    backed = qa("backup", tmp_path / "backup", "--index-dir", engine.settings.index_dir)
    assert backed.returncode == 0 and backed.stdout.startswith("backed up build-"), backed.stderr
    restored = qa("backup", tmp_path / "restored", "--index-dir", tmp_path / "backup")
    assert restored.returncode == 0, restored.stderr
    answer = qa("ask", QUESTION, "--format", "json", "--index-dir", tmp_path / "restored")
    assert json.loads(answer.stdout) == engine.ask(QUESTION).to_dict()
    again = qa("backup", tmp_path / "restored", "--index-dir", tmp_path / "backup")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "never writes over" in again.stderr


def test_serve_with_workers_over_no_index_is_one_error_line(tmp_path):
    done = qa("serve", "--workers", "2", "--port", free_port(), "--index-dir", tmp_path / "none",
              env={"QA_CORPUS_DIR": str(tmp_path / "no-corpus")})
    assert done.returncode == 3 and done.stderr.startswith("error: no index in"), done.stderr
    assert done.stderr.count("\n") == 1


def test_add_a_csv_export_a_page_url_and_a_feed(engine, tmp_path, news_site):
    shutil.copytree(engine.settings.index_dir, tmp_path / "index")
    index_dir = tmp_path / "index"
    export = tmp_path / "ekspor.csv"
    export.write_text("judul;isi_berita;tanggal\n"
                      "Harga cabai naik;Harga cabai rawit di Pasar Induk Kramat Jati tembus Rp 80 ribu per kilogram.;"
                      "18/11/2024\n;;\nTanpa isi;;kemarin\n", encoding="utf-8")
    added = qa("add", export, "--columns", "text=isi_berita,title=judul,date=tanggal", "--index-dir", index_dir,
               "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == ["ekspor-2"]
    assert "ekspor.csv: row 4: needs a non-empty string field 'text'" in added.stderr
    bad = qa("add", export, "--columns", "body=isi", "--index-dir", index_dir)
    assert bad.returncode == 2 and "unknown field 'body'" in bad.stderr and "Traceback" not in bad.stderr
    one = tmp_path / "satu.csv"
    one.write_text("judul;isi_berita\nHarga bawang turun;Harga bawang merah turun menjadi Rp 30 ribu per kilogram.\n",
                   encoding="utf-8")
    told = qa("add", one, "--columns", "text=isi_berita,title=judul", "--index-dir", index_dir)
    assert told.stdout.startswith("added 1, replaced 0, unchanged 0 articles (1 passage written) -> "), told.stdout
    refused = qa("add", f"{news_site.base}/berita/detik", "--index-dir", index_dir)
    assert refused.returncode == 2 and "private, loopback or link-local" in refused.stderr
    local = {"QA_FETCH_PRIVATE_ADDRESSES": "true"}
    fetched = qa("add", f"{news_site.base}/berita/detik", f"{news_site.base}/rss.xml", "--index-dir", index_dir,
                 env=local)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("added 3,")  # detik is both a page and a feed entry: read once
    asked = qa("ask", "berapa harga kopi di tingkat petani Lampung?", "--index-dir", index_dir)
    assert "detik · 2024-11-18" in asked.stdout
    again = qa("add", f"{news_site.base}/rss.xml", "--index-dir", index_dir, env=local)
    assert again.returncode == 0 and "unchanged since it was last read" in again.stderr


def test_watch_adds_files_as_they_appear_and_stops_on_ctrl_c(engine, tmp_path):
    shutil.copytree(engine.settings.index_dir, tmp_path / "index")
    folder = tmp_path / "scraper"
    folder.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "qa", "watch", str(folder), "--settle", "0.5",
                                "--index-dir", str(tmp_path / "index")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith(f"watching {folder}")
        second = qa("watch", folder, "--index-dir", tmp_path / "index")  # one watcher per folder and index
        assert second.returncode == 5 and second.stdout == "" and second.stderr.strip().splitlines() == [
            f"error: another `qa watch` is already watching {folder} into this index; stop it first"]
        (folder / "tempo.html").write_bytes((ROOT / "tests" / "fixtures" / "pages" / "tempo.html").read_bytes())
        assert process.stdout.readline().strip() == "1 files read: added 1, replaced 0, removed 0 articles"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and out.strip() == "stopped", err
    listed = json.loads(qa("list", "--index-dir", tmp_path / "index", "--json").stdout)
    assert "tempo" in [a["id"] for a in listed["articles"]]
