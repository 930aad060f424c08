"""The shared parameters: declared once, taken, checked and documented by every estimator."""

import inspect
import re
from numbers import Real

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import skae._regularizers
from skae import AutoencoderTransformer, EncoderClassifier, ITLAutoencoder, VAETransformer
from skae._loss_terms import LossTerm
from skae._parameters import (
    TRAINING_PARAMETERS,
    Parameter,
    constraints_of,
    format_default,
    shares_parameters,
)
from skae._regularizers import AUTOENCODER_PARAMETERS, REGULARIZERS
from skae._validation import NonBoolInterval

AUTOENCODERS = [AutoencoderTransformer, VAETransformer, ITLAutoencoder]


def _documented(cls):
    """``(name, 'type, default=...')`` of each entry of the class's Parameters section."""
    section = cls.__doc__.split("Parameters\n    ----------\n")[1].split("\n    Attributes")[0]
    return re.findall(r"^    (\w+) : (.*)$", section, re.M)


@pytest.mark.parametrize("cls", AUTOENCODERS)
def test_autoencoders_take_the_shared_parameters_after_their_own(cls):
    names = list(inspect.signature(cls).parameters)
    shared = [parameter.name for parameter in AUTOENCODER_PARAMETERS]
    assert names[-len(shared) :] == shared
    for parameter in AUTOENCODER_PARAMETERS:
        assert parameter.name in cls._parameter_constraints


@pytest.mark.parametrize("cls", [*AUTOENCODERS, EncoderClassifier])
def test_docstrings_document_the_signature_with_its_defaults(cls):
    signature = inspect.signature(cls).parameters
    documented = _documented(cls)
    assert [name for name, _ in documented] == list(signature)
    for name, header in documented:
        assert header.endswith(f"default={format_default(signature[name].default)}"), name


def test_every_shared_entry_says_the_same():
    entries = {cls.__name__: dict(_documented(cls)) for cls in [*AUTOENCODERS, EncoderClassifier]}
    for parameter in TRAINING_PARAMETERS:
        types = {entries[name].get(parameter.name, "").split(",")[0] for name in entries}
        assert len(types - {""}) == 1, (parameter.name, types)


def test_encoder_classifier_shares_the_training_defaults():
    signature = inspect.signature(EncoderClassifier).parameters
    own_auto = {"batch_size", "max_epochs"}  # resolved from the labels at fit time
    for parameter in TRAINING_PARAMETERS:
        expected = "auto" if parameter.name in own_auto else parameter.default
        assert signature[parameter.name].default == expected, parameter.name


def test_the_signature_is_explicit_for_scikit_learn():
    ae = AutoencoderTransformer(5, (8,), lr=0.01, noise=None)
    assert (ae.latent_dim, ae.hidden_layer_sizes, ae.lr, ae.noise) == (5, (8,), 0.01, None)
    assert clone(ae).get_params() == ae.get_params()
    assert "noise=None" in repr(ae) and "lr=0.01" in repr(ae)
    with pytest.raises(TypeError):
        AutoencoderTransformer(unknown=1)


def test_shares_parameters_refuses_what_it_does_not_share():
    with pytest.raises(ValueError, match="not shared"):
        shares_parameters(TRAINING_PARAMETERS, defaults={"noise": None})
    with pytest.raises(ValueError, match="shared_parameters"):

        @shares_parameters(TRAINING_PARAMETERS)
        class Undocumented:
            """No placeholder."""

            def __init__(self, a=1):
                self.a = a


def test_format_default():
    assert [format_default(v) for v in (1e-3, 1e-4, 0.2, None, "auto", (8,))] == [
        "1e-3",
        "1e-4",
        "0.2",
        "None",
        "'auto'",
        "(8,)",
    ]


# ------------------------------------------------------------------ a new regulariser
class CodeNormTerm(LossTerm):
    """A sample regulariser: the mean squared norm of the codes."""

    name = "code_norm"
    needs = ("code",)
    parameters = (
        Parameter(
            "code_norm_weight",
            "float",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"),),
            "Weight of the codes' mean squared norm; logged as ``code_norm``.",
        ),
    )

    def __call__(self, context):
        return context.code.pow(2).sum(dim=1).mean()

    @classmethod
    def from_parameters(cls, params):
        weight = params["code_norm_weight"]
        return cls(weight) if weight else None


def test_a_new_regulariser_is_one_term_class_and_its_parameter(monkeypatch, digits):
    """What registering the term in skae/_regularizers.py does, on a test estimator."""
    monkeypatch.setattr(skae._regularizers, "REGULARIZERS", (*REGULARIZERS, CodeNormTerm))

    @shares_parameters(CodeNormTerm.parameters)
    class CodeNormAutoencoder(AutoencoderTransformer):
        _parameter_constraints = {
            **AutoencoderTransformer._parameter_constraints,
            **constraints_of(CodeNormTerm.parameters),
        }

    X = digits[0][:500]
    params = dict(hidden_layer_sizes=(16,), latent_dim=4, max_epochs=5, random_state=0)
    plain = CodeNormAutoencoder(**params).fit(X)
    shrunk = clone(CodeNormAutoencoder(**params, code_norm_weight=1.0)).fit(X)
    assert "train_code_norm" in shrunk.history_ and "train_code_norm" not in plain.history_
    h = shrunk.history_
    np.testing.assert_allclose(h["train_loss"], h["train_recon"] + h["train_code_norm"], rtol=1e-5)
    norms = [np.mean(np.sum(m.transform(X) ** 2, axis=1)) for m in (plain, shrunk)]
    assert norms[1] < norms[0]
    with pytest.raises(InvalidParameterError, match="code_norm_weight"):
        CodeNormAutoencoder(**params, code_norm_weight=-1.0).fit(X)
