"""ONNX export (skae.onnx): the exported graphs compute what skae computes."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import defs as onnx_defs  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

import skae.onnx  # noqa: E402, F401 (registers the converters)
from skae import (  # noqa: E402
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)
from skae.datasets import get_data_home  # noqa: E402
from skae.onnx import decoder_to_onnx  # noqa: E402

ATOL = 1e-5

pytestmark = [
    # skl2onnx reads SVC's deprecated probA_/probB_; small fits stop early.
    pytest.mark.filterwarnings("ignore:Attribute `prob:FutureWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def run_onnx(onx, X):
    """All outputs of ``onx`` on ``X`` through onnxruntime."""
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def make_pipelines(fast):
    """The pipelines of issue 16, small enough for the default test run when ``fast``."""
    epochs = 2 if fast else 5
    hidden = (32,) if fast else (256,)
    return {
        "ae_logreg": make_pipeline(
            AutoencoderTransformer(
                latent_dim=8, hidden_layer_sizes=hidden, max_epochs=epochs, random_state=0
            ),
            LogisticRegression(max_iter=300),
        ),
        "scaler_kae_svc": make_pipeline(
            StandardScaler(),
            KAutoencoderTransformer(
                AutoencoderTransformer(hidden_layer_sizes=hidden, max_epochs=epochs),
                n_autoencoders=3,
                latent_dim=4,
                random_state=0,
            ),
            SVC(),
        ),
        "vae_mlp": make_pipeline(
            VAETransformer(
                latent_dim=8, hidden_layer_sizes=hidden, max_epochs=epochs, random_state=0
            ),
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0),
        ),
        "conv_vae_mlp": make_pipeline(
            VAETransformer(
                architecture="conv",
                conv_channels=(4, 8),
                hidden_layer_sizes=(),
                latent_dim=8,
                max_epochs=epochs,
                random_state=0,
            ),
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0),
        ),
        "itl_logreg": make_pipeline(
            ITLAutoencoder(
                latent_dim=2, hidden_layer_sizes=hidden, max_epochs=epochs, random_state=0
            ),
            LogisticRegression(max_iter=300),
        ),
        "encoder_classifier": EncoderClassifier(
            encoder_hidden_layer_sizes=(*hidden, 16),
            dropout=0.2,
            input_dropout=0.1,
            max_epochs=epochs,
            random_state=0,
        ),
    }


def check_pipeline(pipe, X):
    """The ONNX graph of ``pipe`` gives skae's codes, scores and labels."""
    final = pipe[-1] if hasattr(pipe, "steps") else pipe
    options = None if isinstance(final, SVC) else {id(final): {"zipmap": False}}
    labels, *rest = run_onnx(to_onnx(pipe, X[:1], options=options), X)
    np.testing.assert_array_equal(labels, pipe.predict(X))
    if options is not None:
        np.testing.assert_allclose(rest[0], pipe.predict_proba(X), rtol=0, atol=ATOL)
    if hasattr(pipe, "steps"):
        # The codes, from the pipeline up to (and including) the skae step.
        encoder = pipe[:-1]
        (codes,) = run_onnx(to_onnx(encoder, X[:1]), X)
        expected = encoder.transform(X)
        assert codes.shape == expected.shape
        # float32 rounding grows with the codes' magnitude (unbounded ELU codes of a
        # deep encoder reach tens): the tolerance is relative to their largest value
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(codes, expected, rtol=0, atol=ATOL * scale)


@pytest.fixture(scope="module")
def digits_f32(digits):
    X, y = digits
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(digits_f32):
    X, y = digits_f32
    return {name: pipe.fit(X, y) for name, pipe in make_pipelines(fast=True).items()}


@pytest.mark.parametrize(
    "name",
    ["ae_logreg", "scaler_kae_svc", "vae_mlp", "conv_vae_mlp", "itl_logreg", "encoder_classifier"],
)
def test_pipeline_matches_skae(fitted, digits_f32, name):
    check_pipeline(fitted[name], digits_f32[0])


