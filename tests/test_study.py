"""skae.study: the grid runner, its files, resume after an interruption, bad input."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA

from skae.exceptions import TrainingDivergedError
from skae.study import (
    StudyError,
    StudyInterrupted,
    _registry,
    _runner,
    load_study_data,
    n_trainable_parameters,
    plot_study,
    run_study,
)
from skae.study._folder import _StudyFolder
from skae.study._registry import Representation
from skae.study._runner import COLUMNS

from .conftest import requires_data as needs_data

#: a small study: 2 representations x 2 latent sizes x 2 classifiers = 8 rows
GRID = dict(
    representations=["pca", "ae-relu"],
    latent_sizes=[2, 4],
    classifiers=["logreg", "svc"],
    quick=True,
)
METRICS = ["accuracy", "precision_macro", "recall_macro", "reconstruction_mse", "n_parameters"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The small study run once, uninterrupted, with figures: (table, folder)."""
    folder = tmp_path_factory.mktemp("study")
    return run_study(output_dir=folder, figures=False, **GRID), folder


@pytest.fixture(scope="module")
def figures(study):
    """The study's figures, drawn from its folder: the paths written."""
    return plot_study(study[1])


def test_rows_and_columns(study):
    table, _ = study
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 8
    # grid order: representation, then latent size, then seed, then classifier
    assert table["representation"].tolist() == ["pca"] * 4 + ["ae-relu"] * 4
    assert table["latent_dim"].tolist() == [2, 2, 4, 4] * 2
    assert table["classifier"].tolist() == ["logreg", "svc"] * 4
    assert (table["dataset"] == "digits").all()
    assert (table["n_train"] == 1347).all() and (table["n_test"] == 450).all()
    assert (table["n_codes"] == table["latent_dim"]).all()
    for column in ("accuracy", "precision_macro", "recall_macro"):
        assert table[column].between(0, 1).all()
    assert (table["accuracy"] > 0.2).all()  # far above chance (0.1) even when quick
    assert (table["reconstruction_mse"] > 0).all()
    assert (table[["fit_seconds", "transform_seconds", "classifier_seconds"]] >= 0).all().all()
    # PCA: (components + mean) x features; the AE: its torch module
    pca = table[table["representation"] == "pca"]
    assert pca["n_parameters"].tolist() == [3 * 64, 3 * 64, 5 * 64, 5 * 64]
    ae = table[table["representation"] == "ae-relu"]
    # 64-128-m encoder and m-128-64 decoder
    expected = [
        (64 * 128 + 128) + (128 * m + m) + (m * 128 + 128) + (128 * 64 + 64) for m in (2, 4)
    ]
    assert ae["n_parameters"].unique().tolist() == expected
    assert "max_epochs=3" in ae["params"].iloc[0]
    assert "activation=relu" in ae["params"].iloc[0]


def test_same_representation_shared_by_classifiers(study):
    """One fit per (representation, latent size, seed), reused by every classifier."""
    table, _ = study
    per_fit = table.groupby(["representation", "latent_dim"])
    assert (per_fit["fit_seconds"].nunique() == 1).all()
    assert (per_fit["reconstruction_mse"].nunique() == 1).all()


def test_files_written(study):
    table, folder = study
    saved = pd.read_csv(folder / "results.csv")
    assert len(saved) == 8
    np.testing.assert_allclose(saved["accuracy"], table["accuracy"])
    markdown = (folder / "results.md").read_text()
    assert "stratified" in markdown  # the protocol is stated
    assert markdown.count("\n| pca |") == 4 and markdown.count("\n| ae-relu |") == 4
    # each representation's settings once, above the table, not in every row
    assert markdown.count("hidden_layer_sizes=(128,)") == 1
    assert "- ae-relu: hidden_layer_sizes=(128,), activation=relu" in markdown
    assert "| params |" not in markdown and "| error |" not in markdown
    assert "Best representation per latent size" in markdown
    config = json.loads((folder / "study.json").read_text())
    assert config["dataset"] == "digits" and config["max_epochs"] == 3
    assert len(list((folder / "predictions").glob("*.npy"))) == 8
    assert len(list((folder / "fits").glob("*.npz"))) == 4


