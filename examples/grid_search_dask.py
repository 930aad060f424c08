"""
====================================
Run a GridSearchCV on a Dask cluster
====================================

The search is the same object as a local one; only the joblib backend changes. Here
the cluster is a ``LocalCluster`` of two worker processes on the same machine; for a
real cluster, pass the scheduler's address to ``Client`` instead. Needs
``pip install "dask[distributed]"`` (part of skae's ``test`` extra). See
:doc:`/scaling`.

This example is shown without its output: it needs Dask, which is not a skae
dependency, and starts worker processes, so the documentation build does not run it
(the test suite does, ``tests/test_examples.py``).
"""

# requires: AutoencoderTransformer, dask.distributed

import logging

from dask.distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skae import AutoencoderTransformer

# %%
# The search, as on one machine
# -----------------------------

X, y = load_digits(return_X_y=True)
pipe = Pipeline(
    [
        ("ae", AutoencoderTransformer(lr=1e-2, batch_size=128, max_epochs=20, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
search = GridSearchCV(pipe, {"ae__latent_dim": [2, 8, 16]}, cv=3, n_jobs=-1)

# %%
# Fit on the cluster
# ------------------
# Worker processes import this file: the ``__main__`` guard starts the cluster once.

if __name__ == "__main__":
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
        parallel_config(backend="dask"),
    ):
        print("workers:", len(client.scheduler_info()["workers"]))
        search.fit(X / 16.0, y)
    print(search.cv_results_["mean_test_score"].round(3))
    print("best:", search.best_params_, "cv accuracy", round(search.best_score_, 3))
