"""Transfer from an autoencoder's encoder to a classifier on MNIST: the studies' Case I/II.

In one run, on the official MNIST split (60,000 training, 10,000 test images):

1. Autoencoders, the studies' 784-200-784: one hidden layer of 200 sigmoid units (the
   code), sigmoid outputs, mean squared error, Adam (lr 3e-3, batch 128,
   ``--ae-epochs`` epochs, no early stopping). ``AE all`` is trained on all training
   images, ``AE 0-4`` on the training images of digits 0-4 only. Both are evaluated per
   digit on the 10,000 test images (for ``AE 0-4``: seen digits 0-4, unseen 5-9).
   "Mean reconstruction error" is the per-pixel mean squared error of one image,
   ``mean((x - x_hat) ** 2)`` over its 784 pixels (values in [0, 1]), averaged over the
   images of a digit (``skae.per_class_reconstruction_error``); "std" is the standard
   deviation of the per-image errors. For reference, the same table has PCA with 200
   components (the best *linear* 200-unit code).
2. Classifiers (``skae.EncoderClassifier``), the studies' 784-200-10 network with
   sigmoid hidden units, SGD (momentum 0.9, lr 0.01, batch 32) and early stopping (10%
   of the training images held out as a seeded random validation set; stop after
   ``--patience`` epochs without improvement of the validation cross-entropy, keep the
   best epoch's weights; at most ``--study-epochs`` epochs):
   Case I (the encoder of ``AE all``, frozen: only the softmax layer is trained),
   Case II (the same start, everything fine-tuned) and the baseline (random
   initialisation). Then the best dense configuration found (``BEST`` below; no
   convolution, no data augmentation), trained on all 60,000 training images for a
   fixed number of epochs chosen beforehand on a 50,000/10,000 split of the training
   images (see ``benchmarks/README.md`` for the search).

Every classifier row has the error on the training and the test images before the
first update ("initial": the head is still random) and after training ("final"), the
epochs run, and the published figure where there is one. Figures: confusion matrices,
error per epoch, reconstructions of unseen digits 5-9 by ``AE 0-4``, and first-layer
filters (``AE all`` against the Case II classifier after fine-tuning).

Run: ``python benchmarks/bench_transfer.py [--quick] [--threads 2]`` (the published
run took 21 minutes with one torch thread on a 2-core AMD EPYC, ``Whole run`` in
``results/transfer/transfer_classifiers.md``; ``--quick`` uses 10,000 training images and 2
epochs).

``--search`` runs instead the search that chose ``BEST`` and writes
``results/transfer/transfer_search.csv``: each candidate of ``SEARCH`` is trained on training
images 1-50,000 and scored on images 50,001-60,000 (validation, the only basis of the
choice), on the test images, and on the first 20,000 training images. The seven
candidates took 3.7 hours in all (the ``seconds`` column, measured while other jobs
shared the machine). ``--search --quick`` fits the first 8,000 training images,
validates on the next 2,000 and trains 2 epochs (``transfer_search_quick.csv``).
"""

from __future__ import annotations

import argparse
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from skorch.callbacks import Callback, LRScheduler

from _common import add_common_arguments, machine_header, save_table
from skae import AutoencoderTransformer, EncoderClassifier, per_class_reconstruction_error
from skae.datasets import load_split
from skae.plotting import (
    plot_confusion_matrix,
    plot_filters,
    plot_learning_curve,
    plot_reconstructions,
)

#: the studies' optimiser and batch size
STUDY_SGD = dict(optimizer="sgd", optimizer_kwargs={"momentum": 0.9}, lr=0.01, batch_size=32)

#: published MNIST test errors of the transfer studies (not measured here)
PUBLISHED_TEST_ERROR = {"Case I": 0.019, "Case II": 0.016, "baseline": 0.069}
#: published mean reconstruction errors, as ranges over the digits (not measured here)
PUBLISHED_AE_04 = {"seen": "0.0023-0.0094", "unseen": "0.0082-0.0134"}
PUBLISHED_AE_ALL = "0.0019-0.0072"
PUBLISHED_AE_ALL_MEAN = "0.005"

#: the best dense configuration found (see benchmarks/README.md): epochs, then the
#: EncoderClassifier parameters; the learning rate follows a cosine schedule to zero
BEST_EPOCHS = 60
BEST = dict(
    encoder_hidden_layer_sizes=(1024, 1024),
    activation="relu",
    dropout=0.5,
    input_dropout=0.2,
    optimizer="adam",
    lr=1e-3,
    batch_size=128,
)

