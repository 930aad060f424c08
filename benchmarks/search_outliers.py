"""The search behind ``AutoencoderOutlierDetector``'s defaults: which model, which score.

One-class protocol on **validation data made from training images only** (the test
sets are never looked at here): for each class ``c`` of MNIST's 60,000 training
images (or of Kuzushiji-MNIST's 8,000-image fit part), 80 % of class ``c`` (seeded)
trains the model; the remaining 20 % of class ``c`` are the normal validation rows
and ``--n-anomalies`` images of the other classes (seeded) the anomalies. Each
candidate model (``CANDIDATES``: an autoencoder template) is fitted once per class and
seed, and every candidate score is computed from that one fit:

* ``bce`` / ``mse``: per-image reconstruction error (binary cross-entropy, squared
  error), averaged over pixels; ``mse_w``: each pixel's squared error divided by its
  mean over the training rows (a diagonal Gaussian model of the residuals);
* ``maha``: squared Mahalanobis distance of the code to the training codes' mean
  (covariance of the training codes, a small ridge);
* ``knn5``: mean distance of the code to its 5 nearest training codes; ``lof``: the
  log of the code's local outlier factor among the training codes (20 neighbours);
* ``mse_rel``: the squared error relative to the image's own squared norm;
  ``mse_relmu``: relative to its squared distance to the mean training image;
* ``bce+maha`` (and others; ``lmaha`` is the log of ``maha``): the sum of the components, each standardised by the
  median and the interquartile range of its training values (``log`` of the
  reconstruction error first: its right tail is long);
* ``elbo``: minus the VAE's evidence lower bound (VAE candidates only).

ROC AUC and average precision per class, with fit seconds (one torch thread per
process; ``--jobs`` processes). Rows are appended to ``results/outliers/outlier_search.csv``
as each fit ends (a rerun skips the cells already there); the summary (mean AUC over
the classes per candidate and score) goes to ``results/outliers/outlier_search.md``.

``--neighbours`` runs the second stage instead: the detector's default
(``AutoencoderOutlierDetector(random_state=seed)``) on the same one-class validation
splits, and on the same splits with 5 % of the fitting rows drawn from the other
classes (``contaminated``), scored by the relative reconstruction error alone, by the
code's local outlier factor with ``k`` = 20, 50, 100 and 200 neighbours, and by their
sum (``comb<k>``; with 50 neighbours also the sum with the factor's term weighted
0.25 and 0.5, ``comb50_w<weight>``), into ``results/outliers/outlier_search_neighbours.{csv,md}``.

Run: ``python benchmarks/search_outliers.py --datasets mnist --jobs 2``;
``--candidates NAME ...`` restricts the candidates, ``--classes`` the classes,
``--quick`` runs 1,000 training rows per class into ``outlier_search_quick.*``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import pandas as pd

from _common import default_data_home, machine_header, results_dir, update_table

#: where this benchmark writes its tables and figures
RESULTS = results_dir("outliers")

#: name -> (estimator class name, parameters)
CANDIDATES = {
    # the AutoencoderTransformer defaults with 20 epochs and 32 units (the model)
    "ae-default-32-20ep": ("AutoencoderTransformer", {"latent_dim": 32, "max_epochs": 20}),
    "ae-default-16-20ep": ("AutoencoderTransformer", {"latent_dim": 16, "max_epochs": 20}),
    "ae-default-8-20ep": ("AutoencoderTransformer", {"latent_dim": 8, "max_epochs": 20}),
    "ae-256-64-32-30ep": (
        "AutoencoderTransformer",
        {"latent_dim": 32, "hidden_layer_sizes": (256, 64), "max_epochs": 30},
    ),
    "ae-256-64-16-30ep": (
        "AutoencoderTransformer",
        {"latent_dim": 16, "hidden_layer_sizes": (256, 64), "max_epochs": 30},
    ),
    "ae-512-128-32-30ep": (
        "AutoencoderTransformer",
        {"latent_dim": 32, "hidden_layer_sizes": (512, 128), "max_epochs": 30},
    ),
    "ae-default-32-20ep-nonoise": (
        "AutoencoderTransformer",
        {"latent_dim": 32, "max_epochs": 20, "noise": None},
    ),
    "ae-default-32-40ep": ("AutoencoderTransformer", {"latent_dim": 32, "max_epochs": 40}),
    "vae-256-16-30ep": (
        "VAETransformer",
        {"latent_dim": 16, "hidden_layer_sizes": (256,), "max_epochs": 30},
    ),
}

RECON = ("bce", "mse", "mse_w", "mse_rel", "mse_relmu")
CODE = ("maha", "knn5", "lof")
COMBINED = (
    "bce+maha",
    "mse+maha",
    "bce+lmaha",
    "mse+lmaha",
    "bce+knn5",
    "mse+knn5",
    "mse+lof",
    "mse_w+lof",
    "mse_rel+lof",
    "bce+maha+knn5",
    "elbo+maha",
)


def load(name: str, data_home: str):
    from skae.datasets import load_split

    if name == "mnist":
        data = load_split("mnist", data_home=data_home)
    else:
        data = load_split("kmnist", split="test-only", data_home=data_home)
    return data.X_train, data.y_train


def split(y: np.ndarray, c: int, seed: int, n_anomalies: int, quick: bool):
    rng = np.random.default_rng([seed, c])
    normal = rng.permutation(np.flatnonzero(y == c))
    n_fit = int(0.8 * len(normal))
    fit, valid_normal = normal[:n_fit], normal[n_fit:]
    if quick:
        fit = fit[:1000]
    others = np.flatnonzero(y != c)
    anomalies = rng.choice(others, min(n_anomalies, len(others)), replace=False)
    return fit, valid_normal, anomalies


def robust_z(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    q1, median, q3 = np.percentile(train, [25, 50, 75])
    return (values - median) / max(q3 - q1, 1e-12)


def candidate_scores(model, X_fit, X_valid) -> dict:
    """Anomaly scores (higher = more anomalous) of X_valid, by candidate score name."""
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    eps = 1e-6
    out, parts = {}, {}
    pixel_variance = None
    mean_image = X_fit.mean(axis=0, dtype=np.float64)
    for name, X in (("train", X_fit), ("valid", X_valid)):
        R = np.clip(model.reconstruct(X), eps, 1 - eps).astype(np.float64)
        Xd = X.astype(np.float64)
        bce = -np.mean(Xd * np.log(R) + (1 - Xd) * np.log(1 - R), axis=1)
        mse = np.mean((Xd - R) ** 2, axis=1)
        if pixel_variance is None:  # the training rows come first
            squares = (Xd - R) ** 2
            pixel_variance = squares.mean(axis=0) + 1e-3 * squares.mean()
        mse_w = np.mean((Xd - R) ** 2 / pixel_variance, axis=1)
        mse_rel = np.sum((Xd - R) ** 2, axis=1) / np.maximum(np.sum(Xd**2, axis=1), eps)
        Z = model.transform(X).astype(np.float64)
        parts[name] = {"bce": np.log(bce), "mse": np.log(mse), "mse_w": np.log(mse_w), "Z": Z}
        parts[name]["mse_rel"] = np.log(np.maximum(mse_rel, eps))
        spread = np.maximum(np.sum((Xd - mean_image) ** 2, axis=1), eps)
        parts[name]["mse_relmu"] = np.log(np.maximum(np.sum((Xd - R) ** 2, axis=1) / spread, eps))
        if hasattr(model, "elbo"):
            parts[name]["elbo"] = -model.elbo(X)
    Zt = parts["train"]["Z"]
    mu = Zt.mean(axis=0)
    cov = np.cov(Zt, rowvar=False) + 1e-6 * np.eye(Zt.shape[1])
    prec = np.linalg.inv(cov)
    nn = NearestNeighbors(n_neighbors=6).fit(Zt)
    lof = LocalOutlierFactor(novelty=True).fit(Zt)
    parts["train"]["lof"] = np.log(-lof.negative_outlier_factor_)
    parts["valid"]["lof"] = np.log(-lof.score_samples(parts["valid"]["Z"]))
    for name in ("train", "valid"):
        D = parts[name]["Z"] - mu
        parts[name]["maha"] = np.einsum("ij,jk,ik->i", D, prec, D)
        parts[name]["lmaha"] = np.log(parts[name]["maha"])
        dist, _ = nn.kneighbors(parts[name]["Z"])
        # training rows find themselves first: skip that neighbour for them
        parts[name]["knn5"] = dist[:, 1:].mean(1) if name == "train" else dist[:, :5].mean(1)
    for key in (*RECON, *CODE, *(["elbo"] if "elbo" in parts["valid"] else [])):
        out[key] = parts["valid"][key]
    for combo in COMBINED:
        if not all(k in parts["valid"] for k in combo.split("+")):
            continue
        out[combo] = sum(robust_z(parts["train"][k], parts["valid"][k]) for k in combo.split("+"))
    return out


def run_cell(dataset, candidate, c, seed, n_anomalies, quick, data_home):
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    import skae

    torch.set_num_threads(1)
    X, y = load(dataset, data_home)
    fit, valid_normal, anomalies = split(y, c, seed, n_anomalies, quick)
    cls_name, params = CANDIDATES[candidate]
    model = getattr(skae, cls_name)(**params, random_state=seed)
    start = time.perf_counter()
    model.fit(X[fit])
    seconds = time.perf_counter() - start
    X_valid = np.vstack([X[valid_normal], X[anomalies]])
    truth = np.r_[np.zeros(len(valid_normal)), np.ones(len(anomalies))]
    rows = []
    for score, values in candidate_scores(model, X[fit], X_valid).items():
        rows.append(
            {
                "dataset": dataset,
                "candidate": candidate,
                "class": c,
                "seed": seed,
                "score": score,
                "roc_auc": round(float(roc_auc_score(truth, values)), 5),
                "average_precision": round(float(average_precision_score(truth, values)), 5),
                "n_fit": len(fit),
                "fit_seconds": round(seconds, 1),
            }
        )
    return rows


NEIGHBOURS = (20, 50, 100, 200)
#: weights of the local outlier factor in the sum, tried with 50 neighbours
LOF_WEIGHTS = (0.25, 0.5)


def run_neighbours_cell(c, seed, setting, n_anomalies, data_home):
    """The default detector's components with several code-LOF neighbourhoods."""
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import LocalOutlierFactor

    from skae import AutoencoderOutlierDetector

    torch.set_num_threads(1)
    X, y = load("mnist", data_home)
    fit, valid_normal, anomalies = split(y, c, seed, n_anomalies, False)
    if setting == "contaminated":
        rng = np.random.default_rng([seed, c, 1])
        others = np.setdiff1d(np.flatnonzero(y != c), anomalies)
        fit = np.r_[fit, rng.choice(others, round(len(fit) * 0.05 / 0.95), replace=False)]
    X_valid = np.vstack([X[valid_normal], X[anomalies]])
    truth = np.r_[np.zeros(len(valid_normal)), np.ones(len(anomalies))]
    start = time.perf_counter()
    detector = AutoencoderOutlierDetector(random_state=seed).fit(X[fit])
    row = {
        "class": c,
        "seed": seed,
        "setting": setting,
        "fit_seconds": round(time.perf_counter() - start, 1),
    }
    codes_fit = detector.estimator_.transform(X[fit])
    codes_valid = detector.estimator_.transform(X_valid)
    error_fit = detector._component("relative_reconstruction", X[fit])
    error_valid = detector._component("relative_reconstruction", X_valid)
    row["relative"] = round(float(roc_auc_score(truth, error_valid)), 5)
    for k in NEIGHBOURS:
        lof = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(codes_fit)
        lof_fit = np.log(-lof.score_samples(codes_fit))
        lof_valid = np.log(-lof.score_samples(codes_valid))
        combined = robust_z(error_fit, error_valid) + robust_z(lof_fit, lof_valid)
        row[f"lof{k}"] = round(float(roc_auc_score(truth, lof_valid)), 5)
        row[f"comb{k}"] = round(float(roc_auc_score(truth, combined)), 5)
        if k == 50:
            for weight in LOF_WEIGHTS:
                weighted = robust_z(error_fit, error_valid) + weight * robust_z(lof_fit, lof_valid)
                row[f"comb{k}_w{weight}"] = round(float(roc_auc_score(truth, weighted)), 5)
    print(row, flush=True)
    return row


