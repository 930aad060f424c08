"""Stack the codes of k autoencoders and classify them with an SVC.

``KAutoencoderTransformer`` trains k autoencoders from different seeds and concatenates
their codes. On the digits, an SVC on the ensemble's 3 x 8 = 24 codes is compared with
an SVC on one autoencoder's 8 codes, on one autoencoder with a 24-unit code, and on
PCA with 24 components.
"""

# requires: KAutoencoderTransformer

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skae import AutoencoderTransformer, KAutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# The template every member is cloned from; latent_dim is set per ensemble below.
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

rows = []
for name, representation in representations.items():
    # Standardise the codes: the RBF kernel needs comparable scales across members.
    pipe = make_pipeline(representation, StandardScaler(), SVC())
    pipe.fit(X_train, y_train)
    rows.append({"representation": name, "SVC test accuracy": pipe.score(X_test, y_test)})

print(pd.DataFrame(rows).to_string(index=False))
