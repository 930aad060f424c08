"""Run a GridSearchCV on a Dask cluster through joblib's Dask backend.

The search is the same object as a local one; only the joblib backend changes. Here
the cluster is a ``LocalCluster`` of two worker processes; for a real cluster pass the
scheduler's address to ``Client`` instead. Needs ``pip install "dask[distributed]"``.
"""

# requires: AutoencoderTransformer, dask.distributed

from dask.distributed import Client, LocalCluster
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderTransformer

X, _ = load_digits(return_X_y=True)
search = GridSearchCV(
    AutoencoderTransformer(max_epochs=10, random_state=0),
    {"latent_dim": [2, 4, 8, 16]},
    cv=3,
    n_jobs=-1,
)

if __name__ == "__main__":  # worker processes re-import the main module
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
        parallel_backend("dask"),
    ):
        print("dashboard:", client.dashboard_link)
        search.fit(X / 16.0)
    print(search.cv_results_["mean_test_score"].round(4))
    print("best:", search.best_params_)
