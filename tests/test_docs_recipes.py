"""Every recipe in the docs that quotes a measured figure builds the model that was measured.

A page marks such a code block with an reST comment just above it (invisible in the
rendered docs; README.md uses an HTML comment)::

    .. measured-by: bench_few_labels_default.encoder_classifier

naming a function of a script in ``benchmarks/`` that returns the benchmark's model
for a seed. The test builds the first skae estimator the block constructs and the
benchmark's model for the block's ``random_state`` and compares every parameter,
nested estimators included, so that a recipe and its measurement cannot drift apart.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

import skae
import skae.priors

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]
MARKER = re.compile(r"^\s*(?:\.\.|<!--) measured-by: ([\w.]+)\.(\w+)(?: -->)?\s*$")
ESTIMATORS = {name: getattr(skae, name) for name in skae.__all__}


def _code_after(lines: list[str], start: int) -> str:
    """The code block that follows line ``start``: a fenced Markdown block, or an
    indented reST literal block (after ``::`` or ``.. code-block::``)."""
    for begin in range(start + 1, len(lines)):
        if lines[begin].startswith("```"):
            end = next(i for i in range(begin + 1, len(lines)) if lines[i].startswith("```"))
            return "\n".join(lines[begin + 1 : end])
        if lines[begin].rstrip().endswith("::"):
            break
    # The block is indented past the line that opens it (which may itself be indented,
    # inside a definition list) and ends at the first line that is not.
    opening = len(lines[begin]) - len(lines[begin].lstrip())
    block = []
    for line in lines[begin + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= opening:
            break
        if not line.strip().startswith(":"):  # a code-block option
            block.append(line)
    indent = min(len(line) - len(line.lstrip()) for line in block if line.strip())
    return "\n".join(line[indent:] for line in block).strip("\n")


def _recipes():
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines):
            match = MARKER.match(line)
            if match:
                yield pytest.param(
                    page,
                    _code_after(lines, number),
                    *match.groups(),
                    id=f"{page.name}:{number + 1}",
                )


def _first_estimator(code: str) -> BaseEstimator:
    """The outermost skae estimator constructed in ``code`` (built, not fitted)."""
    tree = ast.parse(code)
    namespace = {**ESTIMATORS, **vars(skae.priors)}
    # Names the block binds to literals or skae objects before the estimator.
    for node in tree.body:
        if isinstance(node, ast.Assign):
            try:
                value = eval(compile(ast.Expression(node.value), "<doc>", "eval"), namespace)
            except Exception:
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    namespace[target.id] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ESTIMATORS:
                return eval(compile(ast.Expression(node), "<doc>", "eval"), namespace)
    raise AssertionError(f"no skae estimator is built in:\n{code}")


def _comparable(value):
    if isinstance(value, BaseEstimator):
        params = value.get_params(deep=False)
        return type(value).__name__, {k: _comparable(v) for k, v in params.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_comparable(v) for v in value)
    if hasattr(value, "__dict__") and not callable(value):
        return type(value).__name__, {k: _comparable(v) for k, v in vars(value).items()}
    return value


RECIPES = list(_recipes())


def test_the_docs_mark_their_measured_recipes():
    assert RECIPES, "no page marks a recipe with '.. measured-by:'"


@pytest.mark.parametrize(("page", "code", "script", "function"), RECIPES)
def test_recipe_builds_the_measured_model(page, code, script, function, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    module = importlib.import_module(script)
    try:
        documented = _first_estimator(code)
        seed = documented.get_params().get("random_state")
        measured = getattr(module, function)(seed)
    finally:
        sys.modules.pop(script, None)
    assert _comparable(documented) == _comparable(measured), (
        f"{page.name}: the recipe differs from {script}.{function}"
    )