#: what every candidate of the search shares; each trains with a cosine learning-rate
#: schedule to zero over its epochs (T_max = max_epochs)
SEARCH_BASE = dict(
    encoder_hidden_layer_sizes=[1024, 1024], dropout=0.5, input_dropout=0.2, lr=1e-3, batch_size=128
)
#: the candidates, in the order they were run: (config, description, parameters)
SEARCH = [
    ("C1", "1024x2 do.5/.2 adam1e-3 cos30 bs128", dict(SEARCH_BASE, max_epochs=30)),
    (
        "C2",
        "1024x2 do.5/.2 maxnorm3.5 adam1e-3 cos30 bs128",
        dict(SEARCH_BASE, max_epochs=30, max_norm=3.5),
    ),
    ("C3", "1024x2 do.5/.2 adam1e-3 cos60 bs128", dict(SEARCH_BASE, max_epochs=60)),
    (
        "C4",
        "1024x2 do.5/.2 maxnorm3.5 sgd.1 m.95 cos30 bs128",
        dict(
            SEARCH_BASE,
            lr=0.1,
            max_epochs=30,
            max_norm=3.5,
            optimizer="sgd",
            optimizer_kwargs={"momentum": 0.95},
        ),
    ),
    (
        "C6",
        "1024x2 do.5/.2 maxnorm2 adam1e-3 cos60 bs128",
        dict(SEARCH_BASE, max_epochs=60, max_norm=2.0),
    ),
    ("C5", "1024x2 do.5/.2 adam1e-3 cos100 bs128", dict(SEARCH_BASE, max_epochs=100)),
    (
        "C7",
        "1024x2 do.3/.1 adam1e-3 cos60 bs128",
        dict(SEARCH_BASE, dropout=0.3, input_dropout=0.1, max_epochs=60),
    ),
]


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
    """The test error after every epoch (``test_error`` in ``history_``), and the train
    and test errors before the first update (``initial_``)."""

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


# ---------------------------------------------------------------- models
def study_autoencoder(epochs: int, seed: int) -> AutoencoderTransformer:
    """784-200-784 with sigmoid code and output units: the code is the hidden layer."""
    return AutoencoderTransformer(
        latent_dim=200,
        hidden_layer_sizes=(),
        latent_activation="sigmoid",
        output_activation="sigmoid",
        loss="mse",
        optimizer="adam",
        lr=3e-3,
        batch_size=128,
        max_epochs=epochs,
        random_state=seed,
        # the committed rows' model: clean inputs, a constant learning rate
        noise=None,
        lr_schedule=None,
    )


def classifiers(ae, args):
    """(name, estimator, setup) for every row of the classifier table."""
    study = dict(
        **STUDY_SGD,
        activation="sigmoid",
        early_stopping=True,
        validation_fraction=0.1,
        patience=args.patience,
        tol=0.0,
        max_epochs=args.study_epochs,
        random_state=args.seed,
    )
    setup = (
        "784-200-10 sigmoid, SGD (momentum 0.9, lr 0.01, batch 32), early stopping "
        f"(10% validation, patience {args.patience})"
    )
    yield (
        "Case I",
        EncoderClassifier(encoder=ae, freeze_encoder=True, **study),
        f"{setup}; hidden layer = AE all's encoder, frozen",
    )
    yield (
        "Case II",
        EncoderClassifier(encoder=ae, freeze_encoder=False, **study),
        f"{setup}; hidden layer = AE all's encoder, fine-tuned",
    )
    yield (
        "baseline",
        EncoderClassifier(encoder_hidden_layer_sizes=(200,), **study),
        f"{setup}; random initialisation",
    )
    sizes = "-".join(map(str, (784, *BEST["encoder_hidden_layer_sizes"], 10)))
    yield (
        "best dense",
        EncoderClassifier(
            **BEST,
            max_epochs=args.best_epochs,
            callbacks=[LRScheduler("CosineAnnealingLR", T_max=args.best_epochs)],
            random_state=args.seed,
        ),
        f"{sizes} {BEST['activation']}, dropout {BEST['dropout']} (inputs "
        f"{BEST['input_dropout']}), Adam (lr {BEST['lr']} cosine to 0, batch "
        f"{BEST['batch_size']}), {args.best_epochs} epochs on all training images",
    )


