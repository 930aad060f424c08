"""The source explains itself: no lab notebook in skae's docstrings and comments.

Measured figures, dates, machines and former defaults go stale the moment the training
loop changes, and nobody notices; they belong in the benchmarks' results, the user
guide and the changelog, which the source may point to.
"""

import re
from pathlib import Path

import pytest

import skae

SOURCE = Path(skae.__file__).parent

#: what a lab notebook leaves in source text
NOTEBOOK_PATTERNS = {
    "a machine": r"\b(AMD|EPYC|Xeon|Intel|AVX2?|H100|H200|A100|[0-9]-core)\b",
    "a date": r"\b20[0-9]{2}-[01][0-9]-[0-3][0-9]\b",
    "a timing": r"\b[0-9]+(\.[0-9]+)? ?s on\b",
    "a speed-up": r"\b[0-9]+\.[0-9]+x\b",
    "a former default": r"was the default|earlier in 0\.|default (was|before)",
    "an issue number": r"\bissue [0-9]+",
}


def _python_files():
    return sorted(SOURCE.rglob("*.py"))


@pytest.mark.parametrize("what", sorted(NOTEBOOK_PATTERNS))
def test_no_lab_notebook_in_the_source(what):
    pattern = re.compile(NOTEBOOK_PATTERNS[what])
    found = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in _python_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"source text holding {what}:\n" + "\n".join(found)
