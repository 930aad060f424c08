"""Parts shared by ``bench_representations.py`` and ``search_recipes.py``.

The classifiers put in front of each representation and the anchor's error measure, so
that the search scores its candidates as the benchmark scores its rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

#: the classifiers on every code (standardised codes for the linear and RBF models)
CLASSIFIERS = {
    "logistic regression": lambda: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000)
    ),
    "RBF SVC": lambda: make_pipeline(StandardScaler(), SVC()),
    "5-NN": lambda: KNeighborsClassifier(n_neighbors=5),
}


def squared_error_per_image(X, X_hat) -> float:
    """Squared reconstruction error per image: summed over the pixels, mean over images."""
    return float(np.mean(np.sum((np.asarray(X, np.float64) - X_hat) ** 2, axis=1)))
