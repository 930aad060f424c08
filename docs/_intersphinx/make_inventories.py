"""Write the intersphinx inventories of ``docs/_intersphinx/`` (no network needed).

The documentation links to scikit-learn, PyTorch, skorch, NumPy, pandas, matplotlib
and Python through intersphinx, which needs each project's ``objects.inv``. CI has no
network, so the build reads the small inventories in this folder instead: one per
project, holding exactly the objects skae's pages and docstrings refer to, each
pointing at its page on the project's published documentation.

Run from anywhere, after a docstring or page starts referring to a new outside
object (the ``-W`` build fails on the unresolved reference until then)::

    python docs/_intersphinx/make_inventories.py           # rewrite the *.inv files
    python docs/_intersphinx/make_inventories.py --check   # needs a network

The first form builds the docs once with no inventory, collects every reference that
nothing resolved, imports each referred object from the installed package (so a typo
or a name that does not exist is reported, not linked) and writes its address with
the project's URL rules below. ``--check`` downloads the published inventories and
verifies that every address written here is one that the project itself publishes.

Where the URL rules come from (each project's documentation sources):

- Python: ``Doc/library/functions.rst`` documents the built-in functions and most
  built-in classes; ``stdtypes.rst`` the container and text types (``str``, ``list``,
  ``tuple``, ``dict``, ``set``...); ``constants.rst`` ``None``/``True``/``False``;
  ``exceptions.rst`` the exceptions; one ``library/<module>.rst`` page per module.
- NumPy: ``doc/source/reference`` autosummaries write one page per object under
  ``reference/generated/``; the random generators live on ``reference/random/``.
- pandas: ``doc/source/reference`` autosummaries write one page per object and per
  method under ``reference/api/``.
- scikit-learn: ``doc/api_reference.py`` gives every class and function a page under
  ``modules/generated/`` (methods are anchors on their class's page) and every module a
  page under ``api/``.
- PyTorch: autosummaries write ``generated/<name>.html``; hand-written pages hold
  ``torch.Tensor`` (``tensors.md``), ``torch.device``/``torch.dtype``
  (``tensor_attributes.rst``), ``torch.optim.Optimizer`` (``optim.md``, "Base class")
  and the data utilities (``data.md``).
- skorch: one ``automodule`` page per module (``docs/net.rst`` documents
  ``skorch.net``...), so an object's address is ``<module>.html#<module>.<name>``;
  names re-exported at the top (``skorch.NeuralNet``) point at their defining module.
- matplotlib: ``doc/api/axes_api.rst`` and ``figure_api.rst`` autosummaries write
  ``api/_as_gen/<name>.html``.

Glossary terms sit at ``glossary.html#term-<term>`` on every Sphinx site; labels
(``:ref:`` targets) cannot be derived from a name, so the few that are needed are
listed in ``LABELS`` with the source file that defines them.
"""

import argparse
import builtins
import importlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent


@dataclass(frozen=True)
class Project:
    """One documented project: where its docs live and which modules it owns."""

    title: str
    url: str
    modules: tuple = ()


PROJECTS = {
    "python": Project("Python", "https://docs.python.org/3"),
    "numpy": Project("NumPy", "https://numpy.org/doc/stable", ("numpy",)),
    "pandas": Project("pandas", "https://pandas.pydata.org/docs", ("pandas",)),
    "sklearn": Project("scikit-learn", "https://scikit-learn.org/stable", ("sklearn",)),
    "torch": Project("PyTorch", "https://docs.pytorch.org/docs/stable", ("torch",)),
    "skorch": Project("skorch", "https://skorch.readthedocs.io/en/stable", ("skorch",)),
    "matplotlib": Project("Matplotlib", "https://matplotlib.org/stable", ("matplotlib",)),
}

#: ``:ref:`` targets used by the docs (mostly through docstrings inherited from
#: scikit-learn): (project, label) -> (address, section title)
LABELS = {
    # CPython Doc/library/stdtypes.rst: ".. _bltin-boolean-values:" (numpydoc's link for
    # the type "bool")
    ("python", "bltin-boolean-values"): (
        "library/stdtypes.html#bltin-boolean-values",
        "Boolean Type - bool",
    ),
    # scikit-learn doc/metadata_routing.rst: ".. _metadata_routing:"
    ("sklearn", "metadata_routing"): ("metadata_routing.html#metadata-routing", "Metadata Routing"),
    # scikit-learn doc/modules/model_evaluation.rst: ".. _accuracy_score:"
    ("sklearn", "accuracy_score"): (
        "modules/model_evaluation.html#accuracy-score",
        "Accuracy score",
    ),
}

