"""Test configuration for tests/ and the doctests of dynsys/ and phase/."""

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def run_continue(tmp_path, capsys):
    """``run_continue(text)``: write the spec ``text`` into ``tmp_path``, run ``dynsys continue``
    on it into ``tmp_path / "out"``; returns ``(exit code, stdout, stderr, output folder)``."""
    import textwrap

    from dynsys.cli import main

    def run(text: str):
        spec = tmp_path / "spec.toml"
        spec.write_text(textwrap.dedent(text))
        out = tmp_path / "out"
        code = main(["continue", str(spec), "--out", str(out)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err, out

    return run


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Counts of the generated bad-input campaign (tests/test_campaign.py), over every worker."""
    import json
    from collections import Counter
    from pathlib import Path

    if hasattr(config, "workerinput"):
        return
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return
    root = Path(factory.getbasetemp())
    cases = []
    for log in root.rglob("campaign.jsonl"):
        cases += [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not cases:
        return
    by_generator = Counter(case["generator"] for case in cases)
    by_outcome = Counter(case["outcome"] for case in cases)
    terminalreporter.write_sep("-", "bad-input campaign")
    terminalreporter.write_line(
        f"{len(cases)} generated cases: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_generator.items()))
    )
    terminalreporter.write_line(
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(by_outcome.items()))
    )
