"""Schema fuzzing of the HTTP API: schemathesis generates requests from the OpenAPI schema,
valid and invalid, for every operation, writes included (with the key); none may get a 5xx.
A bounded slice runs in CI; HYPOTHESIS_PROFILE=deep runs many more examples."""

import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from qa import Settings
from qa.api import create_app

KEY = "fuzz-key"
APP = create_app(settings=Settings(api_key=KEY, _env_file=None))  # its engine is set per test
# The schema is taken from the app object, as from_asgi would, but without starting the app:
# its start-up would index ./corpus into ./index.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, live_engine):
    live_engine.settings.api_key = SecretStr(KEY)
    APP.state.engine = live_engine  # a private copy of the index: the fuzzer adds and removes articles
    response = case.call(headers={"X-API-Key": KEY})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
