"""
====================================================
Find the odd images out with an autoencoder detector
====================================================

``AutoencoderOutlierDetector`` trains an autoencoder on normal data and scores new
samples by how badly they are reconstructed: higher ``score_samples`` is more
normal, ``predict`` says +1 (inlier) or -1 (outlier). Two uses on scikit-learn's 8x8
digits, each next to ``IsolationForest`` and ``LocalOutlierFactor``:

1. novelty detection: fit on one digit's training images, score every test image
   (the nine other digits are the anomalies), ROC AUC per digit;
2. outlier detection: fit on one digit's images with 5 % of other digits mixed in,
   and let ``fit_predict`` flag them, with ``contamination=0.05``.

See :doc:`/user_guide/outlier_detection`.
"""

# requires: AutoencoderOutlierDetector, matplotlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor

from skae import AutoencoderOutlierDetector

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Novelty detection
# -----------------
# One digit is normal, the nine others are new and abnormal. Each detector is fitted
# on one digit's training images and ranks every test image; the ROC AUC says how
# well the ranking puts that digit first.

detectors = {
    "AutoencoderOutlierDetector": lambda: AutoencoderOutlierDetector(random_state=0),
    "IsolationForest": lambda: IsolationForest(random_state=0),
    "LocalOutlierFactor": lambda: LocalOutlierFactor(novelty=True),
}

auc, fitted = {}, {}
for digit in range(10):
    normal = X_train[y_train == digit]
    for name, make in detectors.items():
        fitted[digit, name] = make().fit(normal)
        scores = fitted[digit, name].score_samples(X_test)  # higher = more normal
        auc[digit, name] = roc_auc_score(y_test == digit, scores)
table = pd.Series(auc).unstack()
table.loc["mean"] = table.mean()
print("ROC AUC, one digit normal, the other nine anomalies:")
print(table.round(3).to_string())

# %%
# The zero detector's view of the test set: its most normal and least normal images.

zero_detector = fitted[0, "AutoencoderOutlierDetector"]
order = np.argsort(zero_detector.score_samples(X_test))
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, index in zip(axes.ravel(), [*order[::-1][:8], *order[:8]]):
    ax.imshow(X_test[index].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
axes[0, 0].set_title("most normal", loc="left", fontsize=9)
axes[1, 0].set_title("least normal", loc="left", fontsize=9)
fig.tight_layout()
plt.show()

# %%
# Outlier detection
# -----------------
# Zeros with 5 % of other digits mixed in; ``fit_predict`` flags the rows it finds
# abnormal, ``contamination=0.05`` of them.

rng = np.random.default_rng(0)
zeros = np.flatnonzero(y == 0)
intruders = rng.choice(np.flatnonzero(y != 0), round(len(zeros) * 0.05 / 0.95), replace=False)
X_mixed = X[np.r_[zeros, intruders]]
is_intruder = np.r_[np.zeros(len(zeros), bool), np.ones(len(intruders), bool)]
detector = AutoencoderOutlierDetector(contamination=0.05, random_state=0)
flags = detector.fit_predict(X_mixed) == -1
print(
    f"{flags.sum()} rows flagged out of {len(X_mixed)}; "
    f"{(flags & is_intruder).sum()} of the {is_intruder.sum()} intruders among them"
)
print(f"threshold: offset_ = {detector.offset_:.2f}, score = {detector.anomaly_score_!r}")