# ---------------------------------------------------------------- tables
def reconstruction_table(ae_all, ae_04, pca, X_test, y_test) -> pd.DataFrame:
    """Per-digit mean and std of the per-pixel MSE, beside the published ranges."""
    tables = {
        "AE 0-4": per_class_reconstruction_error(ae_04, X_test, y_test),
        "AE all": per_class_reconstruction_error(ae_all, X_test, y_test),
    }
    pca_errors = np.mean((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2, axis=1)
    rows = []
    for digit in range(10):
        seen = "seen" if digit < 5 else "unseen"
        row = {"digit": str(digit), "n test": int(tables["AE all"].loc[digit, "n"])}
        row["AE 0-4 mean"] = tables["AE 0-4"].loc[digit, "mean"]
        row["AE 0-4 std"] = tables["AE 0-4"].loc[digit, "std"]
        row["AE 0-4: digit"] = seen
        row["AE 0-4 published range"] = PUBLISHED_AE_04[seen]
        row["AE all mean"] = tables["AE all"].loc[digit, "mean"]
        row["AE all std"] = tables["AE all"].loc[digit, "std"]
        row["AE all published range"] = PUBLISHED_AE_ALL
        row["PCA-200 mean"] = pca_errors[y_test == digit].mean()
        rows.append(row)
    errors = {
        "AE 0-4": ae_04.reconstruction_error(X_test),
        "AE all": ae_all.reconstruction_error(X_test),
    }
    rows.append(
        {
            "digit": "all",
            "n test": len(X_test),
            "AE 0-4 mean": errors["AE 0-4"].mean(),
            "AE 0-4 std": errors["AE 0-4"].std(),
            "AE 0-4: digit": "",
            "AE 0-4 published range": "",
            "AE all mean": errors["AE all"].mean(),
            "AE all std": errors["AE all"].std(),
            "AE all published range": f"{PUBLISHED_AE_ALL_MEAN} (mean)",
            "PCA-200 mean": pca_errors.mean(),
        }
    )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- figures
def figures(fitted, ae_all, ae_04, X_test, y_test, tag, out):
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    for ax, (name, clf) in zip(axes.ravel(), fitted.items(), strict=True):
        plot_confusion_matrix(clf, X_test, y_test, ax=ax, values_format="d")
        ax.set_title(f"{name}: test error {1 - clf.score(X_test, y_test):.4f}")
    fig.tight_layout()
    fig.savefig(out / f"transfer_confusion{tag}.png", dpi=80)

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for name, clf in fitted.items():
        line = plot_learning_curve(clf, keys="test_error", ax=axes[0], label=name).lines[-1]
        plot_learning_curve(clf, keys="train_error", ax=axes[1], label=name, color=line.get_color())
    axes[0].set_title("test error after each epoch")
    axes[1].set_title("training error during each epoch (dropout on for 'best dense')")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_ylabel("error")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out / f"transfer_error_per_epoch{tag}.png", dpi=90)

    unseen = np.concatenate([np.flatnonzero(y_test == d)[:2] for d in range(5, 10)])
    fig = plot_reconstructions(ae_04, X_test[unseen], n=10, image_shape=(28, 28))
    fig.suptitle("AE 0-4 (trained on digits 0-4 only): unseen test digits 5-9")
    fig.savefig(out / f"transfer_reconstructions_5_9{tag}.png", dpi=90)

    fig = plt.figure(figsize=(14, 7.5))
    left, right = fig.subfigures(1, 2)
    plot_filters(ae_all, image_shape=(28, 28), n=64, fig=left)
    plot_filters(fitted["Case II"], image_shape=(28, 28), n=64, fig=right)
    left.suptitle("AE all: first 64 hidden units")
    right.suptitle("Case II classifier: the same units after fine-tuning")
    fig.savefig(out / f"transfer_filters{tag}.png", dpi=80)
    plt.close("all")


