"""README's chatbot examples, run as they are written, print what README says they print."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLE = re.compile(r"```python\n(?P<code>(?:(?!```).)*?def reply\(.*?)```\s*prints\s*```text\n(?P<printed>.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    return [(m["code"], m["printed"]) for m in EXAMPLE.finditer((ROOT / "README.md").read_text(encoding="utf-8"))]


def test_readme_has_the_http_and_python_examples():
    codes = [code for code, _ in examples()]
    assert len(codes) == 2 and "urllib.request" in codes[0] and "Engine()" in codes[1]


@pytest.mark.parametrize("number", [0, 1], ids=["http", "python"])
def test_example_prints_what_readme_shows(number, settings, server, tmp_path):
    code, printed = examples()[number]
    env = {**os.environ, "QA_INDEX_DIR": str(settings.index_dir), "QA_URL": server}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == printed