def test_float64_input_gives_float64_codes(fitted, digits_f32):
    X = digits_f32[0].astype(np.float64)
    ae = fitted["ae_logreg"][0]
    (codes,) = run_onnx(to_onnx(ae, X[:1]), X)
    assert codes.dtype == np.float64
    np.testing.assert_allclose(codes, ae.transform(X), rtol=0, atol=ATOL)


def test_vae_mean_logvar_and_sample_modes(fitted, digits_f32):
    X = digits_f32[0]
    vae = fitted["vae_mlp"][0]
    vae.set_params(transform_mode="mean_logvar")
    try:
        (codes,) = run_onnx(to_onnx(vae, X[:1]), X)
        assert codes.shape == (len(X), 2 * vae.latent_dim)
        np.testing.assert_allclose(codes, vae.transform(X), rtol=0, atol=ATOL)
        vae.set_params(transform_mode="sample")
        with pytest.raises(NotImplementedError, match="transform_mode='sample'"):
            to_onnx(vae, X[:1])
    finally:
        vae.set_params(transform_mode="mean")


def test_encoder_classifier_zipmap_and_string_labels(digits_f32):
    X, y = digits_f32
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = EncoderClassifier(encoder_hidden_layer_sizes=(16,), max_epochs=2, random_state=0).fit(
        X[:300], names[y[:300]]
    )
    labels, proba = run_onnx(to_onnx(clf, X[:1]), X[:50])
    np.testing.assert_array_equal(labels, clf.predict(X[:50]))
    # Default options: ZipMap gives one {class: probability} dict per row.
    expected = clf.predict_proba(X[:50])
    assert set(proba[0]) == set(clf.classes_)
    got = np.array([[row[c] for c in clf.classes_] for row in proba])
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_pretrained_encoder_classifier(digits_f32):
    """A classifier started from a VAE's encoder exports its whole network."""
    X, y = digits_f32
    ae = AutoencoderTransformer(
        latent_dim=8, hidden_layer_sizes=(16,), activation="elu", max_epochs=2, random_state=0
    )
    clf = EncoderClassifier(encoder=ae, activation="leaky_relu", max_epochs=2, random_state=0)
    check_pipeline(clf.fit(X, y), X)


def test_unsupported_layer_is_a_clear_error(fitted, digits_f32):
    import torch

    ae = fitted["ae_logreg"][0]
    encoder = ae.net_.module_.encoder
    encoder.append(torch.nn.Softplus())
    try:
        with pytest.raises(NotImplementedError, match="Softplus"):
            to_onnx(ae, digits_f32[0][:1])
    finally:
        del encoder[-1]


@pytest.mark.parametrize(
    "model, name",
    [
        (AutoencoderTransformer(), "AutoencoderTransformer"),
        (VAETransformer(), "VAETransformer"),
        (ITLAutoencoder(), "ITLAutoencoder"),
        (KAutoencoderTransformer(), "KAutoencoderTransformer"),
        (EncoderClassifier(), "EncoderClassifier"),
        (make_pipeline(StandardScaler(), EncoderClassifier()), "EncoderClassifier"),
        (make_pipeline(StandardScaler(), VAETransformer()), "VAETransformer"),
    ],
    ids=["ae", "vae", "itl", "kae", "classifier", "pipeline-classifier", "pipeline-vae"],
)
def test_unfitted_model_is_refused(digits_f32, model, name):
    X = digits_f32[0]
    if hasattr(model, "steps"):
        model[0].fit(X)  # only the skae step is unfitted
    match = f"This {name} instance is not fitted yet: call 'fit' before exporting it to ONNX"
    with pytest.raises(NotFittedError, match=match):
        to_onnx(model, X[:1])


def test_decoder_of_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError, match=r"VAETransformer .* before exporting it to ONNX"):
        decoder_to_onnx(VAETransformer())


