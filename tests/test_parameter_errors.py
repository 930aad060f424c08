"""Invalid parameters fail when fit starts, with an error naming the parameter.

Each family here used to end in a traceback from inside skorch or torch, or was
accepted: callbacks skorch cannot use, devices that cannot hold a trained model,
optimizer keyword values, booleans given for numbers, estimator classes given for
instances.
"""

import numpy as np
import pytest
import torch
from skorch.callbacks import EpochTimer

from skae import (
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)

FAST = dict(latent_dim=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((30, 6)).astype(np.float32)
    return X, (X[:, 0] > 0.5).astype(int)


def make(name, **params):
    """A small estimator of kind ``name`` with ``params``."""
    if name == "ae":
        return AutoencoderTransformer(**{**FAST, **params})
    if name == "vae":
        return VAETransformer(**{**FAST, **params})
    if name == "itl":
        return ITLAutoencoder(**{**FAST, **params})
    if name == "clf":
        return EncoderClassifier(**{"encoder_hidden_layer_sizes": (4,), "max_epochs": 1, **params})
    # the ensemble checks its template's training options when it starts
    return KAutoencoderTransformer(AutoencoderTransformer(**{**FAST, **params}), n_autoencoders=2)


def fails_before_training(estimator, data, exception, match):
    """``fit`` raises ``exception`` matching ``match`` and leaves nothing fitted."""
    X, y = data
    with pytest.raises(exception, match=match):
        estimator.fit(X, y)
    assert not hasattr(estimator, "net_") and not hasattr(estimator, "estimators_")


ESTIMATORS = ["ae", "vae", "itl", "clf", "kae"]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(
    "callbacks",
    [[1], ["EpochTimer"], [("timer",)], [(1, EpochTimer())], [("timer", "EpochTimer")], [dict]],
    ids=["int", "str", "1-tuple", "unnamed-pair", "pair-of-str", "class"],
)
def test_callbacks_must_be_skorch_callbacks(data, name, callbacks):
    estimator = make(name, callbacks=callbacks)
    fails_before_training(estimator, data, ValueError, "'callbacks' parameter .* skorch callbacks")


@pytest.mark.parametrize(
    "callbacks",
    [[EpochTimer()], [EpochTimer], [("timer", EpochTimer())], [["timer", EpochTimer]]],
    ids=["instance", "class", "named-instance", "named-class-list"],
)
def test_callbacks_skorch_accepts_still_work(data, callbacks):
    X, _ = data
    ae = make("ae", callbacks=callbacks).fit(X)
    assert "dur" in ae.history_  # EpochTimer's column


def _unusable_devices():
    devices = ["meta", "foo", "", "cpu:x", "ipu"]
    devices.append("cuda:99" if torch.cuda.is_available() else "cuda")
    return devices


@pytest.mark.parametrize("name", ["ae", "clf", "kae"])
@pytest.mark.parametrize("device", _unusable_devices())
def test_unusable_device_is_refused(data, name, device):
    estimator = make(name, device=device)
    fails_before_training(estimator, data, ValueError, f"device={device!r}")


@pytest.mark.parametrize(
    "optimizer, kwargs, match",
    [
        ("adam", {"betas": "a"}, r"Adam refuses optimizer_kwargs\['betas'\]='a'"),
        ("adam", {"foreach": "a"}, r"optimizer_kwargs\['foreach'\] must be True, False or None"),
        ("adam", {"fused": 1}, r"optimizer_kwargs\['fused'\] must be True, False or None"),
        ("adam", {"amsgrad": "yes"}, r"optimizer_kwargs\['amsgrad'\] must be True or False"),
        ("sgd", {"nesterov": None}, r"optimizer_kwargs\['nesterov'\] must be True or False"),
        ("sgd", {"momentum": -1}, r"SGD refuses optimizer_kwargs\['momentum'\]=-1"),
        ("adam", {"eps": -1.0}, r"optimizer_kwargs\['eps'\]=-1.0"),
        ("adam", {"fused": True, "differentiable": True}, "fused.*differentiable"),
        ("rprop", {"variant": "fast"}, r"optimizer_kwargs\['variant'\]='fast'"),
        ("rprop", {"step_sizes": (1e-6, 1e-4)}, r"optimizer_kwargs\['step_sizes'\]"),
    ],
)
def test_optimizer_kwargs_values_are_checked_at_fit(data, optimizer, kwargs, match):
    given = dict(kwargs)
    estimator = make("ae", optimizer=optimizer, optimizer_kwargs=kwargs)
    fails_before_training(estimator, data, ValueError, match)
    assert kwargs == given  # the user's dict is left alone


def test_learning_rate_the_optimizer_refuses_is_named(data):
    # RProp's initial step size must lie within its step size bounds (1e-6 to 50)
    estimator = make("ae", optimizer="rprop", lr=100.0)
    fails_before_training(estimator, data, ValueError, "RProp refuses lr=100.0")


def test_valid_optimizer_kwargs_train_as_before(data):
    X, _ = data
    params = dict(optimizer="sgd", optimizer_kwargs={"momentum": 0.5, "nesterov": True})
    first = make("ae", **params).fit(X)
    second = make("ae", **params).fit(X)
    assert first.net_.optimizer_.param_groups[0]["nesterov"] is True
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("ae", {"latent_dim": True}, "'latent_dim' parameter"),
        ("ae", {"hidden_layer_sizes": True}, "'hidden_layer_sizes' parameter"),
        ("ae", {"hidden_layer_sizes": (4, True)}, "hidden_layer_sizes must be positive"),
        ("ae", {"max_epochs": True}, "'max_epochs' parameter"),
        ("ae", {"batch_size": True}, "'batch_size' parameter"),
        ("ae", {"patience": True}, "'patience' parameter"),
        ("ae", {"n_threads": True}, "'n_threads' parameter"),
        ("ae", {"n_threads": 2**40}, "'n_threads' parameter"),
        ("ae", {"lr": True}, "'lr' parameter"),
        ("ae", {"noise_level": False}, "'noise_level' parameter"),
        ("clf", {"encoder_hidden_layer_sizes": (True,)}, "encoder_hidden_layer_sizes must be"),
        ("clf", {"hidden_layer_sizes": (4, True)}, "hidden_layer_sizes must be positive"),
        ("vae", {"kl_warmup_epochs": True}, "'kl_warmup_epochs' parameter"),
        ("vae", {"architecture": "conv", "conv_channels": (True,)}, "conv_channels"),
        ("vae", {"architecture": "conv", "image_shape": (True, 2, 3)}, "image_shape must be"),
        (
            "itl",
            {"regularizer": "csd+adversarial", "discriminator_hidden_layer_sizes": (True,)},
            "discriminator_hidden_layer_sizes must be",
        ),
    ],
)
def test_booleans_are_not_numbers(data, name, params, match):
    fails_before_training(make(name, **params), data, ValueError, match)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_autoencoders": True}, "'n_autoencoders' parameter"),
        ({"latent_dim": True}, "'latent_dim' parameter"),
        ({"latent_dim": [True, 2]}, "latent_dim must hold positive ints"),
        ({"n_jobs": True}, "'n_jobs' parameter"),
    ],
)
def test_booleans_are_not_numbers_in_the_ensemble(data, params, match):
    kae = KAutoencoderTransformer(AutoencoderTransformer(**FAST), **{"n_autoencoders": 2, **params})
    fails_before_training(kae, data, ValueError, match)


class _NoParams:
    """Has the methods of a transformer but not ``get_params``: clone cannot copy it."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X

    def inverse_transform(self, X):
        return X


@pytest.mark.parametrize(
    "estimator, exception, match",
    [
        (
            KAutoencoderTransformer(estimator=AutoencoderTransformer),
            TypeError,
            r"estimator must be an estimator instance such as estimator=AutoencoderTransformer\(\)",
        ),
        (
            KAutoencoderTransformer(estimator=VAETransformer),
            TypeError,
            r"such as estimator=VAETransformer\(\), not the class",
        ),
        (
            EncoderClassifier(encoder=AutoencoderTransformer),
            TypeError,
            r"encoder must be an estimator instance such as encoder=AutoencoderTransformer\(\)",
        ),
        (KAutoencoderTransformer(estimator=_NoParams()), ValueError, "'get_params'"),
    ],
    ids=["kae-class", "kae-vae-class", "classifier-class", "kae-no-get-params"],
)
def test_estimator_parameters_need_instances(data, estimator, exception, match):
    fails_before_training(estimator, data, exception, match)
