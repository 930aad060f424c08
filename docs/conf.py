"""Sphinx configuration of the skae documentation.

Build (offline-safe, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Intersphinx links to scikit-learn, PyTorch, skorch, NumPy and pandas need their
``objects.inv`` inventories. They are off by default so the build works without a
network; set ``SKAE_DOCS_INTERSPHINX=1`` to fetch them, or
``SKAE_DOCS_INTERSPHINX=/path/to/dir`` to read ``<dir>/<project>.inv`` files.
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import skae  # noqa: E402

project = "skae"
author = "skae developers"
copyright = "skae developers"
release = skae.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "requirements.txt"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

# --- intersphinx: off unless asked for, so `-W` passes offline -----------------------
_INTERSPHINX = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "pandas": "https://pandas.pydata.org/docs",
    "sklearn": "https://scikit-learn.org/stable",
    "torch": "https://docs.pytorch.org/docs/stable",
    "skorch": "https://skorch.readthedocs.io/en/stable",
}
_setting = os.environ.get("SKAE_DOCS_INTERSPHINX", "")
if _setting in ("1", "true", "yes"):
    intersphinx_mapping = {k: (url, None) for k, url in _INTERSPHINX.items()}
elif _setting and Path(_setting).is_dir():
    intersphinx_mapping = {
        k: (url, str(Path(_setting) / f"{k}.inv"))
        for k, url in _INTERSPHINX.items()
        if (Path(_setting) / f"{k}.inv").is_file()
    }
else:
    intersphinx_mapping = {}
intersphinx_disabled_reftypes = ["*"] if not intersphinx_mapping else []

# --- generated pages: API list, benchmark page, figures ------------------------------
# Pages that depend on what exists in the tree are written at build time into
# docs/_autogen/, so estimators, modules, benchmark sections and result figures that
# land later appear without editing the docs.
AUTOGEN = DOCS / "_autogen"
AUTOGEN.mkdir(exist_ok=True)

#: public submodules documented as modules when they are importable
SUBMODULES = ["skae.optim", "skae.datasets", "skae.plotting", "skae.study"]


def _write(name, text):
    path = AUTOGEN / name
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _api_page():
    import importlib

    names = [n for n in skae.__all__ if not n.startswith("_")]
    lines = [
        "API reference",
        "=============",
        "",
        "Generated from the docstrings of the public names in ``skae.__all__`` and of",
        "skae's public submodules.",
        "",
        "Estimators and classes",
        "----------------------",
        "",
        ".. currentmodule:: skae",
        "",
        ".. autosummary::",
        "   :toctree: generated",
        "",
    ]
    lines += [f"   {n}" for n in names if isinstance(getattr(skae, n), type)]
    functions = [
        n for n in names if callable(getattr(skae, n)) and not isinstance(getattr(skae, n), type)
    ]
    if functions:
        lines += [
            "",
            "Functions",
            "---------",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "",
        ]
        lines += [f"   {n}" for n in functions]
    modules = []
    for mod in SUBMODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            continue
        modules.append(mod)
    if modules:
        lines += [
            "",
            "Modules",
            "-------",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :recursive:",
            "",
        ]
        lines += [f"   {m.removeprefix('skae.')}" for m in modules]
    _write("api.rst", "\n".join(lines) + "\n")


def _benchmarks_page():
    readme = ROOT / "benchmarks" / "README.md"
    if readme.is_file():
        text = (
            "```{include} ../../benchmarks/README.md\n:relative-images:\n:heading-offset: 0\n```\n"
        )
    else:
        text = (
            "# Benchmarks\n\n"
            "`benchmarks/README.md` has not been assembled in this checkout yet; this "
            "page includes it verbatim once it exists.\n"
        )
    _write("benchmarks.md", text)


def _figures_page():
    results = ROOT / "benchmarks" / "results"
    pngs = sorted(results.glob("**/*.png")) if results.is_dir() else []
    lines = ["Benchmark figures", "=================", ""]
    if not pngs:
        lines.append(
            "No figures under ``benchmarks/results/`` in this checkout yet; run the "
            "benchmark scripts (see :doc:`benchmarks`) and rebuild."
        )
    else:
        lines.append(
            "Every PNG that the benchmark scripts wrote under ``benchmarks/results/``, "
            "from real runs (see :doc:`benchmarks` for the commands and tables)."
        )
    for png in pngs:
        rel = png.relative_to(ROOT).as_posix()
        title = png.stem.replace("_", " ")
        lines += [
            "",
            title,
            "-" * len(title),
            "",
            f".. figure:: /../{rel}",
            "   :width: 90%",
            "",
            f"   ``{rel}``",
        ]
    _write("figures.rst", "\n".join(lines) + "\n")


def _pending_pages():
    """Exclude guide pages whose ``.. requires:`` names are not in skae yet."""
    import importlib

    for page in sorted(DOCS.glob("user_guide/*.rst")):
        match = re.search(r"^\.\. requires: (.+)$", page.read_text(), flags=re.MULTILINE)
        if not match:
            continue
        for name in (n.strip() for n in match.group(1).split(",")):
            if hasattr(skae, name):
                continue
            try:
                importlib.import_module(f"skae.{name}")
            except ImportError:
                exclude_patterns.append(page.relative_to(DOCS).as_posix())
                break


_pending_pages()
_api_page()
_benchmarks_page()
_figures_page()


# --- docstring fix-ups ----------------------------------------------------------------
# A bare ``name_`` in reST is a hyperlink reference; numpydoc copies parameter types
# such as ``ndarray of shape (n_samples, n_features_in_)`` into the page verbatim, so
# escape fitted-attribute names inside shape tuples.
_SHAPE_NAME = re.compile(r"(?<=[(, ])([A-Za-z]\w*?)_(?=[),])")


def _escape_shape_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "shape" in line or "(n_" in line:
            lines[i] = _SHAPE_NAME.sub(r"\1\\_", line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_names, priority=600)
