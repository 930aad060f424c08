"""What the ITL autoencoder's code layout and batch size do with few labels.

An ablation behind the semi-supervised benchmark's ITL settings: the same
:class:`skae.ITLAutoencoder` (784-512-256-code, sigmoid output, binary
cross-entropy, the Cauchy-Schwarz divergence, 20 epochs), fitted on the first 10,000
MNIST training images with 100 (or ``--n-labels``) balanced labels, the other rows
``-1``, changing one thing at a time:

* ``onehot, batch 500``: ``prior='onehot'``, a 10-unit code that is only the class
  (the semi-supervised benchmark's earlier setting, with its batch size);
* ``onehot, batch 128``: the same with more, smaller steps;
* ``onehot + style, batch 128``: ``OneHotPrior(16, n_classes=10)``, a one-hot class
  part and 6 Gaussian style coordinates (the adversarial autoencoder's layout).

Scored by the test error of the class part's argmax on the 10,000 official test
images, per labelled draw (``labelled_subset`` of ``bench_semi_supervised.py``).
Writes ``results/itl_few_labels.{csv,md}``.

Run: ``python benchmarks/bench_itl_few_labels.py [--draws 1] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from _common import default_data_home, machine_header, save_table
from bench_semi_supervised import labelled_subset
from skae import ITLAutoencoder
from skae.datasets import load_split
from skae.priors import OneHotPrior

#: variant -> (latent_dim, prior factory, batch_size)
VARIANTS = {
    "onehot, batch 500": (10, lambda: "onehot", 500),
    "onehot, batch 128": (10, lambda: "onehot", 128),
    "onehot + style, batch 128": (16, lambda: OneHotPrior(16, n_classes=10), 128),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-labels", type=int, default=100)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--machine-note", default="")
    parser.add_argument("--quick", action="store_true", help="1,000 images, 1 epoch")
    parser.add_argument("--data-home", default=default_data_home())
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
    for draw in range(args.draws):
        lab = labelled_subset(y, args.n_labels, draw)
        y_partial = np.full(len(y), -1)
        y_partial[lab] = y[lab]
        for name, (latent_dim, prior, batch_size) in VARIANTS.items():
            itl = ITLAutoencoder(
                latent_dim=latent_dim,
                prior=prior(),
                regularizer="csd",
                hidden_layer_sizes=(512, 256),
                output_activation="sigmoid",
                loss="bce",
                batch_size=batch_size,
                max_epochs=args.max_epochs,
                random_state=0,
            )
            start, cpu = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                itl.fit(X, y_partial)
            fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
            n_classes = itl.prior_.n_classes
            pred = itl.classes_[itl.transform(X_test)[:, :n_classes].argmax(axis=1)]
            rows.append(
                {
                    "variant": name,
                    "latent_dim": latent_dim,
                    "batch_size": batch_size,
                    "draw": draw,
                    "n_labels": args.n_labels,
                    "n_train": len(X),
                    "test_error": float(np.mean(pred != y_test)),
                    "fit_seconds": round(fit_seconds, 1),
                    "fit_cpu_seconds": round(fit_cpu, 1),
                    "machine_note": args.machine_note,
                }
            )
            print(rows[-1], flush=True)
    header = machine_header(
        f"MNIST, first {len(X):,} training images, {args.n_labels} balanced labels "
        f"(the rest -1), {len(X_test):,} test images; ITLAutoencoder 784-512-256-code, "
        f"CSD, {args.max_epochs} epochs, seed 0; test error of the class part's argmax"
        + (f"; machine note: {args.machine_note}" if args.machine_note else ""),
        args.threads,
    )
    save_table(pd.DataFrame(rows), "itl_few_labels" + ("_quick" if args.quick else ""), header)


if __name__ == "__main__":
    main()
