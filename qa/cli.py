"""The `qa` command: a thin shell over Engine."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from qa.config import Settings
from pydantic import ValidationError

from qa.errors import ArticleNotFoundError, InvalidInputError, QAError
from qa.query import DEFAULT_TOP_K
from qa.types import Answer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Ask questions of Indonesian news articles.",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

IndexDir = Annotated[
    Optional[Path], typer.Option("--index-dir", help="Index directory [default: $QA_INDEX_DIR or ./index].")
]


@app.callback(invoke_without_command=True)
def _setup(context: typer.Context) -> None:
    """Ask questions of Indonesian news articles."""
    if context.invoked_subcommand is None:
        out.print(context.get_help(), markup=False)
        raise typer.Exit(0)
    # The engine's one-off notices (model conversion, automatic indexing) go to stderr.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("qa")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _settings(**overrides) -> Settings:
    """Settings from the environment, with the options the user gave on the command line."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"bad setting ({problems})") from None


def _engine(**overrides):
    from qa.engine import Engine  # imports torch: keep `qa --help` fast

    return Engine(_settings(**overrides))


def _fail(exc: QAError) -> typer.Exit:
    err.print(f"error: {exc}", markup=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of .txt, .md, .html, .jsonl articles.")],
    index_dir: IndexDir = None,
):
    """Build the index from articles (replaces the current index only when finished).
    Articles already indexed with the same content are not embedded again, and an interrupted
    run goes on where it stopped when started again."""
    engine, report = _with_progress(
        "embedding passages", index_dir, lambda engine, progress: engine.build_index(paths, progress))
    out.print(
        f"indexed {report.articles} articles into {report.passages} passages "
        f"({report.embedded} passages embedded, {report.reused} articles reused, {len(report.skipped)} skipped) "
        f"in {report.seconds:.1f}s -> {engine.settings.index_dir}",
        markup=False,
    )


def _with_progress(label: str, index_dir: Path | None, work):
    """Runs `work(engine, progress)` under a progress bar (on a terminal), prints the report's
    warnings and skipped files, and returns the engine and the report."""
    try:
        engine = _engine(index_dir=index_dir)
        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(label, total=None)
            report = work(engine, lambda done, total: bar.update(task, completed=done, total=total))
    except QAError as exc:
        raise _fail(exc) from None
    for line in report.warnings + [f"skipped {s}" for s in report.skipped]:
        err.print(f"warning: {line}", markup=False, soft_wrap=True)
    return engine, report


def _print_json(value) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


@app.command()
def add(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of .txt, .md, .html, .jsonl articles.")],
    index_dir: IndexDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
):
    """Add articles to the index, searchable at once. Same id and content: left alone;
    same id, new content: replaced. Safe to run again after an interruption."""
    engine, report = _with_progress(
        "embedding passages", index_dir, lambda engine, progress: engine.add_paths(paths, progress))
    if as_json:
        _print_json(asdict(report))
        return
    out.print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)} "
        f"articles ({report.passages} passages written) -> {engine.settings.index_dir}",
        markup=False,
    )


@app.command()
def remove(
    ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove (see `qa list`).")],
    index_dir: IndexDir = None,
):
    """Remove articles and their passages from the index."""
    try:
        report = _engine(index_dir=index_dir).remove(ids)
        missing = [i for i in dict.fromkeys(ids) if i not in report.removed]
        if report.removed:
            out.print(f"removed {', '.join(report.removed)}", markup=False, soft_wrap=True)
        if missing:
            raise ArticleNotFoundError(f"no article with id {', '.join(map(repr, missing))}")
    except QAError as exc:
        raise _fail(exc) from None


@app.command("list")
def list_articles(
    offset: Annotated[int, typer.Option(help="Skip this many articles.")] = 0,
    limit: Annotated[int, typer.Option(help="Show at most this many (1-1000).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the GET /articles body.")] = False,
    index_dir: IndexDir = None,
):
    """List the indexed articles, by id."""
    try:
        total, articles = _engine(index_dir=index_dir).articles(offset, limit)
    except QAError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json({"total": total, "offset": offset, "limit": limit, "articles": [asdict(a) for a in articles]})
        return
    for a in articles:  # tab-separated, for cut and awk
        sys.stdout.write(f"{a.id}\t{a.date or 'undated'}\t{a.source or '-'}\t{a.passages} passages\t{a.title or ''}\n")
    shown = f"{offset + 1}-{offset + len(articles)}" if articles else "none"
    err.print(f"{shown} of {total} articles", markup=False)


def _passage_text(text: str, highlights: list[list[int]], styled: bool) -> Text:
    """The passage with its highlighted words in bold colour, or between ** when not on a terminal."""
    body, last = Text(), 0
    for start, end in highlights:
        body.append(text[last:start])
        if styled:
            body.append(text[start:end], style="bold yellow")
        else:
            body.append(f"**{text[start:end]}**")
        last = end
    body.append(text[last:])
    return body


