"""Representations and classifiers a study can compare, each one small factory.

A representation factory takes the study's :class:`ModelSettings`, a latent size and
a seed and returns an unfitted transformer; a classifier factory takes a seed and
returns an unfitted classifier. Add an entry to offer a new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# imported here, not in the factories, so that a row's classifier_seconds does not
# include a first import
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import skae

from ._errors import StudyError

#: AutoencoderTransformer parameters shared by the neural representations and shown in
#: a row's ``params``; the family-specific ones are added per entry
_AE_KEYS = (
    "hidden_layer_sizes",
    "activation",
    "output_activation",
    "optimizer",
    "lr",
    "batch_size",
    "max_epochs",
)


@dataclass(frozen=True)
class ModelSettings:
    """Settings shared by every neural representation of one study."""

    hidden_layer_sizes: tuple[int, ...]
    max_epochs: int
    optimizer: str
    lr: float | None
    batch_size: int | str
    image_shape: tuple[int, int]
    #: the names of the settings above that the user gave (``quick`` gives
    #: ``max_epochs``); the others are the study's defaults for its small networks,
    #: which skae's default model (``ae-default``) does not take
    given: frozenset[str] = frozenset()

    def given_kwargs(self) -> dict:
        """The settings the user gave, as estimator parameters (``lr`` only when set)."""
        return {
            name: getattr(self, name)
            for name in ("hidden_layer_sizes", "optimizer", "lr", "batch_size", "max_epochs")
            if name in self.given and getattr(self, name) is not None
        }

    def ae_kwargs(self) -> dict:
        kwargs = dict(
            hidden_layer_sizes=self.hidden_layer_sizes,
            output_activation="sigmoid",
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            # the study compares plain autoencoders (AutoencoderTransformer's default
            # adds Gaussian noise; the VAE and ITL models default to none)
            noise=None,
        )
        if self.lr is not None:
            kwargs["lr"] = self.lr
        return kwargs


@dataclass(frozen=True)
class Representation:
    """A named way to turn images into codes of a given size."""

    name: str
    summary: str
    build: Callable[[ModelSettings, int, int], object]
    #: parameters shown in the ``params`` column (besides latent size and seed)
    keys: tuple[str, ...]
    #: the skae class it needs (None: always available)
    requires: str | None = None

    def available(self) -> bool:
        return self.requires is None or hasattr(skae, self.requires)

    def describe(self, estimator) -> str:
        """``key=value`` pairs of the parameters in :attr:`keys`, for the table."""
        params = estimator.get_params(deep=True)
        return ", ".join(
            f"{key.removeprefix('estimator__')}={_short(params[key])}" for key in self.keys
        )


def _short(value) -> str:
    if isinstance(value, tuple | list):
        return str(tuple(value))
    if hasattr(value, "get_params"):  # an estimator template: its class name
        return type(value).__name__
    return str(value)


def _pca(settings, latent_dim, seed):
    return PCA(n_components=latent_dim, random_state=seed)


def _autoencoder(activation):
    def build(settings, latent_dim, seed):
        return skae.AutoencoderTransformer(
            latent_dim=latent_dim, activation=activation, random_state=seed, **settings.ae_kwargs()
        )

    return build


def _default_autoencoder(settings, latent_dim, seed):
    # skae's defaults as a user gets them: the study's defaults for its small networks
    # do not apply, only what the user asked for on purpose
    return skae.AutoencoderTransformer(
        latent_dim=latent_dim, random_state=seed, **settings.given_kwargs()
    )


def _itl(settings, latent_dim, seed):
    kwargs = settings.ae_kwargs()
    kwargs["activation"] = "relu"
    return skae.ITLAutoencoder(
        latent_dim=latent_dim, prior="gaussian", regularizer="csd", random_state=seed, **kwargs
    )


def _vae(architecture):
    def build(settings, latent_dim, seed):
        # the conv architecture reshapes rows to images; the dense one needs no shape
        shape = settings.image_shape if architecture == "conv" else None
        return skae.VAETransformer(
            latent_dim=latent_dim,
            architecture=architecture,
            image_shape=shape,
            activation="relu",
            random_state=seed,
            **settings.ae_kwargs(),
        )

    return build


def _kae(n_autoencoders):
    def build(settings, latent_dim, seed):
        template = skae.AutoencoderTransformer(activation="relu", **settings.ae_kwargs())
        return skae.KAutoencoderTransformer(
            estimator=template,
            n_autoencoders=n_autoencoders,
            latent_dim=latent_dim,
            random_state=seed,
        )

    return build


_REPRESENTATIONS = [
    Representation("pca", "PCA, the linear baseline", _pca, ("svd_solver",)),
    *(
        Representation(
            f"ae-{act}",
            f"AutoencoderTransformer with {act} hidden layers",
            _autoencoder(act),
            _AE_KEYS,
        )
        for act in ("linear", "sigmoid", "relu", "elu", "tanh")
    ),
    Representation(
        "ae-default",
        "AutoencoderTransformer with skae's defaults (denoising, two hidden layers, "
        "epochs for its data size); --hidden, --max-epochs, --optimizer, --lr and "
        "--batch-size apply only when given",
        _default_autoencoder,
        (*_AE_KEYS, "noise", "noise_level", "lr_schedule"),
    ),
    Representation(
        "itl",
        "ITLAutoencoder: code pulled to a Gaussian prior by the Cauchy-Schwarz divergence",
        _itl,
        (*_AE_KEYS, "prior", "regularizer", "lambda_"),
        requires="ITLAutoencoder",
    ),
    Representation(
        "vae",
        "VAETransformer, dense (code: posterior mean)",
        _vae("dense"),
        (*_AE_KEYS, "architecture", "loss", "beta"),
        requires="VAETransformer",
    ),
    Representation(
        "vae-conv",
        "VAETransformer, convolutional (code: posterior mean)",
        _vae("conv"),
        (*_AE_KEYS, "architecture", "loss", "beta"),
        requires="VAETransformer",
    ),
]

REPRESENTATIONS = {r.name: r for r in _REPRESENTATIONS}

#: ``kae<k>``: an ensemble of k ReLU autoencoders (any k >= 1), each with a code of
#: the study's latent size, concatenated (k x latent size features)
_KAE_PATTERN = re.compile(r"kae([1-9][0-9]*)")
_KAE_KEYS = ("n_autoencoders", "bootstrap", *(f"estimator__{k}" for k in _AE_KEYS))


def _kae_representation(k: int) -> Representation:
    return Representation(
        f"kae{k}",
        f"KAutoencoderTransformer: {k} ReLU autoencoders, codes concatenated",
        _kae(k),
        _KAE_KEYS,
        requires="KAutoencoderTransformer",
    )


def representation_names(available_only: bool = True) -> list[str]:
    """Representation names a study accepts.

    Parameters
    ----------
    available_only : bool, default=True
        Leave out the representations whose estimator this version of skae lacks.

    Returns
    -------
    names : list of str
        ``kae<k>`` (any k >= 1) appears as ``'kae<k> (e.g. kae3)'``.

    Examples
    --------
    >>> from skae.study import representation_names
    >>> representation_names()[:3]
    ['pca', 'ae-linear', 'ae-sigmoid']
    """
    names = [r.name for r in _REPRESENTATIONS if r.available() or not available_only]
    if not available_only or hasattr(skae, "KAutoencoderTransformer"):
        names.append("kae<k> (e.g. kae3)")
    return names


def get_representation(name: str) -> Representation:
    """The registry entry for ``name``; a :class:`StudyError` listing the valid names."""
    match = _KAE_PATTERN.fullmatch(name) if isinstance(name, str) else None
    entry = _kae_representation(int(match.group(1))) if match else REPRESENTATIONS.get(name)
    if entry is None:
        raise StudyError(
            f"unknown representation {name!r}; choose from {', '.join(representation_names())}."
        )
    if not entry.available():
        raise StudyError(
            f"representation {name!r} needs skae.{entry.requires}, which this version of "
            f"skae lacks; choose from {', '.join(representation_names())}."
        )
    return entry


# ---------------------------------------------------------------------- classifiers
def _logreg(seed):
    return LogisticRegression(max_iter=1000)


def _svc(seed):
    return SVC(random_state=seed)


def _knn(seed):
    return KNeighborsClassifier(n_neighbors=5)


def _mlp(activation):
    def build(seed):
        return MLPClassifier(
            hidden_layer_sizes=(100,), activation=activation, max_iter=300, random_state=seed
        )

    return build


@dataclass(frozen=True)
class Classifier:
    """A named scikit-learn classifier trained on the standardised codes."""

    name: str
    summary: str
    build: Callable[[int], object]

    def make(self, seed: int):
        """A pipeline: StandardScaler (codes have arbitrary scales), then the classifier."""
        return make_pipeline(StandardScaler(), self.build(seed))


CLASSIFIERS = {
    c.name: c
    for c in (
        Classifier("logreg", "LogisticRegression(max_iter=1000)", _logreg),
        Classifier("svc", "SVC (RBF kernel, C=1)", _svc),
        Classifier("knn", "KNeighborsClassifier: 5 nearest neighbours", _knn),
        Classifier("mlp", "MLPClassifier: one hidden layer of 100 ReLU units", _mlp("relu")),
        Classifier(
            "mlp-sigmoid",
            "MLPClassifier: one hidden layer of 100 sigmoid units",
            _mlp("logistic"),
        ),
    )
}


def get_classifier(name: str) -> Classifier:
    """The registry entry for ``name``; a :class:`StudyError` listing the valid names."""
    if name not in CLASSIFIERS:
        raise StudyError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}.")
    return CLASSIFIERS[name]
