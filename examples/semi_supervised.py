"""Few labels: scikit-learn's semi-supervised tools on autoencoder codes.

Only 5 of the digits' training images per class keep their label; the others are
marked ``-1``, scikit-learn's "unlabelled". The autoencoder learns its codes from every
image; ``LabelSpreading`` and ``SelfTrainingClassifier`` then use the unlabelled codes
too, and ``EncoderClassifier`` fine-tunes the encoder on the labelled images while it
keeps reconstructing all of them, or while it keeps its predictions steady around
every image (virtual adversarial training), which its defaults do. An SVC on the 50
labelled images is the baseline.
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

# Keep 5 labels per class; -1 marks the other rows as unlabelled.
rng = np.random.default_rng(0)
labelled = np.concatenate(
    [rng.choice(np.flatnonzero(y_train == k), 5, replace=False) for k in range(10)]
)
y_partial = np.full_like(y_train, -1)
y_partial[labelled] = y_train[labelled]


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
    # The recommended use: with -1 in y, the defaults pre-train an autoencoder on every
    # image with the labels and fine-tune with terms on every image.
    "EncoderClassifier() defaults": EncoderClassifier(random_state=0),
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
    # Virtual adversarial training and entropy minimisation on every image; the
    # radius suits 64 pixels in [0, 1] (2.0 suits MNIST's 784).
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

rows = []
for name, model in models.items():
    if name.startswith("SVC"):
        model.fit(X_train[labelled], y_train[labelled])
    else:
        model.fit(X_train, y_partial)  # every image, 50 of them labelled
    rows.append({"model": name, "test accuracy": model.score(X_test, y_test)})

print(pd.DataFrame(rows).to_string(index=False))
