"""The HTTP interface: a thin FastAPI shell over one shared Engine.

Reads (/ask, GET /articles) are open unless `protect_reads` is set; writes (POST and DELETE
/articles) need the `X-API-Key` header to match the `api_key` setting, and are refused
outright when no key is configured.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query as Param, Request, Response, Security
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from starlette.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.config import Settings, load_settings
from qa.embedding.process import EmbeddingProcess
from qa.engine import MAX_PAGE, Engine, UpdateReport
from qa.errors import (
    AccessDeniedError, ArticleNotFoundError, FetchRefusedError, InvalidInputError, QAError, WorkStoppedError, WritesDisabledError,
)
from qa.observability import Admission, Metrics, Observed, access_log
from qa.observability import REQUEST_ID_HEADER
from qa.read_queue import ReadQueue
from qa.query import DEFAULT_TOP_K, MAX_OFFSET, MAX_QUESTION_CHARS, MAX_TOP_K, MIN_TOP_K, SORTS, renamed_note
from qa.reading import MAX_ID_CHARS, read_records, valid_unicode
from qa.runtime_choice import usable_cores
from qa.types import Answer, ArticleInfo, Corpus, Facets

log = logging.getLogger(__name__)
QUESTION_DOC = "The question, in Indonesian or English."
TOP_K_DOC = f"How many results (articles) to return ({MIN_TOP_K}-{MAX_TOP_K})."
OFFSET_DOC = "How many results to skip: the next page starts at offset + top_k (see `total`)."
SORT_DOC = "'relevance': best answer first; 'newest': newest article first."
DATE_FROM_DOC = "Only articles published on or after this date (YYYY-MM-DD)."
DATE_TO_DOC = "Only articles published on or before this date (YYYY-MM-DD)."
SOURCES_DOC = "Only articles from these publishers (any case; GET /corpus lists them); repeat for several."
DEPRECATED_DOC = "Deprecated alias of `{}`, accepted until the next release."
WEB_PAGE = Path(__file__).parent / "web"  # the search page: plain HTML, CSS and JS, no build step
MAX_ARTICLES_PER_REQUEST = 1000
MAX_URLS_PER_REQUEST = 100  # each may be a feed of dozens of pages, fetched one after another
Sort = Literal[SORTS]


class AskRequest(BaseModel):
    """A question and its options. The old names q, k and source are still read (deprecated)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description=QUESTION_DOC,
                          validation_alias=AliasChoices("question", "q"))
    top_k: int = Field(DEFAULT_TOP_K, ge=MIN_TOP_K, le=MAX_TOP_K, description=TOP_K_DOC,
                       validation_alias=AliasChoices("top_k", "k"))
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description=OFFSET_DOC)
    sort: Sort = Field(SORTS[0], description=SORT_DOC)
    date_from: str | None = Field(None, max_length=100, description=DATE_FROM_DOC)
    date_to: str | None = Field(None, max_length=100, description=DATE_TO_DOC)
    sources: list[str] = Field(default_factory=list, description=SOURCES_DOC,
                               validation_alias=AliasChoices("sources", "source"))
    _renamed: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _note_old_names(cls, data, handler):
        request = handler(data)
        if isinstance(data, dict):
            request._renamed = {old: new for old, new in RENAMED_PARAMETERS.items() if old in data}
        return request

    @property
    def renamed(self) -> dict[str, str]:
        """The options given by their old names: {old: new}."""
        return self._renamed


class FetchRequest(BaseModel):
    """Pages and RSS/Atom feeds to fetch; a feed's entries are each fetched as a page."""

    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")]] = Field(
        ..., min_length=1, max_length=MAX_URLS_PER_REQUEST, description="http:// or https:// addresses.")


class ErrorBody(BaseModel):
    """Every error's body: one sentence saying what is wrong and, where it helps, what is valid."""

    detail: str = Field(description="What went wrong, e.g. 'top_k: Input should be less than or equal to 50'.")


# What each status code means, as the OpenAPI document lists it for the routes that return it.
ERRORS = {
    400: "The Host header names a host this server does not serve, or the body is not UTF-8.",
    401: "The X-API-Key header is missing or wrong.",
    403: "This server takes no writes: it was started without an API key.",
    404: "No article with that id.",
    413: "The request body is larger than max_body_bytes.",
    415: "The body is not JSON (send Content-Type: application/json).",
    422: "A parameter or the body is not valid (an unknown source names the valid ones).",
    503: "The index is missing, damaged or busy, or the server is busy (then with Retry-After) or stopping.",
}