@pytest.mark.parametrize(
    "target_opset, exception",
    [
        (1, ValueError),
        (9, ValueError),
        (onnx_defs.onnx_opset_version() + 1, ValueError),
        (100, ValueError),
        ("a", TypeError),
        (None, TypeError),
        (17.0, TypeError),
        (True, TypeError),
    ],
)
def test_decoder_target_opset_is_checked(fitted, target_opset, exception):
    ae = fitted["ae_logreg"][0]
    with pytest.raises(exception, match=r"target_opset.* 10 .*to \d+"):
        decoder_to_onnx(ae, target_opset=target_opset)


@pytest.mark.parametrize("target_opset", [10, onnx_defs.onnx_opset_version()])
def test_decoder_exports_every_supported_opset(fitted, digits_f32, target_opset):
    ae = fitted["ae_logreg"][0]
    model = decoder_to_onnx(ae, target_opset=np.int64(target_opset))
    assert model.opset_import[0].version == target_opset
    Z = ae.transform(digits_f32[0][:5])
    (X_hat,) = run_onnx(model, Z)
    np.testing.assert_allclose(X_hat, ae.inverse_transform(Z), rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", ["vae_mlp", "encoder_classifier"])
def test_converters_refuse_opsets_before_10(fitted, digits_f32, name):
    model = fitted[name]
    with pytest.raises(ValueError, match="target_opset=9 is too old for skae models"):
        to_onnx(model, digits_f32[0][:1], target_opset=9)


MNIST_FILES = [
    get_data_home() / "mnist" / name
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")
]


@pytest.mark.slow
@pytest.mark.skipif(
    not all(f.is_file() for f in MNIST_FILES),
    reason="no MNIST files in the data home (set SKAE_DATA); never downloads",
)
@pytest.mark.parametrize(
    "name",
    ["ae_logreg", "scaler_kae_svc", "vae_mlp", "conv_vae_mlp", "itl_logreg", "encoder_classifier"],
)
def test_pipeline_matches_skae_on_mnist_test_set(name):
    """Codes and scores within 1e-5 and identical labels on the 10,000 MNIST test images."""
    from skae.datasets import load_mnist

    X_train, y_train = load_mnist(subset="train", return_X_y=True)
    X_test, _ = load_mnist(subset="test", return_X_y=True)
    pipe = make_pipelines(fast=False)[name]
    # 5,000 training images keep the fits short; the check is on all 10,000 test images.
    pipe.fit(X_train[:5000], y_train[:5000])
    check_pipeline(pipe, X_test)


@pytest.mark.parametrize(
    "params",
    [
        dict(noise="gaussian", dropout=0.2, activation="tanh"),
        dict(latent_activation="sigmoid", sparsity="kl", sparsity_weight=1e-3),
    ],
)
def test_regularised_autoencoder_exports_its_inference_encoder(digits_f32, params):
    """Training-only parts (input noise, dropout layers) export as the identity."""
    X, _ = digits_f32
    ae = AutoencoderTransformer(
        latent_dim=4, hidden_layer_sizes=(16,), max_epochs=2, random_state=0, **params
    ).fit(X)
    (codes,) = run_onnx(to_onnx(ae, X[:1]), X)
    np.testing.assert_allclose(codes, ae.transform(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize(
    ("name", "step"),
    [("ae_logreg", 0), ("scaler_kae_svc", 1), ("vae_mlp", 0), ("conv_vae_mlp", 0)],
)
def test_decoder_matches_inverse_transform(fitted, digits_f32, name, step):
    model = fitted[name][step]
    X = digits_f32[0]
    Z = fitted[name][: step + 1].transform(X)
    (X_hat,) = run_onnx(decoder_to_onnx(model), Z)
    assert X_hat.shape == (len(X), model.n_features_in_)
    np.testing.assert_allclose(X_hat, model.inverse_transform(Z), rtol=0, atol=ATOL)
