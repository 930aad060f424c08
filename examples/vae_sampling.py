"""Draw new digits from a variational autoencoder.

A VAE's code follows (approximately) a standard normal, so decoding samples of
N(0, I) with ``inverse_transform`` produces new images.
"""

# requires: VAETransformer

import numpy as np
from sklearn.datasets import load_digits

from skae import VAETransformer

X, _ = load_digits(return_X_y=True)
X = X / 16.0

vae = VAETransformer(latent_dim=4, max_epochs=50, random_state=0).fit(X)
print(vae.history_.tail(3).round(4))

rng = np.random.default_rng(0)
Z = rng.standard_normal((16, vae.latent_dim))
samples = vae.inverse_transform(Z)
print(
    "sampled images:", samples.shape, "pixel range", samples.min().round(2), samples.max().round(2)
)

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 8, figsize=(8, 2))
    for ax, image in zip(axes.ravel(), samples):
        ax.imshow(image.reshape(8, 8), cmap="gray_r")
        ax.axis("off")
    fig.savefig("vae_samples.png", dpi=100)
    print("wrote vae_samples.png")
except ImportError:
    pass