def test_results_reproducible(study):
    """Same seeds, same numbers, with or without an output folder."""
    table, _ = study
    again = run_study(**{**GRID, "representations": ["ae-relu"], "latent_sizes": [2]})
    first = table[(table["representation"] == "ae-relu") & (table["latent_dim"] == 2)]
    np.testing.assert_array_equal(again[METRICS].to_numpy(), first[METRICS].to_numpy())


def _count_fits(monkeypatch):
    fits = []
    original = _runner._run_cell

    def counting(cell, *args, **kwargs):
        fits.append((cell.representation, cell.latent_dim, tuple(cell.classifiers)))
        yield from original(cell, *args, **kwargs)

    monkeypatch.setattr(_runner, "_run_cell", counting)
    return fits


def test_interrupt_keeps_rows_and_rerun_resumes(study, tmp_path, monkeypatch):
    table, _ = study
    append = _runner._StudyFolder.append
    calls = []

    def interrupting(self, row):
        if len(calls) == 5:  # Ctrl-C while the sixth row is being saved
            raise KeyboardInterrupt
        calls.append(row)
        append(self, row)

    monkeypatch.setattr(_runner._StudyFolder, "append", interrupting)
    with pytest.raises(StudyInterrupted) as info:
        run_study(output_dir=tmp_path, **GRID)
    assert (info.value.n_rows, info.value.n_total) == (5, 8)
    assert isinstance(info.value, KeyboardInterrupt)
    assert len(pd.read_csv(tmp_path / "results.csv")) == 5
    assert "| ae-relu |" in (tmp_path / "results.md").read_text()  # written on interrupt

    monkeypatch.setattr(_runner._StudyFolder, "append", append)
    fits = _count_fits(monkeypatch)
    resumed = run_study(output_dir=tmp_path, figures=False, **GRID)
    # rows 1-5 were kept: PCA (4 rows) and ae-relu m=2 with logreg; only the rest runs
    assert fits == [("ae-relu", 2, ("svc",)), ("ae-relu", 4, ("logreg", "svc"))]
    assert len(pd.read_csv(tmp_path / "results.csv")) == 8
    np.testing.assert_array_equal(resumed[METRICS].to_numpy(), table[METRICS].to_numpy())

    fits.clear()
    run_study(output_dir=tmp_path, figures=False, **GRID)
    assert fits == []  # nothing left to compute


def test_grid_may_grow_in_the_same_folder(study, tmp_path, monkeypatch):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    run_study(output_dir=tmp_path, figures=False, **small)
    fits = _count_fits(monkeypatch)
    grown = run_study(output_dir=tmp_path, figures=False, **{**small, "latent_sizes": [2, 4, 8]})
    assert fits == [("pca", 8, ("logreg",))]
    assert grown["latent_dim"].tolist() == [2, 4, 8]


def test_other_settings_in_the_same_folder(tmp_path):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    run_study(output_dir=tmp_path, figures=False, **small)
    with pytest.raises(StudyError, match=r"other settings.*max_epochs: 3 there, 5 here"):
        run_study(output_dir=tmp_path, max_epochs=5, **small)
    table = run_study(output_dir=tmp_path, max_epochs=5, overwrite=True, figures=False, **small)
    assert len(pd.read_csv(tmp_path / "results.csv")) == len(table) == 2
    assert json.loads((tmp_path / "study.json").read_text())["max_epochs"] == 5


def test_truncated_last_line_is_dropped(tmp_path):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    run_study(output_dir=tmp_path, figures=False, **small)
    csv = tmp_path / "results.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([*lines[:-1], lines[-1][:10]]) + "\n")  # a crash mid-write
    with pytest.warns(UserWarning, match="dropped 1 damaged line .line 3."):
        table = run_study(output_dir=tmp_path, figures=False, **small)
    assert len(table) == 2 and len(pd.read_csv(csv)) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset": "cifar"}, "unknown dataset 'cifar'; choose from digits, mnist"),
        ({"representations": ["pca", "umap"]}, "unknown representation 'umap'; choose from pca"),
        ({"classifiers": ["forest"]}, "unknown classifier 'forest'; choose from logreg, svc"),
        ({"latent_sizes": [2, 65]}, "latent size 65 is larger than the 64 features of 'digits'"),
        ({"latent_sizes": [0]}, "latent sizes must be integers >= 1"),
        ({"seeds": [-1]}, "seeds must be integers >= 0"),
        ({"representations": []}, "representations must not be empty"),
        ({"n_jobs": 0}, "n_jobs must be a non-zero integer"),
        ({"optimizer": "nesterov"}, "unknown optimizer 'nesterov'"),
        ({"n_train": 0}, "n_train must be a positive integer"),
        ({"n_train": 5000}, "n_train=5000 is more than the 1,347 images available"),
        ({"n_train": 3, "latent_sizes": [4]}, "latent size 4 is larger than the 3 training"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(StudyError, match=message):
        run_study(**{"quick": True, **kwargs})


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StudyError, match="cannot write to output folder"):
        run_study(output_dir=blocker / "study", quick=True)