def errors(*codes: int) -> dict:
    """The `responses` of a route that can answer these error codes (and 400 and 503, as every
    route can: the host check, and an index that is missing or busy). Written out as JSON, also
    for a route whose own answers are text (/metrics)."""
    return {code: {"description": ERRORS[code],
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            for code in sorted({400, 503, *codes})}


# /ask's answer to options given by their old names (`_say_renamed`), as the OpenAPI document shows it.
RENAMED_HEADERS = {200: {"headers": {
    "Deprecation": {"description": "`true` when an option came by its old name (q, k, source).",
                    "schema": {"type": "string"}},
    "Warning": {"description": "Which old names were used and their new names.", "schema": {"type": "string"}},
}}}


class Health(BaseModel):
    status: str
    model: str
    dimension: int
    articles: int
    passages: int
    generation: int
    built_at: str
    backend: str
    index_dir: str = Field(description="The index directory's name (no server paths in responses).")
    embedding: dict = Field(description="How the embedding model runs on this CPU and why.")
    reader: str = Field(description="What finds the short answer: 'trained' or 'rules'.")
    answer_reader: dict | None = Field(
        None, description="With the trained reader: its layers, how it runs on this worker's cores and why, and the "
        "windows it reads a question within reader_budget_ms (null: no limit).")
    corpus: Corpus
    process: int = Field(description="The worker process that answered (qa serve --workers).")


class ArticleIn(BaseModel):
    """An article to index: the fields of a JSONL line."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, description="The article text (menus and adverts are cleaned away).")
    id: str | None = Field(
        None, min_length=1, max_length=MAX_ID_CHARS,
        description="Stable id; sending the same id with new content replaces the article. "
        "Default: derived from the text.",
    )
    title: str | None = Field(None, max_length=1000)
    source: str | None = Field(None, max_length=200, description="Publisher, e.g. kumparan.")
    date: str | None = Field(
        None, max_length=100, description="Publication date: 2024-11-15, 15/11/2024 or 15 November 2024."
    )
    url: str | None = Field(None, max_length=2000)
    author: str | None = Field(None, max_length=500, description="Who wrote it (several: comma-separated).")

    _valid_unicode = field_validator("*", mode="before")(valid_unicode)  # JSON's lone "\\ud800", as in files


class ArticlePage(BaseModel):
    total: int
    offset: int
    limit: int
    articles: list[ArticleInfo]


@dataclass
class ArticleText(ArticleInfo):
    text: str


GET_PARAMETERS = ("date_from", "date_to", "offset", "question", "sort", "sources", "top_k")
RENAMED_PARAMETERS = {"q": "question", "k": "top_k", "source": "sources"}  # old names, kept for one release
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's api_key setting.")


async def get_engine(request: Request) -> Engine:
    # async: FastAPI runs a plain function dependency in its thread pool, a hop that every
    # request (a health check too) would make for a lookup that needs no thread
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _say_renamed(response: Response, used: dict[str, str]) -> None:
    """Options that came by their old names: the answer says so in its headers (`Deprecation`,
    RFC 9745, and a `Warning` a person can read); the body stays as it was."""
    if used:
        response.headers["Deprecation"] = "true"
        response.headers["Warning"] = f'299 - "{renamed_note(used)}"'


def _check_key(settings: Settings, given: str | None) -> None:
    if not settings.has_api_key:
        raise WritesDisabledError("this server takes no writes: it has no API key (set QA_API_KEY)")
    expected = settings.api_key.get_secret_value().encode()
    if given is None or not secrets.compare_digest(_header_bytes(given), expected):
        raise AccessDeniedError("missing or wrong API key (send it in the X-API-Key header)")


def _header_bytes(value: str) -> bytes:
    """The bytes a client sent in a header: the server decodes them as Latin-1, so a key typed
    in UTF-8 ("kunci-é") is compared as the UTF-8 bytes it was sent as."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # not from the wire (a test client's str): its UTF-8 bytes
        return value.encode("utf-8", "surrogateescape")


def writer(engine: EngineDep, key: Annotated[str | None, Security(_api_key)]) -> None:
    _check_key(engine.settings, key)


def reader(engine: EngineDep, key: Annotated[str | None, Security(_api_key)]) -> None:
    """The key check of reads, on the routes only when the server protects reads."""
    _check_key(engine.settings, key)


_SHAPES = {"ArticleIn": "object", "list[ArticleIn]": "list"}  # the two shapes of a POST /articles body


def _readable(exc: RequestValidationError) -> str:
    """One line naming each field that is wrong. For a body that may be one article or a list,
    only the errors of the shape that was sent are shown."""
    errors = exc.errors()
    sent = "list" if isinstance(exc.body, list) else "object"
    shaped = [e for e in errors if len(e["loc"]) > 1 and e["loc"][0] == "body" and e["loc"][1] in _SHAPES]
    if shaped:
        errors = [e for e in shaped if _SHAPES[e["loc"][1]] == sent] or shaped
    parts = []
    for error in errors:
        if error["type"] == "json_invalid":
            parts.append(f"request body is not valid JSON ({error['ctx']['error']} at character {error['loc'][-1]})")
            continue
        where = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path") and p not in _SHAPES)
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    """Answer a request before the app sees it, in the app's error format."""
    await JSONResponse(status_code=status, content={"detail": detail})(scope, receive, send)


class BodyCheck:
    """Checks a request body before the app reads it: over `max_bytes` gets 413 (bodies sent
    without Content-Length are counted as they arrive), a body that is not JSON by its
    Content-Type gets 415, and JSON that is not UTF-8 gets 400."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await refuse(scope, receive, send, 413, self._too_large)
        received, more = bytearray(), True  # (appending to bytes would copy it all per chunk)
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            received += message.get("body", b"")
            more = message.get("more_body", False)
            if len(received) > self.max_bytes:
                return await refuse(scope, receive, send, 413, self._too_large)
        body = bytes(received)
        if body:
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind != b"application/json" and not kind.endswith(b"+json"):
                return await refuse(scope, receive, send, 415, "send the body as JSON, with "
                                    "Content-Type: application/json")
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return await refuse(scope, receive, send, 400, f"request body is not UTF-8 (byte {exc.start})")
            if self._too_deep(body):
                return await refuse(scope, receive, send, 422, "request body is not valid JSON we can read: "
                                    "it is nested too deeply (keep it under 1,000 levels)")
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _too_deep(body: bytes) -> bool:
        """JSON nested past Python's recursion limit, which FastAPI reports only as "There was
        an error parsing the body". Counting brackets is cheap; the parse happens only where
        there are enough of them to nest that deep."""
        if body.count(b"[") + body.count(b"{") < 900:
            return False
        try:
            json.loads(body)
        except RecursionError:
            return True
        except ValueError:
            return False  # not JSON at all: FastAPI says so in its own words
        return False

    @property
    def _too_large(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes; send fewer articles per request"


def _host_name(header: str) -> str:
    """The name in a Host header, without port, brackets or a final dot: `[::1]:8000` is `::1`."""
    if header.startswith("["):
        header = header[1:header.find("]")]
    elif header.count(":") == 1:
        header = header.rsplit(":", 1)[0]
    return header.rstrip(".").lower()


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostCheck:
    """Stops DNS rebinding: a web page elsewhere that makes its own name resolve to 127.0.0.1
    gets a visitor's browser to send this server requests naming that page's host. So a request
    that reached a loopback address must name a loopback host; with `allowed` set, every request
    must name a loopback host or one of `allowed` ('*.example.org' for subdomains, '*' any)."""

    def __init__(self, app: ASGIApp, allowed: list[str]):
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        named = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        host = _host_name(named)
        if host and not self._passes(host, (scope.get("server") or ("",))[0]):
            return await refuse(scope, receive, send, 400, f"host {named[:100]!r} is not served here (a guard "
                                "against DNS rebinding); the operator can allow it with QA_ALLOWED_HOSTS")
        await self.app(scope, receive, send)

    def _passes(self, host: str, address: str) -> bool:
        if _is_loopback(host) or "*" in self.allowed or host in self.allowed:
            return True
        if any(p.startswith("*.") and host.endswith(p[1:]) for p in self.allowed):
            return True
        return not self.allowed and not _is_loopback(address)


class SecurityHeaders:
    """Headers that keep the page's own scripts the only ones it runs, in no one else's frame,
    and browsers from guessing content types. Swagger UI (/docs, /redoc) loads its scripts from
    elsewhere, so it gets only the last."""

    PAGE = [
        (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                     b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                     b"frame-ancestors 'none'"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    ALWAYS = [(b"x-content-type-options", b"nosniff")]
    OUTSIDE = ("/docs", "/redoc")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = self.ALWAYS + ([] if scope["path"].startswith(self.OUTSIDE) else self.PAGE)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _with_error_body(schema: dict) -> dict:
    """The OpenAPI document with ErrorBody among its schemas, where every error response points."""
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
    return schema


# An absolute path in a message (the index store's, say) tells a client about the server's disk;
# responses name the last part only.
_ABSOLUTE_PATH = re.compile(r"(?<=[\s'\"`(])/(?:[^\s'\"`():;,]+/)*([^\s'\"`():;,/]+)")


class StopWork:
    """Stops a write between embedding batches, nothing stored (the engine's progress callback
    is where it looks): when its client has disconnected, when it has run `seconds`, or when
    the server is stopping. Without it a client that gave up would keep both cores busy."""

    def __init__(self, seconds: float, stopping: threading.Event):
        self.seconds, self.stopping = seconds, stopping
        self.deadline = time.monotonic() + seconds
        self.left, self.cancelled = threading.Event(), threading.Event()

    def check(self, done: int = 0, total: int = 0) -> None:
        if self.cancelled.is_set() or self.stopping.is_set():
            problem = "the server is stopping; nothing was stored: send the articles again"
        elif self.left.is_set():
            problem = "the client disconnected; nothing was stored"
        elif time.monotonic() > self.deadline:
            problem = (f"adding these articles took longer than {self.seconds:g} s (write_timeout); nothing was "
                       "stored: send fewer articles per request")
        else:
            return
        log.warning("POST /articles stopped after %d of %d passages: %s", done, total, problem)
        raise WorkStoppedError(problem)

    async def when_disconnected(self, request: Request) -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(0.25)
        self.left.set()


def _log_access_lines() -> None:
    """Access lines go to stderr as they are (each carries its own time), unless the
    application that runs the app (`qa serve`'s CLI, or another) has set up logging itself:
    then they go where it says, once."""
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)
    if not access_log.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)


def without_paths(message: str) -> str:
    return _ABSOLUTE_PATH.sub(r"\1", message)


def serving_engine(settings: Settings) -> Engine:
    """The engine a server runs: loaded, and (setting `write_process`) embedding the articles
    of writes in a lower-priority process of its own, started now if the server takes writes."""
    engine = Engine(settings).load()
    if settings.write_process:
        writes = EmbeddingProcess(settings, engine.embedder.dimension)
        if settings.has_api_key:
            writes.start()
        engine.passage_embedder = writes
    return engine


def create_app(engine: Engine | None = None, settings: Settings | None = None,
               read_queue: ReadQueue | None = None) -> FastAPI:
    """The app; it builds its Engine at start-up (loading or building the index) unless given one.
    `read_queue`: the queue of reads that the workers of `qa serve` share."""
    settings = engine.settings if engine else (settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.stopping.clear()  # (an app object may be started again, as tests do)
        if app.state.engine is None:  # the index and models now, not at the first request
            app.state.engine = await run_in_threadpool(serving_engine, settings)
        if read_queue is not None:
            read_queue.start(app)
        yield
        app.state.stopping.set()  # writes still running stop at their next batch
        if read_queue is not None:  # (reads handed on by workers still stopping are taken till then)
            await read_queue.stop(settings.shutdown_timeout)
        metrics.close()

    app = FastAPIOffline(  # FastAPI whose /docs and /redoc load Swagger UI and ReDoc from the package, not a CDN
        title="Tanya Berita: question answering over Indonesian news",
        description="Ask in Indonesian or English; get ranked articles with the passages that answer, their "
        "source and date, and the words that answer. Add and remove articles while it runs (writes need the "
        "API key). Errors are `{\"detail\": \"<sentence>\"}`.",
        version="0.3.0",
        lifespan=lifespan,
        openapi_tags=[
            {"name": "search", "description": "Questions and their answers."},
            {"name": "corpus", "description": "What the index holds."},
            {"name": "articles", "description": "Read, add and remove articles."},
            {"name": "operations", "description": "Health and metrics for operators."},
        ],
        generate_unique_id_function=lambda route: route.name,  # operationIds as the functions are named
        separate_input_output_schemas=False,
    )
    app.openapi = lambda: _with_error_body(FastAPI.openapi(app))
    app.state.engine = engine
    app.state.stopping = threading.Event()
    metrics = Metrics(lambda: app.state.engine.index_facts())
    # the last added runs first: every request is logged and counted, even one refused early
    app.add_middleware(BodyCheck, max_bytes=settings.max_body_bytes)
    app.add_middleware(Admission, metrics=metrics,
                       concurrent=settings.max_concurrent_requests or usable_cores(),
                       waiting=settings.max_waiting_requests, timeout=settings.queue_timeout, queue=read_queue)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Content-Type", REQUEST_ID_HEADER.decode()],
                           expose_headers=[REQUEST_ID_HEADER.decode(), "Retry-After"], max_age=600)
    app.add_middleware(Observed, metrics=metrics, log_format=settings.access_log, log_questions=settings.log_questions)
    _log_access_lines()

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError):
        return JSONResponse(status_code=exc.http_status, content={"detail": without_paths(str(exc))})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _readable(exc)})

    # Reads need the key only where the server protects them: the OpenAPI document says so only then.
    read_guard = [Depends(reader)] if settings.protect_reads else []
    read_errors = (401,) if settings.protect_reads else ()

    @app.get("/ask", response_model=Answer, summary="Ask a question (query string)", tags=["search"],
             dependencies=read_guard, responses={**RENAMED_HEADERS, **errors(422, *read_errors)})
    def ask(
        request: Request,
        response: Response,
        engine: EngineDep,
        question: Annotated[str | None, Param(min_length=1, max_length=MAX_QUESTION_CHARS,
                                              description=QUESTION_DOC + " Required.")] = None,
        top_k: Annotated[int, Param(ge=MIN_TOP_K, le=MAX_TOP_K, description=TOP_K_DOC)] = DEFAULT_TOP_K,
        offset: Annotated[int, Param(ge=0, le=MAX_OFFSET, description=OFFSET_DOC)] = 0,
        sort: Annotated[Sort, Param(description=SORT_DOC)] = SORTS[0],
        date_from: Annotated[str | None, Param(max_length=100, description=DATE_FROM_DOC)] = None,
        date_to: Annotated[str | None, Param(max_length=100, description=DATE_TO_DOC)] = None,
        sources: Annotated[list[str], Param(description=SOURCES_DOC)] = [],
        q: Annotated[str | None, Param(max_length=MAX_QUESTION_CHARS, deprecated=True,
                                       description=DEPRECATED_DOC.format("question"))] = None,
        k: Annotated[int | None, Param(ge=MIN_TOP_K, le=MAX_TOP_K, deprecated=True,
                                       description=DEPRECATED_DOC.format("top_k"))] = None,
        source: Annotated[list[str], Param(deprecated=True, description=DEPRECATED_DOC.format("sources"))] = [],
    ):
        unknown = sorted(set(request.query_params) - {*GET_PARAMETERS, *RENAMED_PARAMETERS})
        if unknown:
            raise InvalidInputError(f"unknown parameter(s): {', '.join(unknown)}; allowed: {', '.join(GET_PARAMETERS)} "
                                    f"(and the deprecated {', '.join(RENAMED_PARAMETERS)})")
        if question is None and q is None:
            raise InvalidInputError("question: Field required (ask with ?question=...)")
        top_k = k if k is not None and "top_k" not in request.query_params else top_k
        _say_renamed(response, {old: new for old, new in RENAMED_PARAMETERS.items() if old in request.query_params})
        return engine.ask(question or q, top_k, date_from, date_to, sources + source,
                          offset=offset, sort=sort).to_dict()

    @app.post("/ask", response_model=Answer, summary="Ask a question (JSON body)", tags=["search"],
              dependencies=read_guard, responses={**RENAMED_HEADERS, **errors(413, 415, 422, *read_errors)})
    def ask_with_body(body: AskRequest, response: Response, engine: EngineDep):
        _say_renamed(response, body.renamed)
        return engine.ask(body.question, body.top_k, body.date_from, body.date_to, body.sources,
                          offset=body.offset, sort=body.sort).to_dict()

    @app.post("/articles", response_model=UpdateReport, status_code=201, tags=["articles"],
              summary="Add or replace articles (one or a list)", dependencies=[Depends(writer)],
              responses=errors(401, 403, 413, 415, 422))
    async def add_articles(body: ArticleIn | Annotated[list[ArticleIn], Field(max_length=MAX_ARTICLES_PER_REQUEST)],
                           request: Request, engine: EngineDep):
        records = [a.model_dump(exclude_none=True) for a in (body if isinstance(body, list) else [body])]

        def read_and_add(records: list[dict], check):  # reading a large batch is part of the stoppable work
            return engine.add(read_records(records), check)

        return await _stoppable_write(request, engine, read_and_add, records)

    @app.post("/articles/fetch", response_model=UpdateReport, status_code=201, tags=["articles"],
              summary="Fetch pages and feeds by URL and add their articles", dependencies=[Depends(writer)],
              responses=errors(401, 403, 413, 415, 422))
    async def fetch_articles(body: FetchRequest, request: Request, engine: EngineDep):
        """Off unless the server sets QA_FETCH_OVER_HTTP=true (403 otherwise). Private, loopback
        and link-local addresses are refused unless QA_FETCH_PRIVATE_ADDRESSES=true. What could
        not be fetched is listed in `skipped`; the rest is added."""
        if not engine.settings.fetch_over_http:
            raise FetchRefusedError("this server fetches no URLs for its callers (set QA_FETCH_OVER_HTTP=true)")
        return await _stoppable_write(request, engine, engine.add_paths, body.urls)

    async def _stoppable_write(request: Request, engine: Engine, write, what):
        """`write(what, check)` in a worker thread, stopped between batches when the client
        leaves, the write runs past its time limit or the server stops."""
        stop = StopWork(engine.settings.write_timeout, app.state.stopping)
        watcher = asyncio.create_task(stop.when_disconnected(request))
        try:
            return await run_in_threadpool(write, what, stop.check)
        except asyncio.CancelledError:  # uvicorn's shutdown limit passed: the thread stops at its next batch
            stop.cancelled.set()  # (and the client hears why, instead of the log getting a traceback)
            raise WorkStoppedError("the server is stopping; nothing was stored: send the articles again") from None
        finally:
            stop.left.set()
            watcher.cancel()

    @app.delete("/articles/{article_id:path}", response_model=UpdateReport, summary="Remove an article",
                tags=["articles"], dependencies=[Depends(writer)], responses=errors(401, 403, 404, 422))
    def remove_article(article_id: str, engine: EngineDep):
        report = engine.remove([article_id])
        if not report.removed:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        return report

    @app.get("/articles", response_model=ArticlePage, summary="List indexed articles (paged, by id)",
             tags=["articles"], dependencies=read_guard, responses=errors(422, *read_errors))
    def list_articles(
        engine: EngineDep,
        offset: Annotated[int, Param(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Param(ge=1, le=MAX_PAGE)] = 50,
    ):
        total, articles = engine.articles(offset, limit)
        return ArticlePage(total=total, offset=offset, limit=limit, articles=articles)

    @app.get("/articles/{article_id:path}", response_model=ArticleText, summary="One article with its text",
             tags=["articles"], dependencies=read_guard, responses=errors(404, 422, *read_errors))
    def get_article(article_id: str, engine: EngineDep):
        info, text = engine.article(article_id)
        return ArticleText(**vars(info), text=text)

    @app.get("/corpus", response_model=Corpus, summary="What the index holds: publishers, dates, counts",
             tags=["corpus"], dependencies=read_guard, responses=errors(*read_errors))
    def corpus(engine: EngineDep):
        return engine.corpus()

    @app.get("/facets", response_model=Facets, summary="Publishers and publication dates (use /corpus)",
             tags=["corpus"], dependencies=read_guard, responses=errors(*read_errors), deprecated=True)
    def facets(engine: EngineDep):
        return engine.facets()

    @app.get("/", include_in_schema=False)
    def search_page():
        return FileResponse(WEB_PAGE / "index.html")

    @app.get("/article", include_in_schema=False)
    def article_page():
        return FileResponse(WEB_PAGE / "article.html")

    app.mount("/static", StaticFiles(directory=WEB_PAGE), name="static")

    @app.get("/health", response_model=Health, summary="Model and index facts", tags=["operations"],
             responses=errors())
    def health(engine: EngineDep):
        return {**engine.health(), "process": os.getpid()}  # which worker answered (qa serve --workers)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse, tags=["operations"],
             responses=errors())
    def prometheus_metrics():
        return PlainTextResponse(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app

