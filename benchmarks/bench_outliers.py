"""One-class MNIST and Kuzushiji-MNIST: skae's outlier detector against the usual ones.

The protocol of the one-class literature (Ruff et al. 2018, Golan & El-Yaniv 2018):
for each class ``c``, fit on the training images of class ``c`` only, score every
test image, and count an image as an anomaly when its class is not ``c``. ROC AUC
and average precision (anomalies as the positive class) per class and seed, with
fit and scoring seconds. Side by side, in the same process and on the same data:

* ``skae default``: ``AutoencoderOutlierDetector(random_state=seed)``, nothing else
  set; ``skae <score>`` rows are the same trained network with another
  ``anomaly_score`` (no refit); ``skae VAE (ELBO)`` a variational autoencoder's
  evidence lower bound;
* ``PCA-32 reconstruction``: squared reconstruction error of a 32-component PCA;
* scikit-learn's ``IsolationForest``, ``LocalOutlierFactor(novelty=True)`` and
  ``OneClassSVM``, at their defaults;
* PyOD's ``AutoEncoder`` at its defaults (``pip install pyod``: a comparison-only
  extra, ``skae[compare]``; skipped when it is missing).

``--setting contaminated`` fits on class ``c`` with 5 % of the training rows drawn
from the other classes (seeded), scores the test images as above, and also reports
``train_roc_auc``: how well each detector ranks the intruders among its own training
rows (``fit_predict``'s task).

Data: MNIST (the official 60,000 training and 10,000 test images) and Kuzushiji-MNIST
(the offline protocol: its 10,000 test images split 8,000 / 2,000, stratified,
random_state=0; one class has about 800 images to fit).

Run (two processes, one torch thread each)::

    python benchmarks/bench_outliers.py --datasets mnist kmnist --jobs 2
    python benchmarks/bench_outliers.py --datasets mnist --setting contaminated --jobs 2
    python benchmarks/bench_outliers.py --timing --threads 2   # the default's fit, alone

Each cell (data set, setting, class, seed) it runs replaces its rows in
``results/outliers/outliers.csv``; the rows of the cells not selected stay (one
table gathers the runs of every data set and setting). ``--methods`` restricts the
methods; ``--resume`` skips the selected cells whose rows are already there (a cut
run), otherwise every selected cell is computed. The summary is rewritten:
``results/outliers/outliers.md`` (mean over classes and seeds per method, per-class
table for MNIST, the published figures beside them) and ``outliers.png``.
``--timing`` fits the default detector on each MNIST digit's training images with
``--threads`` torch threads into ``results/outliers/outliers_timing.*``. ``--quick``
fits on 500 rows of two classes into ``outliers_quick.*``.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import pandas as pd

from _common import default_data_home, machine_header, results_dir

#: where this benchmark writes its tables and figures
RESULTS = results_dir("outliers")

#: published one-class MNIST mean ROC AUC (other preprocessing: read as a reference)
PUBLISHED = {
    "Deep SVDD, one-class (Ruff et al. 2018, published)": 0.948,
    "GEOM (Golan & El-Yaniv 2018, published)": 0.980,
}

#: the share of the training rows drawn from other classes in ``contaminated``
CONTAMINATION = 0.05

#: the other scores of the default's trained network (the default's own is left out)
SKAE_SCORES = (
    "reconstruction",
    "relative_reconstruction",
    "local_outlier_factor",
    "mahalanobis",
    "combined",
)


def load(name: str, data_home: str):
    from skae.datasets import load_split

    if name == "mnist":
        return load_split("mnist", data_home=data_home)
    return load_split("kmnist", split="test-only", data_home=data_home)


def training_rows(y: np.ndarray, c: int, seed: int, setting: str, quick: bool):
    """Indices of the training rows and whether each is of class ``c``."""
    normal = np.flatnonzero(y == c)
    if quick:
        normal = normal[:500]
    if setting == "one-class":
        return normal, np.ones(len(normal), dtype=bool)
    rng = np.random.default_rng([seed, c])
    n_intruders = round(len(normal) * CONTAMINATION / (1 - CONTAMINATION))
    intruders = rng.choice(np.flatnonzero(y != c), n_intruders, replace=False)
    rows = np.r_[normal, intruders]
    return rows, np.r_[np.ones(len(normal), bool), np.zeros(n_intruders, bool)]


# --------------------------------------------------------------------------- methods
def default_detector(seed: int):
    """The detector measured as ``skae default``: every parameter at its default but
    the seed (the user guide's recipe; tests/test_docs_recipes.py keeps them equal)."""
    from skae import AutoencoderOutlierDetector

    return AutoencoderOutlierDetector(random_state=seed)


def skae_detectors(seed: int):
    """name -> a function fitting on X and returning [(row name, fitted detector)]."""
    from skae import AutoencoderOutlierDetector, VAETransformer

    def default(X):
        detector = default_detector(seed).fit(X)
        variants = [("skae default", detector)]
        for score in SKAE_SCORES:
            if score == detector.anomaly_score_:
                continue
            # The same trained network with another score (no refit): the variants
            # differ from the default in the score alone.
            variant = copy.copy(detector)
            variant._calibrate(X, score)
            variants.append((f"skae {score}", variant))
        return variants

    def vae(X):
        template = VAETransformer(latent_dim=16, hidden_layer_sizes=(256,), max_epochs=30)
        detector = AutoencoderOutlierDetector(template, anomaly_score="elbo", random_state=seed)
        return [("skae VAE (ELBO)", detector.fit(X))]

    return {"skae default": default, "skae VAE (ELBO)": vae}


class PCAReconstruction:
    """Minus the squared reconstruction error of a PCA (higher is more normal)."""

    def __init__(self, n_components=32, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X):
        from sklearn.decomposition import PCA

        self.pca_ = PCA(self.n_components, random_state=self.random_state).fit(X)
        return self

    def score_samples(self, X):
        X_hat = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.mean((X - X_hat) ** 2, axis=1)


class PyODScores:
    """A PyOD detector with scikit-learn's sign: ``score_samples`` higher is more normal."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def baselines(seed: int) -> dict:
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.svm import OneClassSVM

    methods = {
        "PCA-32 reconstruction": lambda: PCAReconstruction(32, random_state=seed),
        "IsolationForest": lambda: IsolationForest(random_state=seed),
        "LocalOutlierFactor(novelty=True)": lambda: LocalOutlierFactor(novelty=True),
        "OneClassSVM": lambda: OneClassSVM(),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        print("pyod is not installed: PyOD's AutoEncoder is skipped", flush=True)
    else:
        methods["PyOD AutoEncoder"] = lambda: PyODScores(AutoEncoder(random_state=seed, verbose=0))
    return methods


# --------------------------------------------------------------------------- one cell
def run_cell(dataset, setting, c, seed, quick, data_home, methods=None):
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    torch.set_num_threads(1)
    data = load(dataset, data_home)
    rows, is_normal = training_rows(data.y_train, c, seed, setting, quick)
    X_fit = data.X_train[rows]
    anomaly = data.y_test != c
    out = []

    def record(name, model, fit_seconds, score_seconds, test_scores):
        row = {
            "dataset": dataset,
            "setting": setting,
            "class": c,
            "seed": seed,
            "method": name,
            "n_fit": len(rows),
            "roc_auc": round(float(roc_auc_score(anomaly, -test_scores)), 5),
            "average_precision": round(float(average_precision_score(anomaly, -test_scores)), 5),
            "fit_seconds": round(fit_seconds, 2),
            "score_seconds": round(score_seconds, 2),
        }
        if setting == "contaminated":
            train_scores = model.score_samples(X_fit)
            row["train_roc_auc"] = round(float(roc_auc_score(~is_normal, -train_scores)), 5)
        out.append(row)
        print(row, flush=True)

    for name, fit in skae_detectors(seed).items():
        if methods and name not in methods:
            continue
        start = time.perf_counter()
        fitted = fit(X_fit)
        fit_seconds = time.perf_counter() - start
        for variant, model in fitted:
            start = time.perf_counter()
            scores = model.score_samples(data.X_test)
            record(variant, model, fit_seconds, time.perf_counter() - start, scores)
    for name, make in baselines(seed).items():
        if methods and name not in methods:
            continue
        start = time.perf_counter()
        model = make().fit(X_fit)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.score_samples(data.X_test)
        record(name, model, fit_seconds, time.perf_counter() - start, scores)
    return out


# --------------------------------------------------------------------------- reports
def summary(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "setting", "method"]
    per_seed = table.groupby([*keys, "seed"], sort=False)["roc_auc"].mean()
    frame = (
        table.groupby(keys, sort=False)
        .agg(
            cells=("roc_auc", "count"),
            roc_auc_mean=("roc_auc", "mean"),
            roc_auc_min=("roc_auc", "min"),
            average_precision_mean=("average_precision", "mean"),
            fit_seconds_mean=("fit_seconds", "mean"),
            score_seconds_mean=("score_seconds", "mean"),
        )
        .reset_index()
    )
    # spread of the mean over classes between seeds
    spread = per_seed.groupby(keys, sort=False).std().rename("roc_auc_seed_std").reset_index()
    frame = frame.merge(spread, on=keys)
    if "train_roc_auc" in table:
        train = table.groupby(keys, sort=False)["train_roc_auc"].mean().reset_index()
        frame = frame.merge(train, on=keys, how="left")
    return frame.sort_values(["dataset", "setting", "roc_auc_mean"], ascending=[True, True, False])


def per_class(table: pd.DataFrame, dataset: str, setting: str) -> pd.DataFrame:
    part = table[(table.dataset == dataset) & (table.setting == setting)]
    wide = part.pivot_table(index="method", columns="class", values="roc_auc", aggfunc="mean")
    wide["mean"] = wide.mean(axis=1)
    return wide.sort_values("mean", ascending=False).reset_index()


def figure(table: pd.DataFrame, path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    part = table[(table.dataset == "mnist") & (table.setting == "one-class")]
    if part.empty:
        return
    wide = part.pivot_table(index="class", columns="method", values="roc_auc", aggfunc="mean")
    order = wide.mean().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / len(order)
    colours = plt.get_cmap("tab20").colors
    for i, method in enumerate(order):
        ax.bar(
            wide.index + (i - len(order) / 2) * width,
            wide[method],
            width,
            label=f"{method} ({wide[method].mean():.4f})",
            color=colours[i % len(colours)],
        )
    ax.set_xticks(wide.index)
    ax.set_xlabel("normal digit (the other nine are anomalies)")
    ax.set_ylabel("ROC AUC, mean of the seeds")
    ax.set_ylim(0.7, 1.0)
    ax.set_title("One-class MNIST (legend: mean over the digits)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(path, name: str, threads: int) -> None:
    table = pd.read_csv(path)
    header = machine_header(
        "one-class protocol: fit on one class's training images, score every test image, "
        "the other classes are anomalies. MNIST: 60,000 training / 10,000 test images; "
        "Kuzushiji-MNIST: its 10,000 test images split 8,000 / 2,000 (stratified, "
        "random_state=0), about 800 images per class to fit. Contaminated: 5 % of the "
        "training rows drawn from the other classes. Times: two benchmark processes at "
        "once, one thread each, beside other jobs on the machine",
        threads,
    )
    sections = [
        header,
        "## Mean over classes and seeds",
        summary(table).to_markdown(index=False, floatfmt=".4f"),
    ]
    published = pd.DataFrame(
        {"method": list(PUBLISHED), "mnist one-class mean ROC AUC": list(PUBLISHED.values())}
    )
    sections += ["## Published one-class MNIST figures", published.to_markdown(index=False)]
    for dataset in table.dataset.unique():
        for setting in table[table.dataset == dataset].setting.unique():
            sections += [
                f"## {dataset}, {setting}: ROC AUC per class (mean of the seeds)",
                per_class(table, dataset, setting).to_markdown(index=False, floatfmt=".4f"),
            ]
    (RESULTS / f"{name}.md").write_text("\n\n".join(sections) + "\n")
    figure(table, RESULTS / f"{name}.png")
    print("\n\n".join(sections))


def timing(args) -> None:
    """The default detector's fit on each MNIST digit, ``--threads`` threads, alone."""
    import torch

    from skae import AutoencoderOutlierDetector

    torch.set_num_threads(args.threads)
    data = load("mnist", args.data_home)
    rows = []
    for c in args.classes:
        X = data.X_train[data.y_train == c]
        if args.quick:
            X = X[:500]
        load_before = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        AutoencoderOutlierDetector(random_state=0).fit(X)
        rows.append(
            {
                "class": c,
                "n_fit": len(X),
                "threads": args.threads,
                "fit_seconds": round(time.perf_counter() - start, 1),
                "fit_cpu_seconds": round(time.process_time() - cpu, 1),
                "load_average_before": round(load_before, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
            }
        )
        print(rows[-1], flush=True)
    name = "outliers_timing_quick" if args.quick else "outliers_timing"
    frame = pd.DataFrame(rows)
    frame.to_csv(RESULTS / f"{name}.csv", index=False)
    header = machine_header(
        "MNIST, one digit's training images; the default AutoencoderOutlierDetector's fit "
        "(training and calibration), one process; load_average_* is the machine's 1-minute "
        "load average (other jobs included) before and after each fit",
        args.threads,
    )
    (RESULTS / f"{name}.md").write_text(f"{header}\n\n{frame.to_markdown(index=False)}\n")
    print(header)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "kmnist"])
    parser.add_argument(
        "--setting", nargs="+", default=["one-class"], choices=["one-class", "contaminated"]
    )
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="only these methods (names as in the table); default: all",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the selected cells whose rows exist (default: compute every one)",
    )
    # computing the selected cells again is the default: --rerun stays accepted so that
    # the commands of runs under way keep working
    parser.add_argument("--rerun", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.timing:
        timing(args)
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    name = "outliers_quick" if args.quick else "outliers"
    path = RESULTS / f"{name}.csv"
    classes = args.classes[:2] if args.quick else args.classes
    seeds = args.seeds[:1] if args.quick else args.seeds
    # A cell is done when every method asked for has its row (``skae default`` stands
    # for the rows its fit gives); only --resume skips the cells already done.
    wanted = set(args.methods or ["skae default", "skae VAE (ELBO)", *baselines(0)])
    done = set()
    if path.exists() and args.resume:
        old = pd.read_csv(path)
        present = old.groupby(["dataset", "setting", "class", "seed"])["method"].agg(set)
        done = {cell for cell, methods in present.items() if wanted <= methods}
    cells = [
        (d, s, c, seed)
        for s in args.setting
        for d in args.datasets
        for seed in seeds
        for c in classes
        if (d, s, c, seed) not in done
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_cell, *cell, args.quick, args.data_home, args.methods) for cell in cells
        ]
        for future in as_completed(futures):
            rows = pd.DataFrame(future.result())
            # Re-read before writing: another run may append its own cells.
            table = pd.read_csv(path) if path.exists() else rows.iloc[:0]
            table = pd.concat([table, rows]).drop_duplicates(
                ["dataset", "setting", "class", "seed", "method"], keep="last"
            )
            table.to_csv(path, index=False)
    report(path, name, 1)


if __name__ == "__main__":
    main()
