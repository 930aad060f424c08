"""Run every script in ``examples/`` as a user would (slow: each trains networks)."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skae

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _required_names(path):
    """Names on the example's ``# requires:`` line: skae names or importable modules."""
    match = re.search(r"^# requires: (.+)$", path.read_text(), flags=re.MULTILINE)
    return [name.strip() for name in match.group(1).split(",")] if match else []


def _exists(name):
    if hasattr(skae, name):
        return True
    for module in (f"skae.{name}", name):  # a skae subpackage, or e.g. dask.distributed
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return True
    return False


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_requirements_exist(path):
    """Each example says what it uses (the docs include it from that line on); it exists."""
    names = _required_names(path)
    assert names, f"{path.name} has no '# requires:' line"
    missing = [name for name in names if not _exists(name)]
    assert not missing, f"{path.name} needs {', '.join(missing)}, which cannot be imported"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    # One torch thread: the examples' tiny networks gain little from more, and on a
    # busy machine idle threads spin and multiply the run time.
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,  # figures an example saves land here, not in the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()
