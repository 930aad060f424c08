"""Run the ``Examples`` sections of skae's public modules' docstrings."""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import skae


def _modules():
    names = ["skae"]
    for info in pkgutil.walk_packages(skae.__path__, prefix="skae."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # optional dependency of one module (e.g. plotting)
        pytest.skip(f"{name} not importable: {exc}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    for test in finder.find(module, name, globs={}):
        if test.examples:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


DOCS = Path(__file__).resolve().parents[1] / "docs"
DOC_PAGES = sorted(
    p
    for p in DOCS.glob("**/*.rst")
    if not {"_build", "_autogen", "_templates"} & set(p.parts) and ">>>" in p.read_text()
)


def _page_requirements_missing(page):
    match = re.search(r"^\.\. requires: (.+)$", page.read_text(), flags=re.MULTILINE)
    missing = []
    for name in match.group(1).split(",") if match else []:
        name = name.strip()
        if hasattr(skae, name):
            continue
        try:
            importlib.import_module(f"skae.{name}")
        except ImportError:
            missing.append(name)
    return missing


@pytest.mark.parametrize("page", DOC_PAGES, ids=[p.relative_to(DOCS).as_posix() for p in DOC_PAGES])
def test_doc_page_examples(page):
    """Every ``>>>`` block of the documentation pages runs and prints what it shows."""
    missing = _page_requirements_missing(page)
    if missing:
        pytest.skip(f"skae has no {', '.join(missing)} yet")
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"