def _render(answer: Answer, styled: bool) -> None:
    """Readable results: wrapped and coloured on a terminal, plain unwrapped lines otherwise."""
    print_ = out.print if styled else lambda item="": out.print(item, soft_wrap=True)
    print_(Text(f"Q: {answer.question}", style="bold" if styled else ""))
    short = answer.answer
    if short.confident:
        where = " · ".join(x for x in (short.source, short.date) if x)
        print_(Text(f"A: {short.text}" + (f"  ({where})" if where else ""), style="bold green" if styled else ""))
    elif answer.results:
        print_("A: (no confident answer in the corpus; closest passages below)")
    if not answer.results:
        print_("no passage matched (check the filters, or index more articles)")
    for r in answer.results:
        print_()
        period = f"about {r.period['label']}" if r.period else None
        meta = " · ".join(x for x in (r.source or "unknown source", r.date or "undated", period, r.title) if x)
        print_(Text(f"{r.rank}. [{r.score:.3f}] {meta}", style="bold cyan" if styled else ""))
        body = _passage_text(r.text, r.highlights, styled)
        if styled:
            out.print(Padding(body, (0, 0, 0, 3)))
        else:
            for line in body.plain.split("\n"):
                print_("   " + line)
        print_(Text(f"   {r.passage_id}" + (f"  {r.url}" if r.url else ""), style="dim" if styled else ""))
        for other in r.also_in:
            print_(Text(f"   also in {other.source or 'unknown source'} ({other.date or 'undated'}) "
                        f"{other.passage_id}", style="dim" if styled else ""))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Indonesian or English.")],
    k: Annotated[int, typer.Option("-k", "--top-k", help="How many passages (1-50).")] = DEFAULT_TOP_K,
    as_json: Annotated[bool, typer.Option("--json", help="Print the HTTP response body.")] = False,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Only articles on/after YYYY-MM-DD.")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Only articles on/before YYYY-MM-DD.")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Only this publisher; repeatable.")] = None,
    index_dir: IndexDir = None,
):
    """Answer a question with ranked passages.

    Example: qa ask "berapa tenaga kerja IKM 2024?" -k 3
    """
    try:
        answer = _engine(index_dir=index_dir).ask(question, k, date_from, date_to, source)
    except QAError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(answer.to_dict())
    else:
        _render(answer, styled=out.is_terminal)


@app.command("eval")
def evaluate(
    questions: Annotated[
        Optional[Path], typer.Argument(help="Question set (JSONL) [default: benchmarks/questions.jsonl].")
    ] = None,
    corpus: Annotated[
        Optional[Path], typer.Option(help="Articles the questions are about [default: $QA_CORPUS_DIR or ./corpus].")
    ] = None,
    facqa: Annotated[
        Optional[Path], typer.Option(help="Evaluate on FacQA from this folder instead (train.csv, valid.csv).")
    ] = None,
    split: Annotated[str, typer.Option(help="FacQA split to ask: train (for tuning) or valid.")] = "valid",
):
    """Measure the ranking: hit@1/3/10, MRR@10 and answer exact match, for the configured ranking
    and, in the same run, for plain BM25 and plain dense. Indexes into a temporary folder.

    Examples: qa eval  |  qa eval --facqa ../shared/data/facqa --split valid
    """
    import tempfile

    from qa.evaluation import Evaluation, facqa as facqa_items, load_questions, markdown

    try:
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            engine = _engine(index_dir=Path(tmp) / "index")
            if facqa is not None:
                if split not in ("train", "valid"):
                    raise InvalidInputError(f"--split must be train or valid, got {split!r}")
                items = facqa_items(facqa, split, Path(tmp) / "facqa.jsonl")
                paths, name = [Path(tmp) / "facqa.jsonl"], f"FacQA {split}"
            else:
                path = questions or Path("benchmarks/questions.jsonl")
                if not path.is_file():
                    raise InvalidInputError(f"question set {path} not found")
                items = load_questions(path)
                paths, name = [corpus or engine.settings.corpus_dir], str(path)
            with err.status(f"indexing {', '.join(map(str, paths))}"):
                engine.build_index(paths)
            with err.status(f"asking {len(items)} questions x 3 rankings"):
                scores = Evaluation(engine, items).compare()
    except QAError as exc:
        raise _fail(exc) from None
    out.print(f"{name}: {len(items)} questions", markup=False)
    out.print(markdown(scores), markup=False, soft_wrap=True)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [default: 8000].")] = None,
    index_dir: IndexDir = None,
):
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from qa.api import create_app

    try:
        engine = _engine(host=host, port=port, index_dir=index_dir)
        engine.index  # a missing or damaged index is one error line here, not a traceback
    except QAError as exc:
        raise _fail(exc) from None
    uvicorn.run(create_app(engine=engine), host=engine.settings.host, port=engine.settings.port)


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
