"""Training and inference speed: AutoencoderTransformer against a hand-written torch loop.

Trains the same 784-500-500-32 ReLU autoencoder (Adam, batch 256, MSE) on MNIST's
60,000 training images three ways, in one run and interleaved:

* ``torch loop``: a plain torch training loop (shuffle, slice, step, read the loss),
  with torch's default Adam and with ``fused=True``;
* ``skae``: ``AutoencoderTransformer.fit`` (skorch underneath, whole-tensor batches,
  Adam fused by default), and with ``optimizer_kwargs={'fused': False}``;
* ``skorch default``: skorch's stock data path (DataLoader with per-sample collation),
  for one epoch only, to show what the whole-tensor batching saves.

and times ``transform`` against plain ``torch.no_grad()`` loops over the encoder in
batches of 256, 1,024 and 4,096 rows (all collect the codes into one array) on the
first ``--inference-rows`` images; ``ratio_vs_torch`` for transform is against the
fastest of those loops. ``--inference-only`` runs just that comparison (seconds, for
a rerun on a quiet machine) and writes ``results/fit_speed/fit_speed_inference.{csv,md}``. Prints
samples/s and ratios, and writes ``results/fit_speed/fit_speed.{csv,md}`` (``_quick`` names with
``--quick``).

Run: ``python benchmarks/bench_fit_speed.py [--threads 2] [--epochs 5] [--quick]
[--inference-only]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from skorch import NeuralNet

from _common import add_common_arguments, machine_header, save_table
from skae import AutoencoderTransformer
from skae._base import INFERENCE_BATCH_SIZE
from skae._nn import DenseAutoencoderModule
from skae.datasets import load_mnist

HIDDEN, LATENT, BATCH, LR = (500, 500), 32, 256, 1e-3


def torch_loop(
    X: torch.Tensor, epochs: int, seed: int, batch: int = BATCH, fused: bool = False
) -> float:
    torch.manual_seed(seed)
    module = DenseAutoencoderModule(X.shape[1], HIDDEN, LATENT, activation="relu")
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, fused=fused or None)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        total = 0.0
        for i in range(0, len(X), batch):
            rows = X[order[i : i + batch]]
            optimizer.zero_grad()
            loss = torch.mean((module(rows)["raw"] - rows) ** 2)
            loss.backward()
            optimizer.step()
            total += loss.item()  # a real loop reports its loss; so does skorch
    return time.perf_counter() - start


def skae_fit(
    X: np.ndarray, epochs: int, seed: int, batch: int = BATCH, optimizer_kwargs=None
) -> tuple[float, AutoencoderTransformer]:
    ae = AutoencoderTransformer(
        optimizer_kwargs=optimizer_kwargs,
        latent_dim=LATENT,
        hidden_layer_sizes=HIDDEN,
        activation="relu",
        optimizer="adam",
        lr=LR,
        batch_size=batch,
        max_epochs=epochs,
        random_state=seed,
        noise=None,  # the torch loops it is compared with add no noise
    )
    start = time.perf_counter()
    ae.fit(X)
    return time.perf_counter() - start, ae


class _SkorchAE(NeuralNet):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        return torch.mean((y_pred["raw"] - X) ** 2)


def skorch_default(X: np.ndarray, epochs: int, seed: int, batch: int = BATCH) -> float:
    torch.manual_seed(seed)
    net = _SkorchAE(
        DenseAutoencoderModule,
        module__n_features=X.shape[1],
        module__hidden_layer_sizes=HIDDEN,
        module__latent_dim=LATENT,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    start = time.perf_counter()
    net.fit(X, X)
    return time.perf_counter() - start


#: batch sizes of the plain inference loops that skae's transform is compared with
INFERENCE_BATCHES = (256, 1024, 4096)


def inference_rows(fitted: AutoencoderTransformer, X: np.ndarray, repeats: int) -> list:
    """Timings of ``fitted.transform(X)`` and of plain ``no_grad`` loops over its encoder.

    Each plain loop slices the tensor in batches of one of ``INFERENCE_BATCHES`` and
    collects the codes into one numpy array, as a user needs them; skae's transform
    also validates ``X`` (a finiteness scan). Interleaved, so that drift hits all alike.
    """
    encoder = fitted.module_.encoder.eval()
    X_t = torch.from_numpy(X)
    n = len(X)
    rows = []
    for r in range(repeats):
        for batch in INFERENCE_BATCHES:
            start = time.perf_counter()
            with torch.no_grad():
                torch.cat([encoder(X_t[i : i + batch]) for i in range(0, n, batch)]).numpy()
            rows.append(
                ("transform", f"torch no_grad, batch {batch}", r, time.perf_counter() - start)
            )
        start = time.perf_counter()
        fitted.transform(X)
        rows.append(("transform", "skae transform", r, time.perf_counter() - start))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--small-batch", type=int, default=32)
    parser.add_argument(
        "--inference-rows", type=int, default=20000, help="images for the transform timings"
    )
    parser.add_argument(
        "--inference-only",
        action="store_true",
        help="time transform only (a model fitted for 0 epochs; writes fit_speed_inference.*)",
    )
    add_common_arguments(parser, "fit_speed", threads=2, quick="10k samples, 1 epoch, 1 repeat")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    X = load_mnist(subset="train", data_home=args.data_home).data
    epochs, repeats = args.epochs, args.repeats
    if args.quick:
        X, epochs, repeats = X[:10000], 1, 1
    X_t = torch.from_numpy(X)
    n = len(X)
    if args.inference_only:
        return inference_only(X, args, repeats=max(7, repeats))

    rows = []
    fitted = None
    # skae's Adam is fused by default (one kernel for the whole update); the plain
    # loop's is torch's default (a loop over the parameters). Each is also timed the
    # other way, to show what the fused update is worth at each batch size.
    unfused = {"fused": False}
    for r in range(repeats):  # interleaved so that drift hits all alike
        rows.append(("fit", "torch loop", r, torch_loop(X_t, epochs, seed=r)))
        rows.append(("fit", "torch loop, fused Adam", r, torch_loop(X_t, epochs, r, fused=True)))
        seconds, fitted = skae_fit(X, epochs, seed=r)
        rows.append(("fit", "skae AutoencoderTransformer", r, seconds))
        rows.append(("fit", "skae, fused=False", r, skae_fit(X, epochs, r, BATCH, unfused)[0]))
    rows.append(("fit", "skorch default DataLoader", 0, skorch_default(X, 1, seed=0) * epochs))
    # Small batches are where per-sample collation and the per-step update cost most
    # (the transfer studies use 32): one epoch of each, scaled to the same epochs.
    small = args.small_batch
    small_fits = {
        f"torch loop, batch {small}": lambda: torch_loop(X_t, 1, 0, small),
        f"torch loop, fused Adam, batch {small}": lambda: torch_loop(X_t, 1, 0, small, True),
        f"skae, batch {small}": lambda: skae_fit(X, 1, 0, small)[0],
        f"skae, fused=False, batch {small}": lambda: skae_fit(X, 1, 0, small, unfused)[0],
        f"skorch default, batch {small}": lambda: skorch_default(X, 1, 0, small),
    }
    for name, fit_once in small_fits.items():
        rows.append(("fit", name, 0, fit_once() * epochs))

    rows += inference_rows(fitted, X[: args.inference_rows], repeats=max(7, repeats))

    raw = pd.DataFrame(rows, columns=["phase", "method", "repeat", "seconds"])
    table = raw.groupby(["phase", "method"], sort=False)["seconds"].median().reset_index()
    n_inference = min(n, args.inference_rows)
    table["samples_per_s"] = np.where(
        table["phase"] == "fit", n * epochs / table["seconds"], n_inference / table["seconds"]
    )

    fastest_loop = (
        table.loc[table.method.str.startswith("torch no_grad"), ["method", "seconds"]]
        .sort_values("seconds")
        .method.iloc[0]
    )

    def reference(row):
        if row.phase == "transform":
            return fastest_loop
        return f"torch loop, batch {small}" if f"batch {small}" in row.method else "torch loop"

    table["ratio_vs_torch"] = [
        row.samples_per_s
        / table.loc[
            (table.phase == row.phase) & (table.method == reference(row)), "samples_per_s"
        ].item()
        for row in table.itertuples()
    ]
    header = machine_header(
        f"MNIST train, {n} images x 784, {epochs} epochs, 784-500-500-32 ReLU, Adam, "
        f"batch {BATCH} unless stated; fit: median of {repeats} interleaved repeats (skorch "
        f"default and batch {small}: 1 epoch, scaled to {epochs}); transform: median of "
        f"{max(7, repeats)} interleaved repeats on the first {n_inference} images, against "
        f"the fastest plain no_grad loop ({fastest_loop}); fit: ratio_vs_torch against "
        "the torch loop of the same batch size",
        args.threads,
    )
    # a smoke run must not overwrite the committed table (as the other benchmarks)
    save_table(table, args.output_dir / ("fit_speed_quick" if args.quick else "fit_speed"), header)


def inference_only(X: np.ndarray, args, repeats: int) -> None:
    """The transform timings alone: for a quick rerun on a quiet machine."""
    # Speed does not depend on the weights: initialise without training.
    fitted = skae_fit(X[:256], 0, seed=0)[1]
    X = X[: args.inference_rows]
    raw = pd.DataFrame(
        inference_rows(fitted, X, repeats), columns=["phase", "method", "repeat", "seconds"]
    )
    table = raw.groupby("method", sort=False)["seconds"].median().reset_index()
    table["samples_per_s"] = len(X) / table["seconds"]
    best = table.loc[table.method.str.startswith("torch no_grad"), "samples_per_s"].max()
    table["ratio_vs_fastest_loop"] = table["samples_per_s"] / best
    header = machine_header(
        f"first {len(X)} MNIST train images x 784, 784-500-500-32 ReLU encoder; median of "
        f"{repeats} interleaved repeats; skae transform uses "
        f"INFERENCE_BATCH_SIZE={INFERENCE_BATCH_SIZE}",
        args.threads,
    )
    name = "fit_speed_inference_quick" if args.quick else "fit_speed_inference"
    save_table(table, args.output_dir / name, header)


if __name__ == "__main__":
    main()
