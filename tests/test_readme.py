"""The README's Python snippets run, in order, in one namespace, and print what the README says
they print (the ```text block that follows each), so the front page cannot drift from the code."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```\s*(?:```text\n(.*?)```)?", re.DOTALL)


def snippets() -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text())]


def test_readme_has_checked_snippets():
    assert sum(expected is not None for _, expected in snippets()) >= 4


@pytest.mark.slow
def test_readme_snippets_print_what_the_readme_says(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for code, expected in snippets():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 (our own README)
        if expected is not None:
            assert out.getvalue().strip() == expected.strip(), code
