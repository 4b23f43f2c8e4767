"""Shared fixtures: the real model and a real index of the default corpus, built once per session."""

import shutil
from pathlib import Path

import pytest

from qa import Engine, Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTION = "berapa tenaga kerja IKM 2024?"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings for an index of the default corpus in a temporary folder (model cache: the user's)."""
    return Settings(
        index_dir=tmp_path_factory.mktemp("index"), corpus_dir=tmp_path_factory.mktemp("no-corpus") / "none"
    )


@pytest.fixture(scope="session")
def engine(settings) -> Engine:
    engine = Engine(settings)
    engine.build_index([CORPUS])
    return engine


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