# ---------------------------------------------------------------- search
def search(args, X_train, y_train, X_test, y_test) -> pd.DataFrame:
    """Train every ``SEARCH`` candidate on the fit part, score it; rows of the search log."""
    n_fit, n_valid = (8000, 2000) if args.quick else (50000, 10000)
    fit, valid = slice(0, n_fit), slice(n_fit, n_fit + n_valid)
    rows = []
    for config, description, params in SEARCH:
        if args.quick:
            params = {**params, "max_epochs": 2}
        epochs = params["max_epochs"]
        clf = EncoderClassifier(
            **params,
            callbacks=[LRScheduler("CosineAnnealingLR", T_max=epochs)],
            random_state=args.seed,
        )
        start = time.perf_counter()
        clf.fit(X_train[fit], y_train[fit])
        seconds = time.perf_counter() - start
        rows.append(
            {
                "config": config,
                "description": description,
                "parameters": json.dumps(params, sort_keys=True),
                "cosine_T_max": epochs,
                "epochs": clf.n_epochs_,
                # errors are counts over 10,000 (20,000) images: rounding drops float noise
                "validation_error": round(1 - clf.score(X_train[valid], y_train[valid]), 4),
                "test_error": round(1 - clf.score(X_test, y_test), 4),
                "train_error_first_20k": round(1 - clf.score(X_train[:20000], y_train[:20000]), 5),
                "seconds": round(seconds),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ae-epochs", type=int, default=20)
    parser.add_argument(
        "--study-epochs", type=int, default=100, help="at most, with early stopping"
    )
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--best-epochs", type=int, default=BEST_EPOCHS)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--search",
        action="store_true",
        help="run the search that chose the best dense network (transfer_search.csv) instead",
    )
    add_common_arguments(parser, "transfer", threads=None, quick="10,000 training images, 2 epochs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.ae_epochs = args.study_epochs = args.best_epochs = 2
    data_home = args.data_home
    split = load_split("mnist", split="official", data_home=data_home)
    X_train, X_test, y_train, y_test = split.X_train, split.X_test, split.y_train, split.y_test
    training = "all 60,000 training images"
    if args.quick:
        X_train, y_train, training = (
            X_train[:10000],
            y_train[:10000],
            "the first 10,000 training images",
        )
    tag = "_quick" if args.quick else ""
    if args.search:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        log = search(args, split.X_train, split.y_train, X_test, y_test)
        log.to_csv(args.output_dir / f"transfer_search{tag}.csv", index=False)
        return
    tensors = [torch.as_tensor(a) for a in (X_train, y_train, X_test, y_test)]
    started = time.perf_counter()

    start = time.perf_counter()
    ae_all = study_autoencoder(args.ae_epochs, args.seed).fit(X_train)
    ae_all_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ae_04 = study_autoencoder(args.ae_epochs, args.seed).fit(X_train[y_train < 5])
    ae_04_seconds = time.perf_counter() - start
    pca = PCA(n_components=200, random_state=args.seed).fit(X_train)
    print(f"AE all {ae_all_seconds:.0f} s, AE 0-4 {ae_04_seconds:.0f} s", flush=True)

    rows, fitted = [], {}
    for name, clf, setup in classifiers(ae_all, args):
        tracker = ErrorTracker(*tensors)
        clf.set_params(callbacks=[*(clf.callbacks or []), tracker])
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        fitted[name] = clf
        history = clf.history_
        best_epoch = int(history["valid_loss"].idxmin()) if "valid_loss" in history else np.nan
        rows.append(
            {
                "model": name,
                "setup": setup,
                "initial train error": tracker.initial_[0],
                "initial test error": tracker.initial_[1],
                "final train error": 1 - clf.score(X_train, y_train),
                "final test error": 1 - clf.score(X_test, y_test),
                "published test error": PUBLISHED_TEST_ERROR.get(name, np.nan),
                "epochs run": clf.n_epochs_,
                "epoch kept": best_epoch if clf.early_stopping else clf.n_epochs_,
                "seconds": seconds,
            }
        )
        print({k: v for k, v in rows[-1].items() if k != "setup"}, flush=True)

    total = time.perf_counter() - started
    dataset = (
        f"MNIST ({split.protocol}); models trained on {training} "
        f"(classifiers with early stopping fit 90% of them and validate on the other 10%), "
        f"errors on the 10,000 test images. Autoencoders: {args.ae_epochs} epochs "
        f"({ae_all_seconds:.0f} s AE all, {ae_04_seconds:.0f} s AE 0-4). "
        f"Whole run: {total / 60:.1f} min"
    )
    header = machine_header(dataset)
    save_table(pd.DataFrame(rows), args.output_dir / f"transfer_classifiers{tag}", header)
    save_table(
        reconstruction_table(ae_all, ae_04, pca, X_test, y_test),
        args.output_dir / f"transfer_reconstruction{tag}",
        header + " Mean reconstruction error = per-pixel MSE mean((x - x_hat)**2) over the 784 "
        "pixels of a test image, averaged over the images of a digit; std over those "
        "images. Published figures are ranges over the digits, as reported.",
    )
    pd.concat(
        {
            name: clf.history_.drop(columns="batches", errors="ignore")
            for name, clf in fitted.items()
        },
        names=["model", "epoch"],
    ).to_csv(args.output_dir / f"transfer_history{tag}.csv")
    figures(fitted, ae_all, ae_04, X_test, y_test, tag, args.output_dir)


if __name__ == "__main__":
    main()
