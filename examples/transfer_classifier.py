"""
======================================================
Reuse a trained encoder as a classifier's first layers
======================================================

An autoencoder is pre-trained on the digits without their labels; ``EncoderClassifier``
then puts a softmax layer on a copy of its encoder and trains on the labels, either
the new layer only (frozen encoder) or the whole network (fine-tuning). A network of
the same shape trained from random weights is the baseline. See
:doc:`/user_guide/encoder_classifier`.
"""

# requires: AutoencoderTransformer, EncoderClassifier

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, EncoderClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, stratify=y, random_state=0)

# %%
# Pre-train the autoencoder
# -------------------------
# Pre-training sees the inputs only: unlabelled data could be added here.

ae = AutoencoderTransformer(
    latent_dim=32,
    hidden_layer_sizes=(),
    latent_activation="sigmoid",
    max_epochs=50,
    lr=1e-2,
    random_state=0,
).fit(X_train)
codes_before = ae.transform(X_test)

# %%
# Frozen, fine-tuned, and from random weights
# -------------------------------------------

common = dict(lr=1e-2, max_epochs=30, random_state=0)
models = {
    "frozen encoder, new head only": EncoderClassifier(encoder=ae, freeze_encoder=True, **common),
    "pre-trained, fine-tuned": EncoderClassifier(encoder=ae, **common),
    "random start (baseline)": EncoderClassifier(encoder_hidden_layer_sizes=(32,), **common),
}
for name, clf in models.items():
    clf.fit(X_train, y_train)
    print(f"{name:30s} test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# The classifiers train copies of the encoder: the autoencoder itself is unchanged.

print("autoencoder unchanged:", np.array_equal(codes_before, ae.transform(X_test)))