def neighbours(args) -> None:
    path = RESULTS / "outlier_search_neighbours.csv"
    cells = [(c, s, setting) for setting in args.settings for s in args.seeds for c in args.classes]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_neighbours_cell, *cell, args.n_anomalies, args.data_home)
            for cell in cells
        ]
        rows = [future.result() for future in futures]
    # the other settings' rows of an earlier run stay
    table = update_table(path, rows, ["class", "seed", "setting"])
    means = table.drop(columns=["class", "seed"]).groupby("setting").mean().reset_index()
    header = machine_header(
        "MNIST one-class validation splits of the training images (as the first stage), "
        "clean or with 5 % of the fitting rows from other classes; ROC AUC per component",
        1,
    )
    text = (
        f"{header}\n\n{table.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"Means:\n\n{means.to_markdown(index=False, floatfmt='.4f')}\n"
    )
    (RESULTS / "outlier_search_neighbours.md").write_text(text)
    print(text)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.groupby(["dataset", "candidate", "score"], sort=False)
    frame = grouped.agg(
        cells=("roc_auc", "count"),
        roc_auc_mean=("roc_auc", "mean"),
        roc_auc_min=("roc_auc", "min"),
        ap_mean=("average_precision", "mean"),
        fit_seconds_mean=("fit_seconds", "mean"),
    ).reset_index()
    return frame.sort_values(["dataset", "roc_auc_mean"], ascending=[True, False])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-anomalies", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--neighbours", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the cells whose rows exist (default: compute every selected cell)",
    )
    parser.add_argument("--settings", nargs="+", default=["one-class", "contaminated"])
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.neighbours:
        neighbours(args)
        return
    name = "outlier_search_quick" if args.quick else "outlier_search"
    path = RESULTS / f"{name}.csv"
    done = set()
    if path.exists() and args.resume:
        old = pd.read_csv(path)
        done = set(zip(old.dataset, old.candidate, old["class"], old.seed))
    cells = [
        (d, cand, c, s)
        for d in args.datasets
        for cand in args.candidates
        for s in args.seeds
        for c in args.classes
        if (d, cand, c, s) not in done
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_cell, *cell, args.n_anomalies, args.quick, args.data_home)
            for cell in cells
        ]
        for future in as_completed(futures):
            rows = pd.DataFrame(future.result())
            print(
                rows.iloc[0][["dataset", "candidate", "class", "fit_seconds"]].to_dict(),
                dict(zip(rows.score, rows.roc_auc)),
                flush=True,
            )
            update_table(path, rows, ["dataset", "candidate", "class", "seed", "score"])
    table = pd.read_csv(path)
    header = machine_header(
        "one-class validation splits of the training images only (MNIST's 60,000 "
        "training images; Kuzushiji-MNIST's 8,000-image fit part of its test images): "
        "80 % of a class fits, its other 20 % and other classes' images validate",
        1,
    )
    markdown = summary(table).to_markdown(index=False, floatfmt=".4g")
    (RESULTS / f"{name}.md").write_text(f"{header}\n\n{markdown}\n")
    print(header)
    print(markdown)


if __name__ == "__main__":
    main()