def test_missing_data_file_offline(tmp_path):
    from skae.datasets import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="kmnist-test"):
        run_study(dataset="kmnist", data_home=tmp_path, download=False, quick=True)


@needs_data
def test_kmnist_test_protocol():
    data = load_study_data("kmnist-test", quick=True, download=False)
    assert data.X_train.shape == (1000, 784) and data.X_test.shape == (1000, 784)
    assert "8,000/2,000" in data.protocol and "first 1,000" in data.protocol
    assert data.X_train.dtype == np.float32


def test_k_ensemble_codes_are_concatenated():
    table = run_study(
        representations=["kae2"], latent_sizes=[3], classifiers=["logreg"], quick=True
    )
    assert table["n_codes"].tolist() == [6]
    assert "n_autoencoders=2" in table["params"].iloc[0]
    # two members, each 64-128-3 encoder and 3-128-64 decoder
    member = (64 * 128 + 128) + (128 * 3 + 3) + (3 * 128 + 128) + (128 * 64 + 64)
    assert table["n_parameters"].iloc[0] == 2 * member


def test_n_trainable_parameters_pca():
    from sklearn.decomposition import PCA

    pca = PCA(n_components=3).fit(np.random.default_rng(0).random((20, 5)))
    assert n_trainable_parameters(pca) == 3 * 5 + 5


def test_plot_study_draws_from_the_folder(study, figures):
    _, folder = study
    assert [p.name for p in figures] == [
        "accuracy_vs_latent.png",
        "reconstructions.png",
        "confusion_matrix.png",
        "learning_curves.png",
    ]
    for path in figures:
        assert path.parent == folder and path.stat().st_size > 1000


@pytest.mark.slow
def test_results_do_not_depend_on_n_jobs(study):
    table, _ = study
    parallel = run_study(n_jobs=2, **GRID)
    np.testing.assert_array_equal(parallel[METRICS].to_numpy(), table[METRICS].to_numpy())


# ---------------------------------------------------------------- failed rows (divergence)
class _Diverging(PCA):
    """A representation whose training diverges, as skae's estimators report it."""

    def fit(self, X, y=None):
        raise TrainingDivergedError(
            "training loss became nan at epoch 2;\ntry a lower learning rate (lr)"
        )


class _NaNCodes(PCA):
    """A representation that trains but gives non-finite codes."""

    def transform(self, X):
        return np.full((len(X), self.n_components), np.nan)


