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


def _missing(names):
    missing = []
    for name in names:
        if hasattr(skae, name):
            continue
        try:
            importlib.import_module(f"skae.{name}")
        except ImportError:
            try:  # an optional third-party module, such as dask.distributed
                importlib.import_module(name)
            except ImportError:
                missing.append(name)
    return missing


def test_every_example_declares_requirements():
    assert EXAMPLES
    for path in EXAMPLES:
        assert _required_names(path), f"{path.name} has no '# requires:' line"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    missing = _missing(_required_names(path))
    if missing:
        pytest.skip(f"not available: {', '.join(missing)}")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,  # figures an example saves land here, not in the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()
