"""
=========================================================
Few labels: semi-supervised learning on autoencoder codes
=========================================================

Only 5 of the digits' training images per class keep their label; the others are
marked ``-1``, scikit-learn's "unlabelled". The autoencoder learns its codes from every
image; ``LabelSpreading`` and ``SelfTrainingClassifier`` then use the unlabelled codes
too, and ``EncoderClassifier`` fine-tunes the encoder on the labelled images while it
keeps reconstructing all of them, or while it keeps its predictions steady around
every image (virtual adversarial training). An SVC on the 50 labelled images is the
baseline. See :doc:`/user_guide/few_labels`.

The recommended use, ``EncoderClassifier().fit(X, y)`` with its defaults, trains a
larger network for longer than this page's budget: on these digits with 5 labels per
class its fit took about a minute on two CPU cores and reached 0.93 test accuracy
(``skae study --few-labels 5``, :doc:`/user_guide/study`). The models below use a
small autoencoder trained for 30 epochs.
"""

# requires: AutoencoderTransformer, EncoderClassifier

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from skae import AutoencoderTransformer, EncoderClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Hide most labels
# ----------------
# Keep 5 labels per class; -1 marks the other rows as unlabelled.

rng = np.random.default_rng(0)
labelled = np.concatenate(
    [rng.choice(np.flatnonzero(y_train == k), 5, replace=False) for k in range(10)]
)
y_partial = np.full_like(y_train, -1)
y_partial[labelled] = y_train[labelled]
print(f"{len(labelled)} labelled, {np.sum(y_partial == -1)} unlabelled training images")

# %%
# The models
# ----------


def autoencoder():
    return AutoencoderTransformer(
        latent_dim=16,
        hidden_layer_sizes=(64,),
        output_activation="sigmoid",
        loss="bce",
        max_epochs=30,
        batch_size=64,
        random_state=0,
    )


models = {
    "SVC on the 50 labelled images": SVC(C=10),
    "autoencoder + LabelSpreading": make_pipeline(
        autoencoder(), LabelSpreading(kernel="knn", n_neighbors=10)
    ),
    # CalibratedClassifierCV(SVC(), ensemble=False) replaces SVC(probability=True),
    # deprecated in scikit-learn 1.9: self-training needs probabilities. Temperature
    # scaling keeps the SVC's own predictions; Platt scaling's per-class sigmoids,
    # fitted on a few labels per class, change them.
    "autoencoder + SelfTrainingClassifier(SVC)": make_pipeline(
        autoencoder(),
        SelfTrainingClassifier(
            CalibratedClassifierCV(SVC(C=10), method="temperature", ensemble=False),
            threshold=0.7,
        ),
    ),
    "EncoderClassifier, reconstruction kept": EncoderClassifier(
        encoder=autoencoder(),
        reconstruction_weight=1.0,
        consistency_weight=0.0,
        entropy_weight=0.0,
        lr=3e-3,
        batch_size=64,
        max_epochs=30,
        random_state=0,
    ),
    # Virtual adversarial training and entropy minimisation on every image (the
    # defaults' terms); the radius suits 64 pixels in [0, 1] (2.0 suits MNIST's 784).
    "EncoderClassifier, consistency + entropy": EncoderClassifier(
        encoder=autoencoder(),
        consistency_weight=1.0,
        consistency_radius=0.5,
        entropy_weight=1.0,
        lr=3e-3,
        batch_size=64,
        max_epochs=30,
        random_state=0,
    ),
}

# %%
# Test accuracy
# -------------
# Every model but the baseline sees every training image, 50 of them labelled.

rows = []
for name, model in models.items():
    if name.startswith("SVC"):
        model.fit(X_train[labelled], y_train[labelled])
    else:
        model.fit(X_train, y_partial)
    rows.append({"model": name, "test accuracy": model.score(X_test, y_test)})

print(pd.DataFrame(rows).round(3).to_string(index=False))
