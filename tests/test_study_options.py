"""run_study's seeds, optimizer and batch-size options (API and CLI), and load_predictions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, precision_score, recall_score

from skae import BaseAutoencoder
from skae.__main__ import main
from skae.study import load_predictions, run_study

SMALL = dict(
    representations=["pca", "ae-relu"],
    latent_sizes=[2],
    classifiers=["logreg"],
    quick=True,
    figures=False,
)


@pytest.fixture
def fits(monkeypatch):
    """Record, for every autoencoder the study fits, the settings it trained with."""
    seen = []
    original_fit = BaseAutoencoder.fit

    def fit(self, X, y=None):
        original_fit(self, X, y)
        seen.append(
            {
                "seed": self.random_state,
                "optimizer": type(self.net_.optimizer_).__name__,
                "batches": set(self.history_["train_batch_count"]),
                "n_train": len(X),
            }
        )
        return self

    monkeypatch.setattr(BaseAutoencoder, "fit", fit)
    return seen


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-seeds")
    return run_study(seeds=(0, 1), output_dir=folder, **SMALL), folder


def test_several_seeds_give_a_row_each(two_seeds, tmp_path):
    frame, _ = two_seeds
    assert len(frame) == 2 * 2  # 2 representations x 2 seeds
    assert sorted(frame["seed"]) == [0, 0, 1, 1]
    ae = frame[frame["representation"] == "ae-relu"].set_index("seed")
    # Each seed trains its own autoencoder ...
    assert ae.loc[0, "reconstruction_mse"] != ae.loc[1, "reconstruction_mse"]
    # ... and a seed's row does not depend on the other seeds of the study.
    alone = run_study(seeds=(1,), output_dir=tmp_path, **SMALL)
    alone = alone[alone["representation"] == "ae-relu"].iloc[0]
    for column in ("accuracy", "reconstruction_mse", "n_parameters"):
        assert alone[column] == ae.loc[1, column]


def test_load_predictions_matches_the_rows(two_seeds):
    frame, folder = two_seeds
    for _, row in frame.iterrows():
        y_true, y_pred = load_predictions(folder, row)
        assert y_true.shape == y_pred.shape == (row["n_test"],)
        assert accuracy_score(y_true, y_pred) == pytest.approx(row["accuracy"])
        precision = precision_score(y_true, y_pred, average="macro", zero_division=0)
        assert precision == pytest.approx(row["precision_macro"])
        recall = recall_score(y_true, y_pred, average="macro")
        assert recall == pytest.approx(row["recall_macro"])
    # The rows' predictions are their own: the two seeds of the autoencoder differ.
    ae = frame[frame["representation"] == "ae-relu"]
    first, second = (load_predictions(folder, row)[1] for _, row in ae.iterrows())
    assert not np.array_equal(first, second)


def test_load_predictions_of_a_missing_row(two_seeds):
    frame, folder = two_seeds
    row = frame.iloc[0].copy()
    row["seed"] = 99
    with pytest.raises(FileNotFoundError):
        load_predictions(folder, row)


def test_rprop_on_full_batches_is_what_trains(fits, tmp_path):
    frame = run_study(
        seeds=(3,),
        optimizer="rprop",
        batch_size="full",
        output_dir=tmp_path,
        **{**SMALL, "representations": ["ae-relu"]},
    )
    assert "optimizer=rprop" in frame["params"].iloc[0]
    assert "batch_size=full" in frame["params"].iloc[0]
    assert np.isfinite(frame["reconstruction_mse"]).all()
    # The settings reached the autoencoder: skae's RProp, one step per epoch.
    assert len(fits) == 1
    assert fits[0]["seed"] == 3
    assert fits[0]["optimizer"] == "RProp"
    assert fits[0]["batches"] == {1}


def test_cli_seeds_optimizer_and_batch_size(fits, tmp_path, capsys):
    argv = [
        "study",
        "--quick",
        "-r",
        "ae-relu",
        "-m",
        "2",
        "--seeds",
        "0",
        "1",
        "--optimizer",
        "rprop",
        "--batch-size",
        "full",
        "-o",
        str(tmp_path),
        "-q",
        "--no-figures",
        *("-c", "logreg", "--few-labels", "0", "--n-jobs", "1"),
    ]
    assert main(argv) == 0
    results = pd.read_csv(tmp_path / "results.csv")
    assert sorted(results["seed"]) == [0, 1]
    assert results["params"].str.contains("optimizer=rprop").all()
    assert results["params"].str.contains("batch_size=full").all()
    assert sorted(f["seed"] for f in fits) == [0, 1]
    assert {f["optimizer"] for f in fits} == {"RProp"}
    assert all(f["batches"] == {1} for f in fits)
    assert "ae-relu" in capsys.readouterr().out


def test_ae_default_is_skae_with_nothing_set():
    from skae import AutoencoderTransformer
    from skae.study._registry import REPRESENTATIONS, ModelSettings

    settings = ModelSettings(
        hidden_layer_sizes=(7,),
        max_epochs=1,
        optimizer="sgd",
        lr=0.5,
        batch_size=3,
        image_shape=(8, 8),
    )
    model = REPRESENTATIONS["ae-default"].build(settings, 4, 2)
    expected = AutoencoderTransformer(latent_dim=4, random_state=2).get_params()
    assert model.get_params() == expected  # the study's settings do not leak in
    row = REPRESENTATIONS["ae-default"].describe(model)
    assert "hidden_layer_sizes=(1024, 256)" in row and "max_epochs=auto" in row


def _ae_default(**options):
    """The ae-default model a study with these run_study options fits at latent size 4."""
    from skae.study._plan import make_plan
    from skae.study._registry import REPRESENTATIONS

    settings = dict(
        max_epochs=None, hidden_layer_sizes=None, optimizer=None, lr=None, batch_size=None
    )
    plan = make_plan(
        "digits", ["ae-default"], [4], ["logreg"], [2], n_jobs=1, output_dir=None,
        n_train=None, n_test=None, torch_threads=1, verbose=0, **{"quick": False, **settings,
        **options},
    )  # fmt: skip
    return REPRESENTATIONS["ae-default"].build(plan.settings, 4, 2)


def test_ae_default_takes_only_the_options_given():
    from skae import AutoencoderTransformer

    defaults = AutoencoderTransformer(latent_dim=4, random_state=2).get_params()
    # the study's own defaults for its small networks do not reach it
    assert _ae_default().get_params() == defaults
    given = dict(max_epochs=7, hidden_layer_sizes=(32,), optimizer="sgd", lr=0.01, batch_size=64)
    model = _ae_default(**given)
    assert {k: model.get_params()[k] for k in given} == given
    assert model.get_params() == {**defaults, **given}
    # a quick run is short for it too; nothing else changes
    assert _ae_default(quick=True).get_params() == {**defaults, "max_epochs": 3}


FEW = dict(
    representations=["pca"], latent_sizes=[2], classifiers=["logreg"], quick=True, figures=False
)


def test_few_labels_table(tmp_path, monkeypatch):
    from skae import EncoderClassifier

    table, few = run_study(few_labels=2, output_dir=tmp_path, **FEW)
    assert len(table) == 1
    assert few[["model", "trained_on"]].to_numpy().tolist() == [
        ["encoder-classifier", "labelled + unlabelled"],
        ["encoder-classifier", "labelled"],
        ["svc", "labelled"],
    ]
    assert few["n_labelled"].tolist() == [20] * 3
    assert few["n_unlabelled"].tolist() == [1347 - 20, 0, 0]
    assert (few["error"] == "").all() and (few["accuracy"] > 0.5).all()
    # quick: the pre-trained autoencoder is short, and its row says so
    assert few["params"].tolist() == ["encoder__max_epochs=3", "", ""]
    saved = pd.read_csv(tmp_path / "few_labels.csv", keep_default_na=False)
    assert saved["accuracy"].tolist() == few["accuracy"].tolist()

    # a rerun in the same folder trains nothing and gives the same table
    fitted = []
    monkeypatch.setattr(EncoderClassifier, "fit", lambda self, X, y: fitted.append(self))
    _, again = run_study(few_labels=2, output_dir=tmp_path, **FEW)
    assert fitted == []
    pd.testing.assert_frame_equal(again, few)
    # without few_labels, a study gives its table alone
    assert isinstance(run_study(output_dir=tmp_path, **FEW), pd.DataFrame)


def test_few_label_draws_are_per_class_and_per_seed():
    from skae.study import load_study_data
    from skae.study._few_labels import few_label_mask

    y = load_study_data("digits").y_train
    mask = few_label_mask(y, 4, seed=0)
    assert np.bincount(y[mask]).tolist() == [4] * 10
    assert np.array_equal(mask, few_label_mask(y, 4, seed=0))
    assert not np.array_equal(mask, few_label_mask(y, 4, seed=1))


@pytest.mark.parametrize(
    "labels, message",
    [
        (0, "few_labels must be a positive integer or None, got 0"),
        (200, "few_labels=200 is more than the 131 training images of class"),
    ],
)
def test_bad_few_labels(labels, message):
    from skae.study import StudyError

    with pytest.raises(StudyError, match=message):
        run_study(few_labels=labels, **FEW)
