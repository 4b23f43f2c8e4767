"""The HTTP interface: a thin FastAPI shell over one shared Engine."""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Query as Param, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.config import Settings
from qa.engine import Engine
from qa.errors import InvalidInputError, QAError
from qa.query import DEFAULT_TOP_K, MAX_QUESTION_CHARS, MAX_TOP_K, MIN_TOP_K
from qa.types import Answer

QUESTION_DOC = "The question, in Indonesian or English."
TOP_K_DOC = f"How many passages to return ({MIN_TOP_K}-{MAX_TOP_K})."
SOURCE_DOC = "Only articles from these publishers (case-insensitive); repeat for several."


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description=QUESTION_DOC)
    k: int = Field(DEFAULT_TOP_K, ge=MIN_TOP_K, le=MAX_TOP_K, description=TOP_K_DOC)
    date_from: dt.date | None = Field(None, description="Only articles published on or after this date.")
    date_to: dt.date | None = Field(None, description="Only articles published on or before this date.")
    source: list[str] = Field(default_factory=list, description=SOURCE_DOC)


GET_PARAMETERS = {"q", "k", "date_from", "date_to", "source"}


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _readable(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("body", "query"))
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The app; it builds its Engine at start-up (loading or building the index) unless given one."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = engine or Engine(settings)
        app.state.engine.index  # load (or build) now, not on the first request
        yield

    app = FastAPI(
        title="Tanya Berita: question answering over Indonesian news",
        description="Ask in Indonesian or English; get ranked passages with source, date and the "
        "words that answer.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError):
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _readable(exc)})

    @app.get("/ask", response_model=Answer, summary="Ask a question (query string)")
    def ask_get(
        request: Request,
        engine: EngineDep,
        q: Annotated[str, Param(min_length=1, max_length=MAX_QUESTION_CHARS, description=QUESTION_DOC)],
        k: Annotated[int, Param(ge=MIN_TOP_K, le=MAX_TOP_K, description=TOP_K_DOC)] = DEFAULT_TOP_K,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        source: Annotated[list[str], Param(description=SOURCE_DOC)] = [],
    ):
        unknown = sorted(set(request.query_params) - GET_PARAMETERS)
        if unknown:
            raise InvalidInputError(
                f"unknown parameter(s): {', '.join(unknown)}; allowed: {', '.join(sorted(GET_PARAMETERS))}"
            )
        return engine.ask(q, k, date_from, date_to, source).to_dict()

    @app.post("/ask", response_model=Answer, summary="Ask a question (JSON body)")
    def ask_post(body: AskRequest, engine: EngineDep):
        return engine.ask(body.q, body.k, body.date_from, body.date_to, body.source).to_dict()

    @app.get("/health", summary="Model and index facts")
    def health(engine: EngineDep):
        return engine.health()

    return app
