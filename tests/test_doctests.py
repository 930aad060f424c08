"""Run every docstring ``Examples`` section of skae and every ``>>>`` block of the docs."""

import doctest
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest
import torch

import skae

from .conftest import missing_data_reason

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

#: ``.. requires: NAME ...`` in a docstring or a page (an reST comment, invisible in
#: the rendered docs): ``datasets`` means the MNIST-like files of the data home, any
#: other name a part of skae
_REQUIRES = re.compile(r"^\s*\.\. requires: (.+)$", flags=re.MULTILINE)


def _marks(text):
    """pytest marks honouring the ``.. requires:`` line of ``text`` (if any)."""
    match = _REQUIRES.search(text or "")
    names = match.group(1).replace(",", " ").split() if match else []
    marks = []
    for name in names:
        if name == "datasets":
            reason = missing_data_reason()
            marks += [
                pytest.mark.datasets,
                pytest.mark.skipif(reason is not None, reason=reason or ""),
            ]
        elif not (hasattr(skae, name) or importlib.util.find_spec(f"skae.{name}")):
            marks.append(pytest.mark.skip(reason=f"needs skae.{name}, which this skae lacks"))
    return marks


def _docstring_tests():
    """One pytest parameter per docstring with examples, marked by its requirements."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    params = {}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # reported by test_module_imports
            continue
        try:
            tests = finder.find(module, name, globs={})
        except ValueError as exc:  # a malformed docstring fails its module, not the run
            params[name] = pytest.param(exc, id=name)
            continue
        for test in tests:
            if test.examples and test.name not in params:
                params[test.name] = pytest.param(test, id=test.name, marks=_marks(test.docstring))
    return list(params.values())


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    importlib.import_module(name)  # every module must import (matplotlib is a test dep)


@pytest.mark.parametrize("test", _docstring_tests())
def test_docstring_examples(test):
    if isinstance(test, Exception):
        raise test
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=False)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {test.name}"


DOCS = Path(__file__).resolve().parents[1] / "docs"
DOC_PAGES = sorted(
    p
    for p in DOCS.glob("**/*.rst")
    if not {"_build", "_autogen", "_templates", "_intersphinx", "auto_examples"}
    & set(p.relative_to(DOCS).parts)
    and ">>>" in p.read_text()
)


def test_doc_pages_found():
    """Guard against a glob that silently finds nothing."""
    assert DOCS / "getting_started.rst" in DOC_PAGES


def test_requires_marker_is_honoured():
    """The data pages and docstrings skip without data, with a reason a user can act on."""
    marks = _marks(".. requires: datasets")
    assert [m.name for m in marks] == ["datasets", "skipif"]
    page = next(p for p in DOC_PAGES if p.name == "datasets.rst")
    assert "datasets" in {m.name for m in _marks(page.read_text())}
    data_docstrings = {
        p.id for p in _docstring_tests() if any(m.name == "datasets" for m in p.marks)
    }
    assert data_docstrings == {
        "skae.datasets._mnist.load_mnist",
        "skae.datasets._mnist.load_fashion_mnist",
        "skae.datasets._mnist.load_kmnist",
        "skae.datasets._split.load_split",
    }
    assert _marks(".. requires: no_such_part")[0].name == "skip"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, id=p.relative_to(DOCS).as_posix(), marks=_marks(p.read_text()))
        for p in DOC_PAGES
    ],
)
def test_doc_page_examples(page):
    """Every ``>>>`` block of the documentation pages runs and prints what it shows."""
    result = doctest.testfile(str(page), module_relative=False, optionflags=OPTIONS, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"
