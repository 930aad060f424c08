"""
==============================================
Draw new digits from a variational autoencoder
==============================================

A VAE's codes follow (approximately) a standard normal, so decoding draws of N(0, I)
(``sample``) produces new images, and decoding points on the segment between two
codes (``inverse_transform``) morphs one digit into another. Runs in a few seconds
on scikit-learn's 8x8 digits. See :doc:`/user_guide/vae`.
"""

# requires: VAETransformer, matplotlib

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skae import VAETransformer

# %%
# Fit the VAE
# -----------
# Pixels are scaled to [0, 1], so ``loss='auto'`` picks the Bernoulli likelihood (the
# binary cross-entropy) and a sigmoid output. The KL weight ``beta`` rises from 0 to
# 1 over the first 10 epochs (``kl_warmup_epochs``).

X, y = load_digits(return_X_y=True)
X = X / 16.0

vae = VAETransformer(
    latent_dim=4, hidden_layer_sizes=(128,), max_epochs=60, kl_warmup_epochs=10, random_state=0
).fit(X)
print(vae.loss_, vae.output_activation_)
print(vae.history_[["train_loss", "train_recon", "train_kl", "beta"]].iloc[[0, 9, -1]].round(3))
print(f"mean ELBO: {vae.score(X):.2f} nats per image")

# %%
# Sample, and walk between two digits
# -----------------------------------
# ``sample`` decodes draws of N(0, I) into pixel probabilities. The walk goes from a
# 0 to a 1 along the segment between their mean codes.

samples = vae.sample(16, random_state=0)
print(f"sampled images: {samples.shape}, pixels in [{samples.min():.2f}, {samples.max():.2f}]")

z0, z1 = vae.transform(X[[np.flatnonzero(y == 0)[0], np.flatnonzero(y == 1)[0]]])
walk = vae.inverse_transform(np.linspace(z0, z1, 8))

fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for ax, image in zip(axes.ravel(), [*samples, *walk]):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
axes[0, 0].set_title("samples", loc="left", fontsize=9)
axes[2, 0].set_title("from 0 to 1", loc="left", fontsize=9)
plt.show()
