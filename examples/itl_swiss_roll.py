"""
========================================================
A 2-D code shaped like a swiss roll, with ITLAutoencoder
========================================================

``ITLAutoencoder`` adds a Cauchy–Schwarz divergence between the codes and samples of
a swiss-roll prior. Given labels, each digit class is pulled onto its own segment of
the roll, so a nearest-neighbour classifier on the 2-D code separates the classes.
See :doc:`/user_guide/itl`.
"""

# requires: ITLAutoencoder, matplotlib

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skae import ITLAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Fit with labels
# ---------------
# Batches of 500 give the divergence enough samples; ``lr=1e-2`` converges in 100
# epochs. The labels pick each class's segment of the roll; ``transform`` needs none.

itl = ITLAutoencoder(
    latent_dim=2, prior="swiss_roll", batch_size=500, lr=1e-2, max_epochs=100, random_state=0
)
Z_train = itl.fit_transform(X_train, y_train)
Z_test = itl.transform(X_test)

# %%
# ``history_`` logs each term of the loss: the reconstruction and the divergence.

print(itl.history_[["train_loss", "train_recon", "train_csd"]].tail(3).round(4))
knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
print("5-NN accuracy on the 2-D codes of held-out digits:", round(knn.score(Z_test, y_test), 3))

# %%
# The codes of the held-out digits, coloured by class:

fig, ax = plt.subplots(figsize=(5, 4))
points = ax.scatter(Z_test[:, 0], Z_test[:, 1], c=y_test, cmap="tab10", s=6)
ax.legend(
    *points.legend_elements(), title="digit", fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5)
)
ax.set_title("ITL autoencoder code, swiss-roll prior")
fig.tight_layout()
plt.show()
