"""What ``EncoderClassifier().fit(X, y)`` reaches with its defaults and few labels.

The question a user asks first: with a few labels among many images (``-1`` for the
rest), how good is the classifier skae builds when nothing is set? Each row is one
fit of ``EncoderClassifier(random_state=draw)`` with every other parameter at its
default, on a balanced label draw (``draw`` seeds it: the same draws as
bench_semi_supervised.py), scored on the test set; an RBF SVC on the labelled pixels
alone is the baseline on the same draw. Fit time is wall-clock for the whole fit
(pre-training included) and CPU seconds of this process.

Data: MNIST (the official 60,000 training images, 10,000 test images) and
Kuzushiji-MNIST (the offline protocol: its 10,000 test images split 8,000 / 2,000).

Run (one process per data set and label count, so that the accuracy rows can share a
machine, one thread each; run the timing alone with ``--threads 2``)::

    python benchmarks/bench_few_labels_default.py --datasets mnist --n-labels 100
    python benchmarks/bench_few_labels_default.py --datasets mnist --n-labels 1000
    python benchmarks/bench_few_labels_default.py --datasets kmnist --n-labels 100 1000

Each run appends its rows to ``results/few_labels_default/few_labels_default.csv`` (a row already there
for the same data set, label count and draw is replaced) and rewrites the summary
``results/few_labels_default/few_labels_default.md``. ``--quick`` runs 2,000 training images and one
draw into ``few_labels_default_quick.*`` as a smoke test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from sklearn.svm import SVC

from _common import default_data_home, machine_header, results_dir
from skae import AutoencoderTransformer, EncoderClassifier
from skae._encoder_classifier import (
    AUTO_CODE_SIZE,
    AUTO_PSEUDO_LABEL_FRACTION,
    few_labels_autoencoder,
)
from skae.datasets import load_split

#: where this benchmark writes its tables and figures
RESULTS = results_dir("few_labels_default")


def labelled_subset(y: np.ndarray, n_labels: int, draw: int) -> np.ndarray:
    """Indices of ``n_labels`` rows, balanced over the classes, for draw ``draw``."""
    rng = np.random.default_rng(draw)
    classes = np.unique(y)
    per_class = n_labels // len(classes)
    chosen = [rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in classes]
    return np.sort(np.concatenate(chosen))


def load(name: str, data_home: str, quick: bool, n_train: int | None = None):
    """The data set's training and test images; with ``n_train``, its first
    ``n_train`` training images only (the same test images)."""
    if name == "mnist":
        data = load_split("mnist", data_home=data_home)
    else:
        data = load_split("kmnist", split="test-only", data_home=data_home)
    n_train = 2000 if quick else n_train
    if n_train is not None:
        data.X_train, data.y_train = data.X_train[:n_train], data.y_train[:n_train]
    return data


def timed(fit):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fit()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def encoder_classifier(seed: int) -> EncoderClassifier:
    """The model measured: every parameter at its default but the seed (the few-labels
    guide's recipe; tests/test_docs_recipes.py keeps the two equal)."""
    return EncoderClassifier(random_state=seed)


def encoder_classifier_from_autoencoder(seed: int, n_classes: int, n_rows: int):
    """A label-blind alternative: skae's default autoencoder with 32 code units,
    fine-tuned without spread labels."""
    return EncoderClassifier(
        encoder=AutoencoderTransformer(latent_dim=32), pseudo_label_fraction=0.0, random_state=seed
    )


def encoder_classifier_spreading(seed: int, n_classes: int, n_rows: int):
    """What ``encoder='auto'`` pre-trains below ``SPREADING_MAX_ROWS`` rows, at any
    size: skae's default autoencoder, labels spread over its codes."""
    return EncoderClassifier(
        encoder=AutoencoderTransformer(latent_dim=AUTO_CODE_SIZE),
        pseudo_label_fraction=AUTO_PSEUDO_LABEL_FRACTION,
        random_state=seed,
    )


def encoder_classifier_itl(seed: int, n_classes: int, n_rows: int):
    """What ``encoder='auto'`` pre-trains from ``SPREADING_MAX_ROWS`` rows on, at any
    size: the ITL autoencoder with its one-hot class code, no label spreading."""
    return EncoderClassifier(
        encoder=few_labels_autoencoder(n_classes, n_rows),
        pseudo_label_fraction=0.0,
        random_state=seed,
    )


#: the models compared (``--models``): name in the table -> builder for a seed, the
#: number of classes and of training rows
MODELS = {
    "EncoderClassifier() defaults": lambda seed, n_classes, n_rows: encoder_classifier(seed),
    "label spreading over AutoencoderTransformer(latent_dim=32) codes": (
        encoder_classifier_spreading
    ),
    "ITL pre-training (one-hot class code)": encoder_classifier_itl,
    "EncoderClassifier(encoder=AutoencoderTransformer(latent_dim=32))": (
        encoder_classifier_from_autoencoder
    ),
}


def run_cell(data, n_labels: int, draw: int, models: list[str]) -> list[dict]:
    lab = labelled_subset(data.y_train, n_labels, draw)
    y_partial = np.full_like(data.y_train, -1)
    y_partial[lab] = data.y_train[lab]
    n_classes, n_rows = len(np.unique(data.y_train)), len(data.y_train)
    rows = []
    methods = {
        name: lambda build=MODELS[name]: build(draw, n_classes, n_rows).fit(data.X_train, y_partial)
        for name in models
    }
    methods["SVC on the labelled pixels"] = lambda: SVC(C=10).fit(
        data.X_train[lab], data.y_train[lab]
    )
    for method, fit in methods.items():
        model, seconds, cpu_seconds = timed(fit)
        error = float(np.mean(model.predict(data.X_test) != data.y_test))
        rows.append(
            {
                "dataset": data.name,
                "n_train": len(data.y_train),
                "n_labels": n_labels,
                "draw": draw,
                "method": method,
                "test_error": round(error, 5),
                "fit_seconds": round(seconds, 1),
                "fit_cpu_seconds": round(cpu_seconds, 1),
            }
        )
        print(rows[-1], flush=True)
    return rows


def summary(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.groupby(["dataset", "n_train", "n_labels", "method"])
    return grouped.agg(
        draws=("draw", "count"),
        test_error_mean=("test_error", "mean"),
        test_error_std=("test_error", "std"),
        fit_cpu_seconds_mean=("fit_cpu_seconds", "mean"),
        fit_seconds_mean=("fit_seconds", "mean"),
    ).reset_index()


def write_report(path, name: str, threads: int) -> None:
    """``results/<name>.md``: the summary of every row in the CSV at ``path``."""
    header = machine_header(
        "MNIST (60,000 training / 10,000 test images) and Kuzushiji-MNIST (its 10,000 "
        "test images split 8,000 / 2,000); a balanced label draw per seed, the other "
        "training images labelled -1; accuracy runs, each process with one torch "
        "thread beside other processes on the same cores (fit_seconds is wall time on "
        "that shared machine; fit_cpu_seconds the process's CPU time)",
        threads,
    )
    table = pd.read_csv(path)
    markdown = summary(table).to_markdown(index=False, floatfmt=".4g")
    (RESULTS / f"{name}.md").write_text(f"{header}\n\n{markdown}\n")
    print(header)
    print(markdown)
    plot_rows(table, RESULTS / f"{name}.png")


#: the two pre-trainings ``encoder='auto'`` chooses between, as plotted
ROUTES = {
    "label spreading over AutoencoderTransformer(latent_dim=32) codes": "label spreading "
    "over the default autoencoder's codes",
    "ITL pre-training (one-hot class code)": "ITL pre-training (one-hot class code)",
}


def plot_rows(table: pd.DataFrame, path) -> None:
    """Test error of both pre-trainings against the number of MNIST training rows
    (100 labels), with the threshold where ``encoder='auto'`` switches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from skae._encoder_classifier import SPREADING_MAX_ROWS

    mnist = table[(table.dataset == "mnist") & (table.n_labels == 100)].copy()
    # Below the threshold the defaults are the spreading route, from it the ITL one:
    # their rows count for that route too.
    defaults = mnist[mnist.method == "EncoderClassifier() defaults"].copy()
    spreading, itl = ROUTES
    defaults["method"] = np.where(defaults.n_train < SPREADING_MAX_ROWS, spreading, itl)
    mnist = pd.concat([mnist, defaults]).drop_duplicates(["n_train", "draw", "method"])
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, label in ROUTES.items():
        rows = mnist[mnist.method == method].groupby("n_train").test_error
        mean, low, high = rows.mean() * 100, rows.min() * 100, rows.max() * 100
        ax.errorbar(
            mean.index, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, label=label
        )
    ax.axvline(SPREADING_MAX_ROWS, color="grey", linestyle="--", label="encoder='auto' switches")
    sizes = sorted(mnist.n_train.unique())
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{size // 1000}k" for size in sizes])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([2, 3, 5, 10, 20])
    ax.set_xlabel("MNIST training images (100 labelled)")
    ax.set_ylabel("test error (%), mean and range over draws")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "kmnist"])
    parser.add_argument("--n-labels", nargs="+", type=int, default=[100, 1000])
    parser.add_argument("--draws", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="only the first N training images (how the choice depends on the rows)",
    )
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), default=["EncoderClassifier() defaults"]
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--report", action="store_true", help="only rewrite the Markdown summary from the CSV"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    name = "few_labels_default_quick" if args.quick else "few_labels_default"
    path = RESULTS / f"{name}.csv"
    if args.report:
        return write_report(path, name, args.threads)
    for dataset in args.datasets:
        data = load(dataset, args.data_home, args.quick, args.n_train)
        for n_labels in args.n_labels:
            for draw in [0] if args.quick else args.draws:
                rows = pd.DataFrame(run_cell(data, n_labels, draw, args.models))
                # Re-read before writing: other processes append their own cells.
                table = pd.read_csv(path) if path.exists() else rows.iloc[:0]
                same = ["dataset", "n_train", "n_labels", "draw", "method"]
                table = pd.concat([table, rows]).drop_duplicates(same, keep="last")
                table.to_csv(path, index=False)
    write_report(path, name, args.threads)


if __name__ == "__main__":
    main()
