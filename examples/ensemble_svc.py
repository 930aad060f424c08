"""
=====================================================
Stack the codes of k autoencoders before a classifier
=====================================================

``KAutoencoderTransformer`` trains k autoencoders from different seeds and concatenates
their codes. On the digits, the ensemble's 3 x 8 = 24 codes are compared with one
autoencoder's 8 codes, with one autoencoder with a 24-unit code, and with PCA with 24
components, each before a logistic regression and an RBF SVC. See
:doc:`/user_guide/k_autoencoder`.
"""

# requires: KAutoencoderTransformer

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skae import AutoencoderTransformer, KAutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# The representations
# -------------------
# The template every member is cloned from; ``latent_dim`` is set per ensemble below.

template = AutoencoderTransformer(hidden_layer_sizes=(64,), lr=0.01, max_epochs=30)
representations = {
    "1 autoencoder, 8 codes": KAutoencoderTransformer(
        template, n_autoencoders=1, latent_dim=8, random_state=0
    ),
    "3 autoencoders x 8 codes": KAutoencoderTransformer(
        template, n_autoencoders=3, latent_dim=8, random_state=0
    ),
    "1 autoencoder, 24 codes": KAutoencoderTransformer(
        template, n_autoencoders=1, latent_dim=24, random_state=0
    ),
    "PCA, 24 components": PCA(n_components=24),
}

# %%
# Two classifiers on each
# -----------------------
# Standardise the codes: the members' codes have unrelated scales. Compare the
# ensemble with one member (same code per member) and with one autoencoder or PCA of
# the same total code size.

classifiers = {"logistic regression": LogisticRegression(max_iter=1000), "RBF SVC": SVC()}
rows = []
for name, representation in representations.items():
    Z_train = representation.fit_transform(X_train)
    Z_test = representation.transform(X_test)
    row = {"representation": name}
    for clf_name, clf in classifiers.items():
        pipe = make_pipeline(StandardScaler(), clf).fit(Z_train, y_train)
        row[clf_name] = pipe.score(Z_test, y_test)
    rows.append(row)

print(pd.DataFrame(rows).round(3).to_string(index=False))
