"""Transfer from an autoencoder's encoder to a classifier on MNIST (the studies' Case I/II).

In one run:

1. ``AE all``: a 784-200-784 autoencoder (linear 200-unit code, sigmoid output, MSE,
   Adam) on the 60,000 training images; per-digit mean reconstruction error on the
   10,000 test images. "Mean reconstruction error" is the per-pixel mean squared error
   ``mean((x - x_hat) ** 2)`` over the 784 pixels of an image (pixels in [0, 1]),
   averaged over the images (``skae.per_class_reconstruction_error``).
2. ``AE 0-4``: the same autoencoder trained on the training digits 0-4 only, evaluated
   per digit on all ten test digits (seen 0-4, unseen 5-9).
3. Classifiers (``skae.EncoderClassifier``), the studies' 784-200-10 network with SGD
   (momentum 0.9, lr 0.01, batch 32) and early stopping: Case I (encoder of ``AE all``
   frozen, only the softmax layer trained), Case II (everything fine-tuned) and the
   randomly initialised baseline; each with sigmoid hidden units (as in the studies)
   and with ReLU. Then the best dense configuration found here.

Initial (before any update) and final train/test errors, per-epoch test errors,
confusion matrices, reconstructions of unseen digits 5-9 and first-layer filters are
written under ``results/``.

Run: ``python benchmarks/bench_transfer.py [--quick] [--study-epochs 15]
[--best-epochs 20] [--ae-epochs 12]``.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback, LRScheduler

from _common import RESULTS, default_data_home, machine_header, save_table
from skae import AutoencoderTransformer, EncoderClassifier, per_class_reconstruction_error
from skae.plotting import (
    plot_confusion_matrix,
    plot_filters,
    plot_learning_curve,
    plot_reconstructions,
)

STUDY_SGD = dict(optimizer="sgd", optimizer_kwargs={"momentum": 0.9}, lr=0.01, batch_size=32)
EARLY = dict(early_stopping=True, validation_fraction=0.1, patience=5, tol=1e-4)
PUBLISHED_ERROR = {"Case I": 0.019, "Case II": 0.016, "baseline": 0.069}


# ---------------------------------------------------------------- data
def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist_split(data_home: str):
    """(X_train, X_test, y_train, y_test) float32 in [0, 1], via skae.datasets if present."""
    try:
        from skae.datasets import load_split
    except ImportError:  # skae.datasets not there yet: read the same IDX files directly
        folder = Path(data_home) / "mnist"
        X_train = _read_idx(folder / "train-images-idx3-ubyte.gz").reshape(-1, 784)
        X_test = _read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
        y_train = _read_idx(folder / "train-labels-idx1-ubyte.gz").astype(np.int64)
        y_test = _read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
        return (
            (X_train / np.float32(255)).astype(np.float32),
            (X_test / np.float32(255)).astype(np.float32),
            y_train,
            y_test,
        )
    split = load_split("mnist", data_home=data_home)
    return split.X_train, split.X_test, np.asarray(split.y_train), np.asarray(split.y_test)


# ---------------------------------------------------------------- errors per epoch
def _error(module, X: torch.Tensor, y: torch.Tensor) -> float:
    was_training = module.training
    module.eval()
    with torch.no_grad():
        wrong = sum(
            int((module(X[i : i + 8192]).argmax(1) != y[i : i + 8192]).sum())
            for i in range(0, len(X), 8192)
        )
    module.train(was_training)
    return wrong / len(X)


class ErrorTracker(Callback):
    """Test error after every epoch (``test_error`` in ``history_``), and the initial
    train/test errors before the first update (``initial_``)."""

    def __init__(self, X_train, y_train, X_test, y_test):
        self.X_train, self.y_train = X_train, y_train
        self.X_test, self.y_test = X_test, y_test

    def on_train_begin(self, net, **kwargs):
        self.initial_ = (
            _error(net.module_, self.X_train, self.y_train),
            _error(net.module_, self.X_test, self.y_test),
        )

    def on_epoch_end(self, net, **kwargs):
        net.history.record("test_error", _error(net.module_, self.X_test, self.y_test))

    def __getstate__(self):  # keep the data out of pickles and clones
        return {k: v for k, v in self.__dict__.items() if not k.startswith(("X_", "y_"))}


# ---------------------------------------------------------------- runs
def make_autoencoder(epochs: int, seed: int) -> AutoencoderTransformer:
    # 784-200-784: the code layer is the 200-unit layer (hidden_layer_sizes=()).
    return AutoencoderTransformer(
        latent_dim=200,
        hidden_layer_sizes=(),
        output_activation="sigmoid",
        loss="mse",
        optimizer="adam",
        lr=2e-3,
        batch_size=128,
        max_epochs=epochs,
        random_state=seed,
    )


def classifier_runs(ae, args):
    """(name, activation, setup text, estimator) for every classifier of the table."""
    study = dict(**STUDY_SGD, **EARLY, max_epochs=args.study_epochs, random_state=args.seed)
    for activation in ("sigmoid", "relu"):
        suffix = "" if activation == "sigmoid" else " (ReLU)"
        yield (
            f"Case I{suffix}",
            EncoderClassifier(encoder=ae, freeze_encoder=True, activation=activation, **study),
        )
        yield (
            f"Case II{suffix}",
            EncoderClassifier(encoder=ae, freeze_encoder=False, activation=activation, **study),
        )
        yield (
            f"baseline{suffix}",
            EncoderClassifier(encoder_hidden_layer_sizes=(200,), activation=activation, **study),
        )
    # Best found within dense networks: wider and deeper, Adam with a cosine schedule.
    yield (
        "best: 784-800-800-10 ReLU",
        EncoderClassifier(
            encoder_hidden_layer_sizes=(800, 800),
            activation="relu",
            optimizer="adam",
            lr=1e-3,
            batch_size=128,
            max_epochs=args.best_epochs,
            callbacks=[LRScheduler("CosineAnnealingLR", T_max=args.best_epochs)],
            random_state=args.seed,
        ),
    )


def describe(clf: EncoderClassifier) -> str:
    opt = clf.optimizer
    if clf.optimizer_kwargs:
        opt += "(" + ", ".join(f"{k}={v}" for k, v in clf.optimizer_kwargs.items()) + ")"
    text = f"{clf.activation}, {opt}, lr {clf.lr}, batch {clf.batch_size}"
    if clf.early_stopping:
        text += f", early stop (patience {clf.patience}, 10% valid)"
    if clf.callbacks:
        text += ", cosine lr"
    return text


def per_digit_tables(ae_all, ae_04, X_test, y_test):
    all_digits = per_class_reconstruction_error(ae_all, X_test, y_test)
    seen = per_class_reconstruction_error(ae_04, X_test, y_test)
    rows = []
    for digit in range(10):
        a, s = all_digits.loc[digit], seen.loc[digit]
        rows.append(
            {
                "digit": digit,
                "n test": int(a["n"]),
                "AE 0-4: mean": s["mean"],
                "AE 0-4: std": s["std"],
                "AE 0-4: seen?": "seen" if digit < 5 else "unseen",
                "AE 0-4 published range": "0.0023-0.0094" if digit < 5 else "0.0082-0.0134",
                "AE all: mean": a["mean"],
                "AE all: std": a["std"],
                "AE all published range": "0.0019-0.0072",
            }
        )
    errors = ae_all.reconstruction_error(X_test)
    rows.append(
        {
            "digit": "all",
            "n test": len(X_test),
            "AE 0-4: mean": float(np.mean(ae_04.reconstruction_error(X_test))),
            "AE 0-4: std": float(np.std(ae_04.reconstruction_error(X_test))),
            "AE 0-4: seen?": "all",
            "AE 0-4 published range": "",
            "AE all: mean": float(np.mean(errors)),
            "AE all: std": float(np.std(errors)),
            "AE all published range": "0.005 (mean)",
        }
    )
    return pd.DataFrame(rows)


def figures(fitted, ae_all, ae_04, X_test, y_test, tag):
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = ["Case I", "Case II", "baseline", next(n for n in fitted if n.startswith("best"))]
    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    for ax, name in zip(axes.ravel(), names, strict=True):
        plot_confusion_matrix(fitted[name], X_test, y_test, ax=ax, values_format="d")
        ax.set_title(name)
    fig.tight_layout()
    fig.savefig(RESULTS / f"transfer_confusion{tag}.png", dpi=80)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, clf in fitted.items():
        plot_learning_curve(clf, keys="test_error", ax=ax, label=name)
    ax.set_ylabel("test error")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    fig.savefig(RESULTS / f"transfer_error_per_epoch{tag}.png", dpi=90)

    unseen = np.concatenate([np.flatnonzero(y_test == d)[:2] for d in range(5, 10)])
    fig = plot_reconstructions(ae_04, X_test[unseen], n=10, image_shape=(28, 28))
    fig.suptitle("Autoencoder trained on digits 0-4: unseen test digits 5-9")
    fig.savefig(RESULTS / f"transfer_reconstructions_5_9{tag}.png", dpi=90)

    fig = plt.figure(figsize=(14, 7.5))
    left, right = fig.subfigures(1, 2)
    plot_filters(ae_all, image_shape=(28, 28), n=64, fig=left)
    plot_filters(fitted["Case II (ReLU)"], image_shape=(28, 28), n=64, fig=right)
    left.suptitle("autoencoder (AE all), first 64 units")
    right.suptitle("Case II (ReLU) classifier after fine-tuning")
    fig.savefig(RESULTS / f"transfer_filters{tag}.png", dpi=80)
    plt.close("all")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k training images, 2 epochs")
    parser.add_argument("--study-epochs", type=int, default=15)
    parser.add_argument("--best-epochs", type=int, default=20)
    parser.add_argument("--ae-epochs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.study_epochs, args.best_epochs, args.ae_epochs = 2, 2, 2
    data_home = default_data_home()
    X_train, X_test, y_train, y_test = load_mnist_split(data_home)
    subset = "all 60,000"
    if args.quick:
        X_train, y_train, subset = X_train[:10000], y_train[:10000], "first 10,000"
    tag = "_quick" if args.quick else ""
    tensors = [
        torch.as_tensor(X_train),
        torch.as_tensor(y_train),
        torch.as_tensor(X_test),
        torch.as_tensor(y_test),
    ]

    start = time.perf_counter()
    ae_all = make_autoencoder(args.ae_epochs, args.seed).fit(X_train)
    ae_all_seconds = time.perf_counter() - start
    seen = y_train < 5
    start = time.perf_counter()
    ae_04 = make_autoencoder(args.ae_epochs, args.seed).fit(X_train[seen])
    ae_04_seconds = time.perf_counter() - start
    print(f"AE all: {ae_all_seconds:.0f} s, AE 0-4: {ae_04_seconds:.0f} s", flush=True)

    rows, fitted = [], {}
    for name, clf in classifier_runs(ae_all, args):
        setup = describe(clf)
        tracker = ErrorTracker(*tensors)
        clf.set_params(callbacks=[*(clf.callbacks or []), tracker])
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        fitted[name] = clf
        base = name.split(" (")[0]
        rows.append(
            {
                "model": name,
                "setup": setup,
                "epochs run": clf.n_epochs_,
                "initial train error": tracker.initial_[0],
                "initial test error": tracker.initial_[1],
                "final train error": 1 - clf.score(X_train, y_train),
                "final test error": 1 - clf.score(X_test, y_test),
                "best epoch test error": float(clf.history_["test_error"].min()),
                "published test error": PUBLISHED_ERROR.get(base, np.nan)
                if "(ReLU)" not in name
                else np.nan,
                "seconds": seconds,
            }
        )
        print(rows[-1], flush=True)

    dataset = (
        f"MNIST ({data_home}), training on {subset} training images "
        f"(classifiers with early stopping fit 90% of them and validate on 10%), "
        f"errors on the 10,000 test images; AE epochs {args.ae_epochs} "
        f"({ae_all_seconds:.0f} s all digits, {ae_04_seconds:.0f} s digits 0-4), "
        f"study epochs at most {args.study_epochs}, best epochs {args.best_epochs}"
    )
    header = machine_header(dataset)
    save_table(pd.DataFrame(rows), f"transfer_classifiers{tag}", header)
    table = per_digit_tables(ae_all, ae_04, X_test, y_test)
    save_table(table, f"transfer_reconstruction{tag}", header)
    pd.concat(
        {
            name: clf.history_[["train_loss", "train_acc", "test_error"]]
            for name, clf in fitted.items()
        }
    ).to_csv(RESULTS / f"transfer_history{tag}.csv")
    figures(fitted, ae_all, ae_04, X_test, y_test, tag)


if __name__ == "__main__":
    main()