#: glossary terms referred to without a project prefix (from scikit-learn docstrings)
UNPREFIXED_TERMS = {"meta-estimator": "sklearn"}

_PY_CONSTANTS = {"None", "True", "False", "NotImplemented", "Ellipsis"}
_PY_STDTYPES = {
    "str",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
    "bytes",
    "bytearray",
    "range",
    "memoryview",
}
_TORCH_PAGES = {
    "torch.Tensor": "tensors.html",
    "torch.device": "tensor_attributes.html",
    "torch.dtype": "tensor_attributes.html",
    "torch.optim.Optimizer": "optim.html",
    "torch.utils.data.Dataset": "data.html",
    "torch.utils.data.DataLoader": "data.html",
    "torch.utils.data.TensorDataset": "data.html",
}
_TORCH_MODULE_PAGES = {
    "torch": "torch.html",
    "torch.nn": "nn.html",
    "torch.optim": "optim.html",
    "torch.utils.data": "data.html",
}
_NUMPY_PAGES = {
    "numpy.random.RandomState": "reference/random/legacy.html",
    "numpy.random.Generator": "reference/random/generator.html",
    "numpy.random.default_rng": "reference/random/generator.html",
}


# --- find the object a reference names ---------------------------------------------------
def _import(target):
    """Return (object, module name, attribute path) for a dotted name, or None."""
    parts = target.split(".")
    if len(parts) == 1 and hasattr(builtins, target):
        return getattr(builtins, target), "builtins", parts
    for i in range(len(parts), 0, -1):
        modname = ".".join(parts[:i])
        try:
            obj = importlib.import_module(modname)
        except ImportError:
            continue
        rest = parts[i:]
        try:
            for part in rest:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj, modname, rest
    return None


def _kind(obj, modname, rest):
    """The Python-domain object type Sphinx would give the object."""
    if not rest:
        return "module" if inspect.ismodule(obj) else "data"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if len(rest) >= 2:  # an attribute of a class
        owner = _import(f"{modname}.{'.'.join(rest[:-1])}")[0]
        raw = inspect.getattr_static(owner, rest[-1], None)
        if isinstance(raw, property):
            return "property"
        return "method" if callable(obj) else "attribute"
    return "function" if callable(obj) else "data"


def _project_of(target):
    for name, project in PROJECTS.items():
        if target.split(".")[0] in project.modules:
            return name
    first = target.split(".")[0]
    if target in _PY_CONSTANTS or hasattr(builtins, first) or first in sys.stdlib_module_names:
        return "python"
    return None


# --- where each project documents an object ----------------------------------------------
def _address(project, target, kind, modname, rest):
    """The page and anchor of ``target`` on the project's site, or None if unknown."""
    parent = target.rsplit(".", 1)[0]
    member = kind in {"method", "property", "attribute"}
    if project == "python":
        if target in _PY_CONSTANTS:
            return f"library/constants.html#{target}"
        if modname == "builtins":
            if kind == "exception":
                return f"library/exceptions.html#{target}"
            top = target.split(".")[0]
            page = "stdtypes" if top in _PY_STDTYPES or member else "functions"
            return f"library/{page}.html#{target}"
        if kind == "module":
            return f"library/{modname}.html#module-{modname}"
        return f"library/{modname}.html#{target}"
    if project == "numpy":
        if target in _NUMPY_PAGES:
            return f"{_NUMPY_PAGES[target]}#{target}"
        if kind == "module":
            return None
        return f"reference/generated/{target}.html#{target}"
    if project == "pandas":
        return None if kind == "module" else f"reference/api/{target}.html#{target}"
    if project == "sklearn":
        if kind == "module":
            return f"api/{target}.html#module-{target}"
        page = parent if member else target
        return f"modules/generated/{page}.html#{target}"
    if project == "torch":
        if kind == "module":
            page = _TORCH_MODULE_PAGES.get(target)
            return f"{page}#module-{target}" if page else None
        owner = parent if member else target
        if owner in _TORCH_PAGES:
            return f"{_TORCH_PAGES[owner]}#{target}"
        return f"generated/{owner}.html#{target}"
    if project == "skorch":
        return _skorch_address(target, kind, modname, rest)
    if project == "matplotlib":
        if kind == "module":
            return None
        return f"api/_as_gen/{parent if member else target}.html#{target}"
    return None


