"""Schema fuzzing of the HTTP API: schemathesis generates requests from the OpenAPI schema,
valid and invalid, for every operation, writes included (with the key). None may get a 5xx,
and every response must be one the schema documents: its status code, its content type and
its body against the schema of that status. A bounded slice runs in CI;
HYPOTHESIS_PROFILE=deep runs many more examples."""

import ast
import importlib
import inspect
from pathlib import Path

import schemathesis
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)
from hypothesis import HealthCheck, settings, strategies
from pydantic import SecretStr

from qa import Settings
from qa.api import create_app

# Hypothesis imports the module behind randoms() only when a case first draws one, deep in a
# stack, and in a fresh environment (no bytecode cached yet) that import compiles its source
# there, where CPython 3.11.7's compile() can fail with "AST constructor recursion depth
# mismatch". Building the strategy here imports it at the surface.
strategies.randoms().validate()


def _parse_lambdas_at_the_surface() -> None:
    """Hypothesis describes a lambda (a filter's, in an event it notes while drawing) by parsing
    its module's whole source, deep in a stack: there CPython 3.11.7's AST constructor can fail
    the same way ("recursion depth mismatch"), as it did in a CI run on schemathesis's
    jsonschema strategies. Parsed here, at the surface, into Hypothesis's cache of them, the
    modules whose lambdas cases draw through are never parsed deep. (Hypothesis internals: if
    they move, this does nothing, and the test runs as before.)"""
    try:
        from hypothesis.internal.lambda_sources import AST_LAMBDAS_CACHE, extract_all_lambdas
    except ImportError:
        return
    package = Path(schemathesis.__file__).parent
    for path in sorted([*package.glob("generation/**/*.py"), *package.glob("specs/openapi/**/*.py")]):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        try:
            module = importlib.import_module(name)
            lines = tuple(inspect.findsource(module)[0])
        except Exception:  # a module that does not import on its own, or has no source: not drawn through
            continue
        if "lambda" in "".join(lines):
            AST_LAMBDAS_CACHE[lines] = extract_all_lambdas(ast.parse("".join(lines)))


_parse_lambdas_at_the_surface()

KEY = "fuzz-key"
APP = create_app(settings=Settings(api_key=KEY, _env_file=None))  # its engine is set per test
# The schema is taken from the app object, as from_asgi would, but without starting the app:
# its start-up would index ./corpus into ./index.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@schema.parametrize()
# derandomize: the same cases in every run. Drawn at random, a run now and then met a
# schemathesis strategy that draws differently when replayed (FlakyStrategyDefinition, whose
# report then failed in CPython 3.11.7's compile() as above): a red CI run for nothing of ours.
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_every_response_is_documented_and_none_is_a_server_error(case, live_engine):
    live_engine.settings.api_key = SecretStr(KEY)
    APP.state.engine = live_engine  # a private copy of the index: the fuzzer adds and removes articles
    response = case.call(headers={"X-API-Key": KEY})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_schema_conformance], headers={"X-API-Key": KEY})
