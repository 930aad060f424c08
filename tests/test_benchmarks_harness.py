"""The benchmarks' shared plumbing: a documented command recomputes, resuming is explicit.

``benchmarks/_common.py`` holds the command line every benchmark shares, the one
row-by-row table writer and the KMNIST protocol choice; these tests pin what they
promise without running a benchmark.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


def test_common_arguments(common, tmp_path):
    parser = common.add_common_arguments(argparse.ArgumentParser(), "demo", resume=True)
    args = parser.parse_args([])
    assert args.output_dir == common.RESULTS / "demo"
    assert (args.threads, args.quick, args.resume) == (1, False, False)
    args = parser.parse_args(["--output-dir", str(tmp_path), "--resume", "--threads", "2"])
    assert (args.output_dir, args.resume, args.threads) == (tmp_path, True, 2)


def test_without_resume_a_run_starts_afresh(common, tmp_path):
    path = tmp_path / "table.csv"
    pd.DataFrame({"cell": [1], "value": [0.5]}).to_csv(path, index=False)
    common.start_table(path, resume=False)
    assert not path.exists()
    assert (tmp_path / "table.csv.previous").exists()


def test_resume_keeps_the_rows(common, tmp_path):
    path = tmp_path / "table.csv"
    pd.DataFrame({"cell": [1], "value": [0.5]}).to_csv(path, index=False)
    common.start_table(path, resume=True)
    assert pd.read_csv(path).to_dict("list") == {"cell": [1], "value": [0.5]}


def test_update_table_replaces_rows_of_the_same_key(common, tmp_path):
    path = tmp_path / "sub" / "table.csv"
    common.update_table(path, [{"cell": 1, "value": 0.5}, {"cell": 2, "value": 0.7}], ["cell"])
    table = common.update_table(path, [{"cell": 2, "value": 0.9}], ["cell"])
    assert table.sort_values("cell").to_dict("list") == {"cell": [1, 2], "value": [0.5, 0.9]}
    assert pd.read_csv(path).sort_values("cell")["value"].tolist() == [0.5, 0.9]


def test_kmnist_protocol_is_a_choice(common):
    parser = common.add_kmnist_protocol_argument(argparse.ArgumentParser())
    assert parser.parse_args([]).kmnist_protocol == "test-only"
    assert parser.parse_args(["--kmnist-protocol", "official"]).kmnist_protocol == "official"
    with pytest.raises(ValueError, match="protocol"):
        common.load_kmnist("auto", data_home=None)


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_scripts_do_not_import_each_other(script):
    """Shared code lives in the ``_`` modules, never in another script."""
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    imported = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & scripts, f"{script.name} imports {sorted(imported & scripts)}"
