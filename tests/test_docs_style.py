"""The user guide reads as a guide: short pages, no history.

Each page of ``docs/user_guide/`` opens with its recommended use and a measured
number, and stays short (measured tables live in ``benchmarks/README.md``). How the
package got where it is belongs to the changelog, so the pages carry none of the
phrases of a lab notebook: dates, "rerun", "renamed", former defaults, the machine a
figure was measured on, CPU kernel names or issue numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

USER_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
PAGES = sorted(USER_GUIDE.glob("*.rst"))
MAX_LINES = 200

#: history phrases, matched case-insensitively
HISTORY = {
    "a date": r"\b(?:19|20)\d{2}-\d{2}-\d{2}\b",
    "'of the time'": r"\bof the time\b",
    "'rerun'": r"\bre-?run",
    "'renamed'": r"\brenamed\b",
    "'before:'": r"\bbefore:",
    "'earlier default'": r"\bearlier defaults?\b",
    "'this machine'": r"\bthis machine\b",
    "'AVX'": r"avx",
    "'issue N'": r"\bissue\s*#?\d+",
}


def test_pages_found():
    assert USER_GUIDE / "which_estimator.rst" in PAGES
    assert len(PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_is_short(page):
    n_lines = len(page.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{page.name}: {n_lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_has_no_history(page):
    found = [
        f"line {number}: {what} in {line.strip()!r}"
        for number, line in enumerate(page.read_text().splitlines(), start=1)
        for what, pattern in HISTORY.items()
        if re.search(pattern, line, flags=re.IGNORECASE)
    ]
    assert not found, f"{page.name} has history phrases:\n" + "\n".join(found)


@pytest.mark.parametrize("pattern", HISTORY.values())
def test_patterns_catch_what_they_name(pattern):
    examples = [
        "since 2026-11-26",
        "the default of the time",
        "rows were rerun",
        "renamed when",
        "(before: 17.27 %)",
        "the earlier default",
        "on this machine",
        "AVX-512 kernels",
        "issue 15",
    ]
    assert any(re.search(pattern, text, flags=re.IGNORECASE) for text in examples)
