"""skae.study: the grid runner, its files, resume after an interruption, bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from skae.study import (
    StudyError,
    StudyInterrupted,
    _runner,
    load_study_data,
    n_trainable_parameters,
    plot_study,
    run_study,
)
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
    assert markdown.count("\n| digits |") == 8
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
    table = run_study(representations=["kae2"], latent_sizes=[3], quick=True)
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
