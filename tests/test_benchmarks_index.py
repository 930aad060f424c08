"""``benchmarks/README.md`` is an index, and ``benchmarks/results/`` holds only what it shows.

Every result file is referenced from the docs (``docs/``, ``README.md``) or from the
benchmarks index, and none is empty: a table nobody points at is an archive, and one
the docs do not name cannot be checked against them. The index stays short and holds
no history (dates and CPU kernels belong to its setup sentences only); each of its local
links resolves.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the user guide's list of history phrases (tests are not a package: load it by path)
_spec = importlib.util.spec_from_file_location("_docs_style", ROOT / "tests" / "test_docs_style.py")
_docs_style = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_docs_style)
HISTORY = _docs_style.HISTORY
BENCHMARKS = ROOT / "benchmarks"
INDEX = BENCHMARKS / "README.md"
RESULTS = BENCHMARKS / "results"
MAX_LINES = 400

#: smoke runs, scratch folders, locks and set-aside tables: ignored by git, not results
_NOT_RESULTS = re.compile(r"_quick|/_scratch/|\.lock$|\.previous$")


def _results():
    return [
        p
        for p in sorted(RESULTS.rglob("*"))
        if p.is_file() and not _NOT_RESULTS.search(p.relative_to(ROOT).as_posix())
    ]


def _index_prose():
    """The index's lines outside code blocks, each without its setup sentence."""
    inside = False
    for number, line in enumerate(INDEX.read_text().splitlines(), start=1):
        if line.startswith("```"):
            inside = not inside
        elif not inside:
            yield number, line.split("*Setup:*")[0]


def test_index_is_short():
    n_lines = len(INDEX.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"benchmarks/README.md: {n_lines} lines (at most {MAX_LINES})"


def test_index_has_no_history():
    found = [
        f"line {number}: {what} in {line.strip()[:80]!r}"
        for number, line in _index_prose()
        for what, pattern in HISTORY.items()
        if re.search(pattern, line, flags=re.IGNORECASE)
    ]
    assert not found, "benchmarks/README.md has history phrases:\n" + "\n".join(found)


def test_index_links_resolve():
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", INDEX.read_text())
    missing = [t for t in targets if "://" not in t and not (BENCHMARKS / t).exists()]
    assert not missing, f"benchmarks/README.md links to missing files: {missing}"


def test_every_result_is_referenced_and_not_empty():
    index = INDEX.read_text()
    docs = "\n".join(
        p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]
    )
    assert _results(), "no result files found"
    unreferenced, empty = [], []
    for path in _results():
        in_index = path.relative_to(BENCHMARKS).as_posix()
        in_docs = path.relative_to(ROOT).as_posix()
        if f"({in_index})" not in index and in_docs not in docs:
            unreferenced.append(in_docs)
        if not path.read_bytes().strip():
            empty.append(in_docs)
    assert not unreferenced, "result files referenced nowhere:\n" + "\n".join(unreferenced)
    assert not empty, "empty result files:\n" + "\n".join(empty)


def _expand(path):
    """``a.{csv,md}`` -> ``a.csv``, ``a.md``."""
    match = re.search(r"\{([^}]*)\}", path)
    if not match:
        return [path]
    head, tail = path[: match.start()], path[match.end() :]
    return [p for part in match.group(1).split(",") for p in _expand(head + part + tail)]


def test_docs_name_existing_results():
    """Every ``results/...`` path the docs and README.md name exists (moved files too)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]
    pages = [p for p in pages if "_autogen" not in p.parts and "generated" not in p.parts]
    missing = []
    for page in pages:
        for found in re.findall(r"(?<!\w)(?:benchmarks/)?results/[\w./{},-]+", page.read_text()):
            for path in _expand(found.rstrip(".,")):
                target = BENCHMARKS / path.removeprefix("benchmarks/")
                if not target.exists():
                    missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert not missing, "the docs name missing result files:\n" + "\n".join(missing)
