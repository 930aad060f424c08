"""Latent-size study on MNIST: does accuracy rise, then plateau, with the code size?

Representations, side by side at latent sizes 2, 4, 8, 16, 32 and 64:

* ``pca``: PCA with that many components (the linear baseline);
* ``ae-default``: ``AutoencoderTransformer(latent_dim=m)`` with every other parameter
  at skae's default (784-1024-256-m ELU, Adam with a cosine schedule, batches of 128,
  ``max_epochs='auto'``: 48 epochs of 10,000 images), what a user gets;
* ``kae1``: a single ReLU autoencoder 784-256-m (mirrored decoder);
* ``kae3``, ``kae5``: k-ensembles of such autoencoders (k = 3, 5; each member has an
  m-unit code and its own seed; the codes are concatenated, so the classifiers see
  k x m features, column ``n_codes``).

The study's autoencoders (``kae<k>``) are trained full batch with resilient backpropagation
(``optimizer='rprop'``: :class:`skae.optim.RProp`, iRprop+, initial step 0.01). On each
code three scikit-learn classifiers are trained: a sigmoid MLP (one hidden layer of
100 logistic units), logistic regression and an RBF SVC (all after a StandardScaler).
Reported: test accuracy, macro precision and recall, per-class precision and recall
(each representation at its best latent size, sigmoid MLP) and confusion matrices.

It runs through :func:`skae.study.run_study`, whose folders
(``results/latent_size/_scratch/latent_size`` and, for ``ae-default``,
``results/latent_size/_scratch/latent_size_defaults``) keep every finished row: an
interrupted run resumes where it stopped when started again with the same options and
``--resume``; without it those folders are emptied and every row is recomputed.

Protocol: the first ``--n-train`` (default 10,000) MNIST training images to fit
everything, the official 10,000 test images to evaluate.

Run: ``python benchmarks/bench_latent_size.py [--epochs 50] [--n-jobs 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import time

import numpy as np
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay, precision_recall_fscore_support

from _common import add_common_arguments, machine_header, save_table
from skae.study import load_predictions, run_study

LATENT_SIZES = (2, 4, 8, 16, 32, 64)
REPRESENTATIONS = ("pca", "ae-default", "kae1", "kae3", "kae5")
#: run in a study of their own, given no network setting: a study's explicit settings
#: (epochs, hidden sizes, optimizer...) reach ae-default too
DEFAULTS = ("ae-default",)
CLASSIFIERS = ("mlp-sigmoid", "logreg", "svc")
HIDDEN = (256,)
RPROP_STEP = 0.01
#: accuracy within this of the best counts as "on the plateau"
PLATEAU_TOLERANCE = 0.01


def plateau_summary(table: pd.DataFrame) -> list[str]:
    """One sentence per representation and classifier, computed from the table."""
    lines = []
    for (representation, classifier), group in table.groupby(
        ["representation", "classifier"], sort=False
    ):
        curve = group.groupby("latent_dim")["accuracy"].mean().sort_index()
        best = curve.max()
        reached = curve.index[curve >= best - PLATEAU_TOLERANCE][0]
        rise = best - curve.iloc[0]
        if reached == curve.index[-1]:
            verdict = "still rising at the largest size"
        else:
            verdict = (
                f"plateau from m={reached} (within {PLATEAU_TOLERANCE:.0%} of the best, {best:.4f})"
            )
        lines.append(
            f"- {representation} + {classifier}: accuracy {curve.iloc[0]:.4f} at "
            f"m={curve.index[0]} -> {best:.4f} at m={curve.idxmax()} (+{rise:.4f}); {verdict}."
        )
    return lines


def per_class(table: pd.DataFrame, folders: dict, classifier: str) -> pd.DataFrame:
    """Per-class precision and recall of each representation's best latent size.

    ``folders`` maps each representation to the study folder holding its predictions.
    """
    rows = []
    subset = table[table["classifier"] == classifier]
    for representation, group in subset.groupby("representation", sort=False):
        best = group.loc[group["accuracy"].idxmax()]
        y_true, y_pred = load_predictions(folders[representation], best)
        precision, recall, _, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=np.arange(10), zero_division=0
        )
        for metric, values in (("precision", precision), ("recall", recall)):
            rows.append(
                {
                    "representation": representation,
                    "latent_dim": int(best["latent_dim"]),
                    "classifier": classifier,
                    "metric": metric,
                    **{str(k): float(v) for k, v in enumerate(values)},
                }
            )
    return pd.DataFrame(rows)


def plot_accuracy(table: pd.DataFrame, path) -> None:
    from matplotlib.figure import Figure

    classifiers = list(dict.fromkeys(table["classifier"]))
    fig = Figure(figsize=(4.2 * len(classifiers), 3.6))
    axes = fig.subplots(1, len(classifiers), squeeze=False, sharey=True)[0]
    for ax, classifier in zip(axes, classifiers):
        subset = table[table["classifier"] == classifier]
        for representation, group in subset.groupby("representation", sort=False):
            curve = group.groupby("latent_dim")["accuracy"].mean().sort_index()
            ax.plot(curve.index, curve.to_numpy(), marker="o", label=representation)
        ax.set_xscale("log", base=2)
        sizes = sorted(table["latent_dim"].unique())
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("latent size m (per autoencoder)")
        ax.set_title(classifier)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def plot_confusions(table: pd.DataFrame, folders: dict, classifier: str, path) -> None:
    from matplotlib.figure import Figure

    subset = table[table["classifier"] == classifier]
    groups = list(subset.groupby("representation", sort=False))
    fig = Figure(figsize=(4.0 * len(groups), 4.0))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (representation, group) in zip(axes, groups):
        best = group.loc[group["accuracy"].idxmax()]
        y_true, y_pred = load_predictions(folders[representation], best)
        ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=ax, colorbar=False)
        ax.set_title(
            f"{representation}, m={int(best['latent_dim'])}: {best['accuracy']:.3f}",
            fontsize="medium",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=50, help="full-batch RProp steps")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="fits at once, 1 thread each (default 2; quick 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of an earlier run with the same options (in "
        "results/latent_size/_scratch/) and compute only the missing ones",
    )
    add_common_arguments(
        parser, "latent_size", threads=None, quick="m in (2, 8), 1,000 images, 5 epochs"
    )
    args = parser.parse_args(argv)

    suffix = "_quick" if args.quick else ""
    if args.n_jobs is None:  # worker start-up would dominate a smoke run
        args.n_jobs = 1 if args.quick else 2
    latent_sizes = (2, 8) if args.quick else LATENT_SIZES
    epochs = 5 if args.quick else args.epochs
    n_train, n_test = (1000, 1000) if args.quick else (args.n_train, "all")
    folder = args.output_dir / "_scratch" / f"latent_size{suffix}"
    defaults_folder = args.output_dir / "_scratch" / f"latent_size{suffix}_defaults"
    folders = {name: defaults_folder if name in DEFAULTS else folder for name in REPRESENTATIONS}
    # run_study resumes from the rows in its folder: only --resume keeps them
    for scratch in (folder, defaults_folder):
        if scratch.exists() and not args.resume:
            shutil.rmtree(scratch)
            print(f"removed {scratch} (every row is recomputed; --resume keeps it)")

    start = time.perf_counter()
    common = dict(
        seeds=(args.seed,),
        n_jobs=args.n_jobs,
        data_home=args.data_home,
        n_train=n_train,
        n_test=n_test,
        verbose=1,
    )
    defaults = run_study(
        "mnist", DEFAULTS, latent_sizes, CLASSIFIERS, output_dir=defaults_folder, **common
    )
    trained = run_study(
        "mnist",
        [name for name in REPRESENTATIONS if name not in DEFAULTS],
        latent_sizes,
        CLASSIFIERS,
        output_dir=folder,
        max_epochs=epochs,
        hidden_layer_sizes=HIDDEN,
        optimizer="rprop",
        lr=RPROP_STEP,
        batch_size="full",
        **common,
    )
    table = pd.concat([defaults, trained], ignore_index=True)
    order = {name: i for i, name in enumerate(REPRESENTATIONS)}
    table = table.sort_values(
        "representation", key=lambda names: names.map(order), kind="stable"
    ).reset_index(drop=True)
    minutes = (time.perf_counter() - start) / 60
    config = pd.read_json(folder / "study.json", typ="series")
    header = machine_header(
        f"{config['protocol']}. ae-default: AutoencoderTransformer(latent_dim=m), every "
        "other parameter at skae's default. kae<k>: autoencoders "
        f"784-{HIDDEN[0]}-m (mirrored decoder, ReLU, sigmoid output, loss 'auto': binary "
        f"cross-entropy), full-batch RProp (iRprop+, initial step {RPROP_STEP}) for "
        f"{epochs} epochs, k of them, codes concatenated (n_codes = k x m); "
        f"classifiers after a StandardScaler; seed {args.seed}; n_jobs={args.n_jobs}, "
        f"1 torch thread per fit; wall time {minutes:.1f} min (this run; rows resumed from "
        "an earlier run are not timed again)",
        threads=1,
    )
    shown = table.drop(columns=["dataset", "params", "n_train", "n_test"])
    md = save_table(shown, args.output_dir / f"latent_size{suffix}", header)
    summary = plateau_summary(table)
    md.write_text(
        md.read_text() + "\nDoes accuracy rise, then plateau?\n\n" + "\n".join(summary) + "\n"
    )
    print("\n".join(summary))

    classes = per_class(table, folders, "mlp-sigmoid")
    save_table(
        classes,
        args.output_dir / f"latent_size_per_class{suffix}",
        "Per-class test precision and recall (columns: digit) of each representation at "
        "its best latent size, sigmoid MLP classifier. " + header,
    )
    plot_accuracy(table, args.output_dir / f"latent_size_accuracy{suffix}.png")
    plot_confusions(
        table, folders, "mlp-sigmoid", args.output_dir / f"latent_size_confusion{suffix}.png"
    )


if __name__ == "__main__":
    main()
