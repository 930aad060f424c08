"""GridSearchCV on a Dask cluster (joblib's Dask backend) matches the local run."""

import logging
import os

import numpy as np
import pytest
from dask import distributed
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer

PARAM_GRID = {"latent_dim": [2, 4, 8]}


def _search():
    ae = AutoencoderTransformer(
        hidden_layer_sizes=(16,), max_epochs=3, batch_size=128, random_state=0
    )
    return GridSearchCV(ae, PARAM_GRID, cv=2)


@pytest.mark.slow  # starts two worker processes, each importing torch
def test_gridsearch_on_dask_localcluster_matches_local(digits, monkeypatch):
    X = digits[0][:300]
    local = _search().fit(X)

    # Worker processes must import skae from this checkout even when it is not installed.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        parallel_config(backend="dask"),
    ):
        remote = _search().set_params(n_jobs=-1).fit(X)

    # The fits ran on the cluster, spread over both worker processes...
    workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2
    # ...and found exactly what the local run found.
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key], rtol=1e-6)
    np.testing.assert_allclose(
        remote.best_estimator_.transform(X), local.best_estimator_.transform(X), rtol=1e-5
    )
