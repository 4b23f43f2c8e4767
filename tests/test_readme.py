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


def ingest_commands() -> list[str]:
    """The `qa add` / `qa ask` lines of README's "What goes in" that need no network."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## What goes in"):text.index("## Ranking")]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()]
    return [line for line in lines if line.startswith(("qa add", "qa ask")) and "://" not in line]


def test_readme_ingest_commands_work_as_pasted(engine, tmp_path):
    import shutil

    commands = ingest_commands()
    assert len(commands) >= 7 and any(".pdf" in c for c in commands) and any(".csv" in c for c in commands)
    shutil.copytree(engine.settings.index_dir, tmp_path / "index")
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "index")}
    for command in commands:
        args = [sys.executable, "-m", "qa", *re.findall(r'"[^"]*"|\S+', command)[1:]]
        ran = subprocess.run([a.strip('"') for a in args], capture_output=True, text=True, timeout=300, env=env,
                             cwd=ROOT)
        assert ran.returncode == 0, (command, ran.stderr)
        if command.startswith("qa ask"):
            assert "\n1. [" in ran.stdout, (command, ran.stdout)
