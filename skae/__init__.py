"""skae: scikit-learn-compatible autoencoder transformers built on PyTorch and skorch."""

import importlib

from . import exceptions as exceptions

__version__ = "0.1.0.dev0"

#: public name -> the module defining it. Names and subpackages are imported on first
#: use (PEP 562), so that ``import skae`` and the ``skae`` command start at once; torch
#: loads with the first estimator (and a Ctrl-C meanwhile is the command's to handle).
_LAZY = {
    "AutoencoderOutlierDetector": "._outlier",
    "AutoencoderTransformer": "._autoencoder",
    "BaseAutoencoder": "._base",
    "EncoderClassifier": "._encoder_classifier",
    "per_class_reconstruction_error": "._evaluation",
    "ITLAutoencoder": "._itl",
    "KAutoencoderTransformer": "._k_autoencoder",
    "VAETransformer": "._vae",
}
_SUBPACKAGES = ("datasets", "optim", "plotting", "priors", "study")

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "BaseAutoencoder",
    "EncoderClassifier",
    "ITLAutoencoder",
    "KAutoencoderTransformer",
    "VAETransformer",
    "__version__",
    "per_class_reconstruction_error",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBPACKAGES})
