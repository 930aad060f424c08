"""skae: scikit-learn-compatible autoencoder transformers built on PyTorch and skorch."""

from ._autoencoder import AutoencoderTransformer
from ._base import BaseAutoencoder
from ._itl import ITLAutoencoder

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderTransformer",
    "BaseAutoencoder",
    "ITLAutoencoder",
    "__version__",
]
