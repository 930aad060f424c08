"""Sphinx configuration of the skae documentation.

Build (offline; warnings are errors, and every cross-reference must resolve)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Links to scikit-learn, PyTorch, skorch, NumPy, pandas, matplotlib and Python go
through intersphinx, read from the small ``objects.inv`` files committed in
``docs/_intersphinx/`` (no network at build time). ``make_inventories.py`` in that
folder regenerates them from what the pages reference; it also explains where each
project's URL pattern comes from. ``SKAE_DOCS_INTERSPHINX=online`` uses the projects'
published inventories instead (needs a network), to check that every link resolves
against the real sites as well.
"""

import importlib
import inspect
import json
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_intersphinx"))

import skae  # noqa: E402, I001 (after the sys.path lines above)
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from make_inventories import PROJECTS  # noqa: E402

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
    "myst_parser",  # only to include benchmarks/README.md as a page
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_intersphinx", "requirements.txt"]
templates_path = ["_templates"]

# Every reference must resolve: a broken link is a warning, hence an error under -W.
nitpicky = True

autosummary_generate = True
autodoc_default_options = {"members": True}
# Types are in the numpydoc Parameters sections; annotations would repeat them.
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Parameter types link to their classes: numpydoc's aliases (ndarray, array-like,
# RandomState, int, str, None...) plus every dotted name of a documented project that
# appears in skae's sources (torch.optim.Optimizer, skorch.NeuralNet, ...). Other
# words of a type ("of shape", "fitted estimator") stay plain text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
_MODULES = ["skae", *(m for p in PROJECTS.values() for m in p.modules)]
_DOTTED = re.compile(r"\b(?:" + "|".join(_MODULES) + r")(?:\.[A-Za-z_]\w*)+")
numpydoc_xref_aliases = {
    "DataFrame": "pandas.DataFrame",
    "Tensor": "torch.Tensor",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
}
for _source in sorted((ROOT / "skae").glob("**/*.py")):
    for _name in _DOTTED.findall(_source.read_text()):
        numpydoc_xref_aliases[_name] = f":obj:`{_name}`"

# numpydoc checks on every documented docstring (see the issue: sections must be
# valid). Names of sklearn's generated metadata-routing methods are exempt: their
# docstrings come from scikit-learn.
numpydoc_validation_checks = {
    "GL06",  # unknown section
    "GL07",  # sections in the wrong order
    "GL08",  # no docstring
    "PR01",  # a parameter is not documented
    "PR02",  # a documented parameter does not exist
    "PR03",  # parameters documented in the wrong order
    "PR04",  # a parameter has no type
    "PR10",  # missing space before the colon of a parameter
    "SA04",  # a See Also entry has no description
    "SS01",  # no summary line
}
numpydoc_validation_exclude = {r"\.set_\w+_request$", r"\.__init__$"}

# --- the gallery: examples/ run and rendered with their output ----------------------
# Every example runs during the build (on scikit-learn's digits, in seconds) and its
# printed output and figures appear on its page; an example that fails fails the
# build. grid_search_dask.py needs dask.distributed (not a skae dependency) and starts
# worker processes: it is shown without being run, as its text says.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(?!grid_search_dask)[^/]+\.py$",
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 0,
    "show_memory": False,
}
# The examples run in this process, on one thread: torch's (as ``n_threads=1`` in the
# estimators, which scaling.rst recommends when other work shares the cores) and
# those of the BLAS and OpenMP libraries under NumPy and scikit-learn.
torch.set_num_threads(1)
threadpool_limits(1)

myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

# --- intersphinx from committed inventories --------------------------------------------
INTERSPHINX_DIR = DOCS / "_intersphinx"
_mode = os.environ.get("SKAE_DOCS_INTERSPHINX", "local")
if _mode == "online":
    intersphinx_mapping = {name: (p.url, None) for name, p in PROJECTS.items()}
else:
    intersphinx_mapping = {
        name: (p.url, str(INTERSPHINX_DIR / f"{name}.inv"))
        for name, p in PROJECTS.items()
        if (INTERSPHINX_DIR / f"{name}.inv").is_file()
    }
intersphinx_timeout = 10
# make_inventories.py builds the docs with no inventory and records every reference
# that nothing resolves (see _record_missing below)
_COLLECT = os.environ.get("SKAE_DOCS_COLLECT_REFS")
if _COLLECT:
    intersphinx_mapping = {}

