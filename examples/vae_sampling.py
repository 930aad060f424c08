"""Draw new digits from a variational autoencoder, and walk between two digits.

A VAE's codes follow (approximately) a standard normal, so decoding draws of N(0, I)
(``sample``) produces new images, and decoding points on the segment between two
codes (``inverse_transform``) morphs one digit into another. Runs in a few seconds
on scikit-learn's 8x8 digits.
"""

# requires: VAETransformer

import numpy as np
from sklearn.datasets import load_digits

from skae import VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0  # the Bernoulli likelihood (loss='bce') needs data in [0, 1]

vae = VAETransformer(
    latent_dim=4, hidden_layer_sizes=(128,), max_epochs=60, kl_warmup_epochs=10, random_state=0
).fit(X)
print(vae.history_[["train_loss", "train_recon", "train_kl", "beta"]].iloc[[0, 9, -1]].round(3))
print(f"mean ELBO: {vae.score(X):.2f} nats per image")

samples = vae.sample(16, random_state=0)
print(f"sampled images: {samples.shape}, pixels in [{samples.min():.2f}, {samples.max():.2f}]")

# Walk from a 0 to a 1 along the segment between their mean codes.
z0, z1 = vae.transform(X[[np.flatnonzero(y == 0)[0], np.flatnonzero(y == 1)[0]]])
walk = vae.inverse_transform(np.linspace(z0, z1, 8))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
    for ax, image in zip(axes.ravel(), [*samples, *walk]):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
    axes[0, 0].set_title("samples", loc="left", fontsize=9)
    axes[2, 0].set_title("from 0 to 1", loc="left", fontsize=9)
    fig.savefig("vae_samples.png", dpi=100)
    print("wrote vae_samples.png")
except ImportError:
    pass