class _Refusing(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        raise ValueError("Input X contains NaN.")


def _register(monkeypatch, name, estimator_class):
    entry = Representation(name, name, lambda settings, m, seed: estimator_class(m), ())
    monkeypatch.setitem(_registry.REPRESENTATIONS, name, entry)


FAILING = dict(
    representations=["pca", "diverging"], latent_sizes=[2], classifiers=["logreg"], quick=True
)


def test_diverged_fit_is_a_failed_row_and_the_study_goes_on(tmp_path, monkeypatch):
    _register(monkeypatch, "diverging", _Diverging)
    grid = {**FAILING, "classifiers": ["logreg", "svc"]}
    table = run_study(output_dir=tmp_path, figures=True, **grid)
    assert table["representation"].tolist() == ["pca", "pca", "diverging", "diverging"]
    failed = table[table["representation"] == "diverging"]
    assert (
        failed["error"] == "training loss became nan at epoch 2; try a lower learning rate (lr)"
    ).all()
    assert failed[["accuracy", "precision_macro", "recall_macro"]].isna().all().all()
    assert (failed["n_codes"] == 2).all() and (failed["fit_seconds"] >= 0).all()
    assert (table.loc[table["representation"] == "pca", "error"] == "").all()
    assert (table.loc[table["representation"] == "pca", "accuracy"] > 0.5).all()
    saved = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert saved["error"].tolist() == ["", ""] + [table["error"].iloc[2]] * 2
    assert "| error |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "accuracy_vs_latent.png").exists()  # drawn from the good rows
    # resume: a failed row is a result (same settings and seed, same failure), kept
    fits = _count_fits(monkeypatch)
    again = run_study(output_dir=tmp_path, figures=False, **grid)
    assert fits == []
    assert again["error"].tolist() == table["error"].tolist()


def test_non_finite_codes_are_a_failed_row(monkeypatch):
    _register(monkeypatch, "diverging", _NaNCodes)
    table = run_study(**FAILING)
    assert table["error"].iloc[0] == ""
    assert "codes contain NaN or infinity" in table["error"].iloc[1]
    assert np.isnan(table["accuracy"].iloc[1])


def test_classifier_refusing_the_codes_is_a_failed_row(monkeypatch):
    monkeypatch.setitem(
        _registry.CLASSIFIERS,
        "refusing",
        _registry.Classifier("refusing", "", lambda s: _Refusing()),
    )
    table = run_study(
        representations=["pca"], latent_sizes=[2], classifiers=["logreg", "refusing"], quick=True
    )
    assert table["error"].tolist() == ["", "Input X contains NaN."]


# ---------------------------------------------------------------- damaged results.csv
DAMAGE_GRID = dict(
    representations=["pca", "ae-relu"], latent_sizes=[2], classifiers=["logreg", "svc"], quick=True
)


@pytest.fixture(scope="module")
def intact_study(tmp_path_factory):
    """A finished 4-row study (pca and ae-relu, two classifiers): (folder, table)."""
    folder = tmp_path_factory.mktemp("intact")
    return folder, run_study(output_dir=folder, figures=False, **DAMAGE_GRID)


def _line(fields):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _edit(line, column, value):
    fields = next(csv.reader([line]))
    fields[COLUMNS.index(column)] = value
    return _line(fields)


def _without(line, column):
    fields = next(csv.reader([line]))
    del fields[COLUMNS.index(column)]
    return _line(fields)


def _text(lines):
    return ("\n".join(lines) + "\n").encode()


# Each kind of damage: a function of the file's lines (header, then rows 0 to 3: pca
# logreg, pca svc, ae-relu logreg, ae-relu svc) giving the damaged bytes; the rows
# that must be computed again; the line numbers reported as damaged, then as repeated.
DAMAGE = {
    "truncated-inside-quoted-params": (
        lambda L: _text([L[0], L[1], L[2], L[3][: L[3].index('"') + 12], L[4]]),
        {2},
        [4],
        [],
    ),
    "truncated-after-accuracy": (
        lambda L: _text([*L[:4], _line(next(csv.reader([L[4]]))[:8])]),
        {3},
        [5],
        [],
    ),
    "appended-binary": (
        lambda L: _text(L) + b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x80garbage\n\xc3\x28",
        set(),
        [6, 7, 8, 9],
        [],
    ),
    "missing-header": (lambda L: _text(L[1:]), set(), [], []),
    "extra-fields": (lambda L: _text([L[0], L[1], L[2] + ",1,2", L[3], L[4]]), {1}, [3], []),
    "non-numeric-accuracy": (
        lambda L: _text([L[0], _edit(L[1], "accuracy", "high"), *L[2:]]),
        {0},
        [2],
        [],
    ),
    "non-numeric-seed": (
        lambda L: _text([L[0], L[1], _edit(L[2], "seed", "zero"), *L[3:]]),
        {1},
        [3],
        [],
    ),
    "removed-column": (
        lambda L: _text([_without(line, "reconstruction_mse") for line in L]),
        {0, 1, 2, 3},
        [2, 3, 4, 5],
        [],
    ),
    "empty-n_parameters": (
        lambda L: _text([*L[:3], _edit(L[3], "n_parameters", ""), L[4]]),
        {2},
        [4],
        [],
    ),
    "nul-bytes": (lambda L: _text([*L[:4], "\0" * len(L[4])]), {3}, [5], []),
    "truncated-last-line": (lambda L: _text([*L[:4], L[4][:10]]), {3}, [5], []),
    "duplicated-row": (lambda L: _text([*L, L[2]]), set(), [], [6]),
    "blank-lines": (lambda L: _text([L[0], "", L[1], "   ", *L[2:]]), set(), [], []),
    "header-only": (lambda L: _text(L[:1]), {0, 1, 2, 3}, [], []),
    "windows-line-ends": (lambda L: "\r\n".join(L).encode() + b"\r\n", set(), [], []),
    "accuracy-out-of-range": (
        lambda L: _text([L[0], _edit(L[1], "accuracy", "7.5"), *L[2:]]),
        {0},
        [2],
        [],
    ),
    "no-final-newline": (lambda L: "\n".join(L).encode(), set(), [], []),
    "older-header-without-error": (
        lambda L: _text([_without(line, "error") for line in L]),
        set(),
        [],
        [],
    ),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_results_keep_every_intact_row(kind, intact_study, tmp_path, monkeypatch):
    source, table = intact_study
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
        else:
            shutil.copytree(path, tmp_path / path.name)
    damage, redo, damaged, repeated = DAMAGE[kind]
    original = (source / "results.csv").read_text().splitlines()
    (tmp_path / "results.csv").write_bytes(damage(original))
    fits = _count_fits(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = run_study(output_dir=tmp_path, figures=False, **DAMAGE_GRID)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    notes = [n for n in notes if "results.csv" in n]
    # the rows to compute again, and only those
    keys = list(zip(table["representation"], table["classifier"]))
    recomputed = {keys.index((r, c)) for r, _, classifiers in fits for c in classifiers}
    assert recomputed == redo
    # the study's table and file are the uninterrupted ones, each row once
    np.testing.assert_array_equal(again[METRICS].to_numpy(), table[METRICS].to_numpy())
    saved = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert list(saved.columns) == list(COLUMNS)
    assert list(zip(saved["representation"], saved["classifier"])) == [
        keys[i] for i in sorted(set(range(4)) - redo)
    ] + [keys[i] for i in sorted(redo)]
    # one line saying how many and which
    if damaged or repeated:
        assert len(notes) == 1 and "\n" not in notes[0], notes
        for numbers, what in ((damaged, "damaged line"), (repeated, "repeated row")):
            if numbers:
                assert f"dropped {len(numbers)} {what}" in notes[0]
                assert ", ".join(map(str, numbers)) in notes[0]
        assert f"kept {4 - len(redo)} intact row" in notes[0]
        if damaged:
            assert (tmp_path / "results.csv.damaged").read_bytes() == damage(original)
    else:
        assert notes == []


@pytest.mark.parametrize("content", ["a folder", b"\x89PNG\r\n\x1a\n\x00\x00binary", "name,size\n"])
def test_unreadable_results_file_is_one_clear_error(content, tmp_path):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    run_study(output_dir=tmp_path, figures=False, **small)
    csv_path = tmp_path / "results.csv"
    csv_path.unlink()
    if content == "a folder":
        csv_path.mkdir()
    else:
        csv_path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StudyError) as info:
        run_study(output_dir=tmp_path, figures=False, **small)
    message = str(info.value)
    assert str(csv_path) in message and "move it out of the way" in message
    assert "\n" not in message
    if content != "a folder":
        assert csv_path.read_bytes() == (
            content if isinstance(content, bytes) else content.encode()
        )


# ---------------------------------------------------------------- one study per folder
_HOLD_LOCK = """
import sys, time
from skae.study._folder import _StudyFolder
with _StudyFolder(sys.argv[1]).locked():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_second_study_into_the_same_folder_refuses(tmp_path):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(
            StudyError, match=f"another skae study is writing into '{tmp_path}'"
        ) as info:
            run_study(output_dir=tmp_path, figures=False, **small)
        assert f"(process {holder.pid})" in str(info.value)
        assert not (tmp_path / "results.csv").exists()
    finally:
        holder.kill()  # a killed study leaves no lock behind
        holder.wait()
    assert len(run_study(output_dir=tmp_path, figures=False, **small)) == 2
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2


def test_lock_is_released_after_a_study(tmp_path):
    small = {**GRID, "representations": ["pca"], "classifiers": ["logreg"]}
    run_study(output_dir=tmp_path, figures=False, **small)
    with _StudyFolder(tmp_path).locked():  # taken at once: nobody holds it
        pass
