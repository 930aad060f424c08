"""Few labels, one change at a time: the ITL code's layout and the supervised weight.

Ablations behind the settings of ``bench_semi_supervised.py``'s networks, on the
first 10,000 MNIST training images with 100 (``--n-labels``) balanced labels, the
other rows ``-1``; 784-512-256-code networks, sigmoid output, binary cross-entropy,
20 epochs, seed 0:

* ITL autoencoder (Cauchy-Schwarz divergence), scored by the test error of its class
  part's argmax:

  - ``onehot, batch 500``: ``prior='onehot'``, a 10-unit code that is only the class
    (the benchmark's earlier setting, with its batch size);
  - ``onehot, batch 128``: the same with more, smaller steps;
  - ``onehot + style, batch 128``: ``OneHotPrior(16, n_classes=10)``, a one-hot
    class part and 6 Gaussian style coordinates (the adversarial autoencoder's
    layout);

* the supervised term of :class:`skae.AutoencoderTransformer` (16-unit code) at
  ``supervised_weight`` 1.0 and 0.1, scored by an RBF SVC on the labelled codes and
  by label spreading (kNN, 10 neighbours, ``alpha=0.2``) over all codes.

Draws are ``labelled_subset``'s of ``bench_semi_supervised.py``. Writes
``results/few_labels_ablation/few_labels_ablation.{csv,md}``.

Run: ``python benchmarks/bench_few_labels_ablation.py [--draws 1] [--quick]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from _common import EARLIER_DEFAULTS, add_common_arguments, machine_header, save_table
from _few_labels import Clock, label_spreading, labelled_subset, svc
from skae import AutoencoderTransformer, ITLAutoencoder
from skae.datasets import load_split
from skae.priors import OneHotPrior

COMMON = dict(
    hidden_layer_sizes=(512, 256),
    # the activation of the committed rows' time (their batch sizes are set per model)
    activation=EARLIER_DEFAULTS["activation"],
    output_activation="sigmoid",
    loss="bce",
    noise=None,  # the committed rows' models train on clean inputs
    random_state=0,
)

#: ITL variant -> (latent_dim, prior factory, batch_size)
ITL_VARIANTS = {
    "onehot, batch 500": (10, lambda: "onehot", 500),
    "onehot, batch 128": (10, lambda: "onehot", 128),
    "onehot + style, batch 128": (16, lambda: OneHotPrior(16, n_classes=10), 128),
}
SUPERVISED_WEIGHTS = (1.0, 0.1)


def timed_fit(model, X, y):
    """Wall and CPU seconds of ``model.fit(X, y)``."""
    clock = Clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X, y)
    return tuple(round(float(t), 1) for t in clock.stop())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-labels", type=int, default=100)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--machine-note", default="")
    add_common_arguments(parser, "few_labels_ablation", threads=1, quick="1,000 images, 1 epoch")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    if args.quick:
        args.n_train, args.max_epochs = 1000, 1

    data = load_split("mnist", data_home=args.data_home)
    X, y = data.X_train[: args.n_train], data.y_train[: args.n_train]
    X_test, y_test = data.X_test, data.y_test
    if args.quick:
        X_test, y_test = X_test[:1000], y_test[:1000]
    rows = []

    def record(model, variant, scorer, pred, seconds, draw):
        rows.append(
            {
                "model": model,
                "variant": variant,
                "scored by": scorer,
                "draw": draw,
                "test_error": float(np.mean(pred != y_test)),
                "fit_seconds": seconds[0],
                "fit_cpu_seconds": seconds[1],
            }
        )
        print(rows[-1], flush=True)

    for draw in range(args.draws):
        lab = labelled_subset(y, args.n_labels, draw)
        y_partial = np.full(len(y), -1)
        y_partial[lab] = y[lab]
        for name, (latent_dim, prior, batch_size) in ITL_VARIANTS.items():
            itl = ITLAutoencoder(
                latent_dim=latent_dim,
                prior=prior(),
                regularizer="csd",
                batch_size=batch_size,
                max_epochs=args.max_epochs,
                # the class part alone: without the supervised head of 'auto'
                supervised_weight=0.0,
                consistency_weight=0.0,
                **COMMON,
            )
            seconds = timed_fit(itl, X, y_partial)
            n_classes = itl.prior_.n_classes
            pred = itl.classes_[itl.transform(X_test)[:, :n_classes].argmax(axis=1)]
            record("ITLAutoencoder", name, "argmax of the class part", pred, seconds, draw)
        for weight in SUPERVISED_WEIGHTS:
            ae = AutoencoderTransformer(
                latent_dim=16,
                supervised_weight=weight,
                batch_size=128,
                max_epochs=args.max_epochs,
                **COMMON,
            )
            seconds = timed_fit(ae, X, y_partial)
            Z, Z_test = ae.transform(X), ae.transform(X_test)
            variant = f"supervised_weight={weight}"
            pred = svc().fit(Z[lab], y[lab]).predict(Z_test)
            record("AutoencoderTransformer", variant, "SVC on labelled codes", pred, seconds, draw)
            pred = label_spreading().fit(Z, y_partial).predict(Z_test)
            record("AutoencoderTransformer", variant, "label spreading", pred, seconds, draw)
    header = machine_header(
        f"MNIST, first {len(X):,} training images, {args.n_labels} balanced labels "
        f"(the rest -1), {len(X_test):,} test images; 784-512-256-code, "
        f"{args.max_epochs} epochs, seed 0"
        + (f"; machine note: {args.machine_note}" if args.machine_note else ""),
        args.threads,
    )
    name = "few_labels_ablation" + ("_quick" if args.quick else "")
    save_table(pd.DataFrame(rows), args.output_dir / name, header)


if __name__ == "__main__":
    main()
