"""Run every docstring ``Examples`` section of skae and every ``>>>`` block of the docs."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest
import torch

import skae

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run the examples' tiny networks on one thread.

    They gain little from more, and on a busy machine idle torch threads spin and
    multiply the CPU time several-fold.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def _raise(name):
    raise ImportError(f"cannot import {name}")


def _modules():
    """skae and all its modules and subpackages, private ones included."""
    names = ["skae"]
    for info in pkgutil.walk_packages(skae.__path__, prefix="skae.", onerror=_raise):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)  # every module must import (matplotlib is a test dep)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=False)
    for test in finder.find(module, name, globs={}):
        if test.examples:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


DOCS = Path(__file__).resolve().parents[1] / "docs"
DOC_PAGES = sorted(
    p
    for p in DOCS.glob("**/*.rst")
    if not {"_build", "_autogen", "_templates", "_intersphinx"} & set(p.relative_to(DOCS).parts)
    and ">>>" in p.read_text()
)


def test_doc_pages_found():
    """Guard against a glob that silently finds nothing."""
    assert DOCS / "getting_started.rst" in DOC_PAGES


@pytest.mark.parametrize("page", DOC_PAGES, ids=[p.relative_to(DOCS).as_posix() for p in DOC_PAGES])
def test_doc_page_examples(page):
    """Every ``>>>`` block of the documentation pages runs and prints what it shows."""
    result = doctest.testfile(str(page), module_relative=False, optionflags=OPTIONS, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"
