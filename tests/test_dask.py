"""GridSearchCV on a Dask cluster (joblib's Dask backend) matches the local run."""

import os
import sys

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer

PARAM_GRID = {"latent_dim": [2, 4, 8]}


def _search():
    ae = AutoencoderTransformer(
        hidden_layer_sizes=(16,), max_epochs=3, batch_size=128, random_state=0
    )
    return GridSearchCV(ae, PARAM_GRID, cv=2)


@pytest.mark.slow  # ~10-15 s: starts a two-process cluster
def test_gridsearch_on_dask_localcluster_matches_local(digits, monkeypatch):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_backend

    X = digits[0][:300]
    local = _search().fit(X)

    # Worker processes must import skae from this checkout even when it is not installed.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, *sys.path]))
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster),
        parallel_backend("dask"),
    ):
        remote = _search().set_params(n_jobs=-1).fit(X)

    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
