"""The HTTP app for `uvicorn server:app` (settings from QA_* environment variables)."""

from qa.api import create_app

app = create_app()
