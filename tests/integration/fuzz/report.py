"""The fuzzers' tables at the end of the run. A test hands one over as a user property (so it
also comes back from an xdist worker); this plugin, registered by tests/conftest.py so that
the xdist controller loads it too (it never collects this directory), prints them."""

from __future__ import annotations

import pytest

REPORT_KEY = "fuzz-report"
_tables: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _tables.extend(value for key, value in report.user_properties if key == REPORT_KEY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _tables:
        terminalreporter.section("fuzzing")
        for table in _tables:
            terminalreporter.write_line(table)