# --- generated pages: API list, benchmark page, figures ------------------------------
# Pages that depend on what exists in the tree are written at build time into
# docs/_autogen/, so estimators, modules, benchmark sections and result figures that
# land later appear without editing the docs.
AUTOGEN = DOCS / "_autogen"
AUTOGEN.mkdir(exist_ok=True)

#: public subpackages and modules, documented when importable
SUBMODULES = ["skae.optim", "skae.priors", "skae.datasets", "skae.study", "skae.plotting"]


def _write(name, text):
    path = AUTOGEN / name
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _autosummary(names, module=None):
    lines = []
    if module:
        lines += [f".. currentmodule:: {module}", ""]
    lines += [".. autosummary::", "   :toctree: generated", ""]
    lines += [f"   {n}" for n in names]
    return [*lines, ""]


def _section(title, char="-"):
    return [title, char * len(title), ""]


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and getattr(obj, "__module__", "").startswith(module.__name__)
            and (inspect.isclass(obj) or inspect.isfunction(obj))
        ]
    return sorted(n for n in names if not n.startswith("_"))


def _api_page():
    lines = _section("API reference", "=")
    lines += [
        "Generated from the docstrings of the public names in ``skae.__all__`` and in",
        "skae's public submodules.",
        "",
    ]
    names = _public_names(skae)
    classes = [n for n in names if inspect.isclass(getattr(skae, n))]
    functions = [n for n in names if callable(getattr(skae, n)) and n not in classes]
    lines += _section("Estimators and classes") + _autosummary(classes, "skae")
    if functions:
        lines += _section("Functions") + _autosummary(functions, "skae")
    for modname in SUBMODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            continue
        summary = (inspect.getdoc(module) or "").split("\n\n")[0]
        lines += _section(f"``{modname}``")
        lines += [f".. module:: {modname}", ""]
        lines += [summary, ""] if summary else []
        names = _public_names(module)
        lines += _autosummary(names, modname) if names else []
    _write("api.rst", "\n".join(lines))


def _benchmarks_page():
    readme = ROOT / "benchmarks" / "README.md"
    if readme.is_file():
        text = _relink_markdown(readme.read_text(), "../../benchmarks/")
    else:
        text = (
            "# Benchmarks\n\n"
            "`benchmarks/README.md` has not been assembled in this checkout yet; this "
            "page shows it once it exists.\n"
        )
    _write("benchmarks.md", text)


_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _relink_markdown(text, prefix):
    """Point the README's relative links and images at the files beside it.

    The page lives in ``docs/_autogen/``, so relative targets get ``prefix``. Images
    show; other files (scripts, result tables, CSVs) become downloads, since MyST would
    read a link to a ``.md`` file as a link to a page of this site.
    """

    def fix(match):
        bang, label, target = match.groups()
        if re.match(r"^([a-z]+:|#|/)", target):
            return match.group(0)
        if not bang and target.split("#")[0].endswith((".md", ".rst")):
            return f"{{download}}`{label} <{prefix}{target.split('#')[0]}>`"
        return f"{bang}[{label}]({prefix}{target})"

    return _MD_LINK.sub(fix, text)


def _figures_page():
    results = ROOT / "benchmarks" / "results"
    pngs = sorted(results.glob("**/*.png")) if results.is_dir() else []
    # --quick smoke runs (``*_quick.png``) and scratch output are not results
    pngs = [p for p in pngs if not p.stem.endswith("_quick") and "_scratch" not in p.parts]
    lines = _section("Benchmark figures", "=")
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
            *_section(title),
            f".. figure:: /../{rel}",
            "   :width: 90%",
            "",
            f"   ``{rel}``",
        ]
    _write("figures.rst", "\n".join(lines) + "\n")


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


_missing = set()


def _record_missing(app, env, node, contnode):
    """In collection mode, note each reference that nothing resolved."""
    domain = node.get("refdomain") or "std"
    _missing.add((domain, node.get("reftype"), node.get("reftarget")))
    return None


def _dump_missing(app, exception):
    if exception is None:
        Path(_COLLECT).write_text(json.dumps(sorted(_missing), indent=0))


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_names, priority=600)
    if _COLLECT:
        app.connect("missing-reference", _record_missing, priority=900)
        app.connect("build-finished", _dump_missing)
