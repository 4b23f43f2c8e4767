"""The HTTP app for `uvicorn server:app` (settings from QA_* variables and qa.toml)."""

from qa.api import create_app
from qa.errors import QAError

try:
    app = create_app()
except QAError as exc:  # a bad setting: one line, not an import traceback from uvicorn
    raise SystemExit(f"error: {exc}") from None
