"""skae: scikit-learn-compatible autoencoder transformers built on PyTorch and skorch."""

from . import datasets as datasets  # the subpackage, so that skae.datasets works
from . import exceptions as exceptions
from ._autoencoder import AutoencoderTransformer
from ._base import BaseAutoencoder
from ._encoder_classifier import EncoderClassifier
from ._evaluation import per_class_reconstruction_error
from ._itl import ITLAutoencoder
from ._k_autoencoder import KAutoencoderTransformer
from ._vae import VAETransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderTransformer",
    "BaseAutoencoder",
    "EncoderClassifier",
    "ITLAutoencoder",
    "KAutoencoderTransformer",
    "VAETransformer",
    "__version__",
    "per_class_reconstruction_error",
]