def _skorch_address(target, kind, modname, rest):
    if kind == "module":
        return f"{modname.removeprefix('skorch.')}.html#module-{modname}"
    if modname == "skorch":  # a name re-exported at the top: its defining module's page
        owner = _import(f"skorch.{rest[0]}")[0]
        modname = owner.__module__.split("._")[0]  # skorch.net, skorch.classifier...
        anchor = ".".join([modname, *rest])
    else:
        anchor = target
    return f"{modname.removeprefix('skorch.')}.html#{anchor}"


# --- collect the references, write the inventories ---------------------------------------
def collect_references():
    """Build the docs once with no inventory and return what stayed unresolved."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "missing.json"
        env = {**os.environ, "SKAE_DOCS_COLLECT_REFS": str(out)}
        cmd = [sys.executable, "-m", "sphinx", "-E", "-q", "-b", "html", str(DOCS), tmp]
        subprocess.run(cmd, env=env, check=True, stderr=subprocess.DEVNULL)
        return [tuple(ref) for ref in json.loads(out.read_text())]


def _split_prefix(target):
    head, sep, rest = target.partition(":")
    return (head, rest) if sep and head in PROJECTS else (None, target)


def entries_for(references):
    """Map references to inventory entries: {project: {(name, role): (uri, dispname)}}."""
    entries = {name: {} for name in PROJECTS}
    unresolved = []
    for domain, reftype, raw in references:
        project, target = _split_prefix(raw.lstrip("~.").strip())
        if domain == "std" and reftype == "term":
            project = project or UNPREFIXED_TERMS.get(target.lower())
            if project:
                term = target.lower()
                entries[project][(term, "std:term")] = (f"glossary.html#term-{term}", target)
                continue
        elif domain == "std" and reftype == "ref":
            found = [(p, lab) for (p, lab) in LABELS if lab == target and project in (None, p)]
            if found:
                uri, title = LABELS[found[0]]
                entries[found[0][0]][(target, "std:label")] = (uri, title)
                continue
        elif domain == "py":
            project = project or _project_of(target)
            imported = _import(target) if project else None
            if imported is not None:
                obj, modname, rest = imported
                kind = "data" if target in _PY_CONSTANTS else _kind(obj, modname, rest)
                uri = _address(project, target, kind, modname, rest)
                if uri:
                    entries[project][(target, f"py:{kind}")] = (uri, "-")
                    continue
        unresolved.append(f"{domain}:{reftype}:{raw}")
    return entries, sorted(set(unresolved))


def write_inventories(entries):
    import sphobjinv as soi

    for name, objects in entries.items():
        path = HERE / f"{name}.inv"
        if not objects:
            path.unlink(missing_ok=True)
            continue
        inv = soi.Inventory()
        inv.project = PROJECTS[name].title
        inv.version = "stable"
        for (objname, role), (uri, dispname) in sorted(objects.items()):
            domain, role = role.split(":")
            inv.objects.append(
                soi.DataObjStr(
                    name=objname,
                    domain=domain,
                    role=role,
                    priority="-1" if domain == "std" else "1",
                    uri=uri,
                    dispname=dispname,
                )
            )
        soi.writebytes(path, soi.compress(inv.data_file(contract=True)))
        print(f"{path.relative_to(DOCS.parent)}: {len(objects)} entries")


def check_against_published():
    """Every address written here must be one the project itself publishes."""
    import sphobjinv as soi

    problems = 0
    for name, project in PROJECTS.items():
        path = HERE / f"{name}.inv"
        if not path.is_file():
            continue
        ours = soi.Inventory(path)
        real = soi.Inventory(url=f"{project.url}/objects.inv")
        real_uris = {o.uri_expanded for o in real.objects}
        real_names = {(o.name, o.domain, o.role): o.uri_expanded for o in real.objects}
        for obj in ours.objects:
            key = (obj.name, obj.domain, obj.role)
            if key in real_names and real_names[key] != obj.uri_expanded:
                print(f"{name}: {obj.name} is at {real_names[key]}, not {obj.uri_expanded}")
                problems += 1
            elif obj.uri_expanded not in real_uris:
                print(f"{name}: {obj.name}: {obj.uri_expanded} is not a published address")
                problems += 1
    print("all addresses are published" if not problems else f"{problems} problem(s)")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the published inventories"
    )
    args = parser.parse_args(argv)
    if args.check:
        return 1 if check_against_published() else 0
    entries, unresolved = entries_for(collect_references())
    write_inventories(entries)
    for ref in unresolved:
        print(f"not an outside object (fix the reference at its source): {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
