"""A non-finite training loss stops training with TrainingDivergedError (issue 15, item 4)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from skae import (
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)
from skae.exceptions import TrainingDivergedError

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=3, random_state=0)
# A linear output: a sigmoid bounds the reconstruction loss, so it diverges later.
LINEAR = dict(output_activation="linear", loss="mse")

# Learning rates at which each model's loss goes non-finite on the digits within
# the first epoch (the cases of the issue; the ITL and classifier losses are bounded
# for longer, so they need a larger step).
DIVERGING = [
    pytest.param(lambda: VAETransformer(latent_dim=2, lr=1e3, **SMALL), id="vae"),
    pytest.param(lambda: AutoencoderTransformer(latent_dim=2, lr=1e6, **LINEAR, **SMALL), id="ae"),
    pytest.param(
        lambda: KAutoencoderTransformer(
            AutoencoderTransformer(lr=1e6, **LINEAR, **SMALL), n_autoencoders=2, latent_dim=2
        ),
        id="k-ae",
    ),
    pytest.param(lambda: ITLAutoencoder(latent_dim=2, lr=1e20, **SMALL), id="itl"),
    pytest.param(
        lambda: EncoderClassifier(encoder_hidden_layer_sizes=(16,), lr=1e20, max_epochs=3),
        id="encoder-classifier",
    ),
]


@pytest.mark.parametrize("make", DIVERGING)
def test_non_finite_loss_raises(make, digits):
    X, y = digits
    with pytest.raises(TrainingDivergedError) as info:
        make().fit(X, y)
    message = str(info.value)
    # Names the loss term, the epoch, and the fix.
    assert "epoch 1" in message
    assert "lower learning rate" in message
    assert any(f"train_{term} became" in message for term in ("loss", "recon", "kl", "csd"))


def test_error_is_a_floating_point_error():
    # So that code catching numerical failures generically still catches it.
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_vae_names_the_term_that_went_non_finite(digits):
    # The terms are recorded before the total, so the message names the culprit,
    # not only train_loss.
    X, _ = digits
    with pytest.raises(TrainingDivergedError, match=r"train_(recon|kl) became"):
        VAETransformer(latent_dim=2, lr=1e3, **SMALL).fit(X)


class _PoisonWeights(Callback):
    """Turn the weights to NaN after the last epoch, when every loss was finite."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == net.max_epochs:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_non_finite_weights_after_the_last_step_raise(digits):
    X, _ = digits
    model = AutoencoderTransformer(
        latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2, callbacks=[_PoisonWeights()]
    )
    with pytest.raises(TrainingDivergedError, match="weights became non-finite at epoch 2"):
        model.fit(X)


def test_finite_training_is_untouched(digits):
    X, _ = digits
    model = AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2).fit(X)
    assert np.isfinite(model.history_["train_loss"]).all()
    assert np.isfinite(model.transform(X)).all()


def test_grid_search_scores_a_diverging_candidate_with_error_score(digits):
    X, _ = digits
    search = GridSearchCV(
        AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2, **LINEAR),
        {"lr": [1e-3, 1e6]},
        cv=2,
        error_score=np.nan,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X)
    failures = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    assert failures and "TrainingDivergedError" in str(failures[0].message)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert search.best_params_ == {"lr": 1e-3}
    assert np.isfinite(search.transform(X)).all()


def test_grid_search_error_score_raise_surfaces_the_error(digits):
    # error_score='raise' (an explicit choice) surfaces the clear error itself.
    X, _ = digits
    search = GridSearchCV(
        AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2, **LINEAR),
        {"lr": [1e6]},
        cv=2,
        error_score="raise",
    )
    with pytest.raises(TrainingDivergedError, match="lower learning rate"):
        search.fit(X)
