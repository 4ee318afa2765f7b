"""The fault battery's figures in pytest's terminal summary (issue 14).

Loaded by the tests/test_faults_*.py modules through ``pytest_plugins``; they put their
figures into :data:`FIGURES` (``section -> {name: value}``) and the summary prints them
whether or not ``-s`` was given, so ``make test`` shows them.
"""

from __future__ import annotations

FIGURES: dict[str, dict[str, object]] = {}


def record(section: str, **figures: object) -> None:
    FIGURES.setdefault(section, {}).update(figures)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if not FIGURES:
        return
    terminalreporter.section("fault battery (issue 14)")
    for section, figures in FIGURES.items():
        line = ", ".join(f"{k}={v}" for k, v in figures.items())
        terminalreporter.write_line(f"{section}: {line}")
