"""Parts shared by ``bench_representations.py``, ``bench_anchor.py``,
``bench_ceiling.py`` and ``search_recipes.py``.

The classifiers put in front of each representation and the anchor's error measure (so
that the search scores its candidates as the benchmarks score their rows), and the
row-by-row CSV writer of the three benchmarks (rows appended as they are measured;
``_common.start_table`` decides whether a run starts afresh or resumes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from _common import update_table
from skae import KAutoencoderTransformer

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


def n_parameters(model) -> int:
    """Trainable parameters of a representation (PCA: its components and mean)."""
    if isinstance(model, PCA):
        return int(model.components_.size + model.mean_.size)
    if isinstance(model, KAutoencoderTransformer):
        return sum(n_parameters(m) for m in model.estimators_)
    module = getattr(model, "module_", None)
    if module is None:
        return -1  # UMAP: the training rows themselves, no parameter count
    return int(sum(p.numel() for p in module.parameters()))


def done_keys(path: Path, key) -> set:
    """The keys (``key`` columns, as strings) of the rows already in the CSV at ``path``."""
    if not path.exists():
        return set()
    frame = pd.read_csv(path)
    return {tuple(str(v) for v in row) for row in frame[key].itertuples(index=False)}


def append_row(path: Path, row: dict, key: list[str]) -> None:
    """Save one measured row (``_common.update_table``: the row of the same ``key`` is
    replaced, the others stay) and print it."""
    update_table(path, [row], key)
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)


def write_markdown(frame, path, header):
    """Write ``frame`` as a Markdown table under ``header`` to ``path``, and print it."""
    markdown = frame.to_markdown(index=False, floatfmt=".4g")
    path.write_text(f"{header}\n\n{markdown}\n")
    print(header)
    print(frame.to_string(index=False))
