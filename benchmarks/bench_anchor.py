"""The deep-autoencoder anchor: can skae match Hinton & Salakhutdinov (2006)?

Their 784-1000-500-250-30 autoencoder on MNIST (linear code, sigmoid output, binary
cross-entropy, Adam), test squared reconstruction error per image (summed over the 784
pixels, mean over the 10,000 official test images), one row per recipe of
``ANCHOR_RECIPES`` beside PCA-30 (13.87 there; the published RBM-pretrained network:
3.00). ``train_error`` is measured on the first 10,000 fitting images.

Rows are appended to ``results/anchor/anchor.csv`` as they are measured. A run
recomputes the rows it selects and rewrites the CSV; ``--resume`` keeps the rows
already there and computes the missing ones (one command per recipe builds the
table). ``results/anchor/anchor.md`` is rewritten from the whole CSV.

Run: ``python benchmarks/bench_anchor.py [--recipes adam-bce-elu-cosine-b64]
[--train-size N] [--epochs E] [--threads 1] [--resume] [--quick]``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import time

import pandas as pd
import torch
from sklearn.decomposition import PCA

from _common import add_common_arguments, machine_header, start_table
from _representations import (
    append_row,
    done_keys,
    n_parameters,
    squared_error_per_image,
    write_markdown,
)
from skae import AutoencoderTransformer
from skae.datasets import load_split

#: 784-1000-500-250-30 recipes for the anchor: AutoencoderTransformer parameters, plus
#: ``cosine`` (cosine-annealed learning rate over ``max_epochs``: ``lr_schedule='cosine'``
#: when skae has it, a skorch ``LRScheduler`` otherwise).
ANCHOR_BASE = {
    "hidden_layer_sizes": (1000, 500, 250),
    "latent_dim": 30,
    "latent_activation": "linear",
    "output_activation": "sigmoid",
    "loss": "bce",
    "activation": "relu",
    "lr": 1e-3,
    "batch_size": 256,
    "noise": None,
}

ANCHOR_RECIPES = {
    "adam-bce-relu": {"max_epochs": 30},
    "adam-bce-relu-cosine": {"max_epochs": 30, "cosine": True},
    "adam-bce-relu-cosine-b64": {"max_epochs": 30, "cosine": True, "batch_size": 64},
    "adam-bce-elu-cosine-b64": {
        "max_epochs": 30,
        "activation": "elu",
        "cosine": True,
        "batch_size": 64,
    },
}

#: published figures (Hinton & Salakhutdinov 2006) and the issue's measured baseline
ANCHOR_PUBLISHED = {"RBM pre-training + fine-tuning (published)": 3.00, "PCA-30 (published)": 13.87}

ANCHOR_KEY = ["recipe", "n_train", "max_epochs", "seed"]


#: the recipe the user guide quotes: the best of ``ANCHOR_RECIPES``
DOCUMENTED_RECIPE = "adam-bce-elu-cosine-b64"


def documented_recipe(seed):
    """The autoencoder of the user guide's reconstruction recipe, as this script fits
    it for ``seed`` (tests/test_docs_recipes.py keeps the two equal)."""
    args = argparse.Namespace(epochs=None, quick=False)
    return anchor_model(DOCUMENTED_RECIPE, seed, args)[0]


def anchor_model(recipe, seed, args):
    params = {**ANCHOR_BASE, **ANCHOR_RECIPES[recipe]}
    cosine = params.pop("cosine", False)
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    if args.quick:
        params["max_epochs"] = 1
    how = ""
    if not cosine and "lr_schedule" in inspect.signature(AutoencoderTransformer).parameters:
        params["lr_schedule"] = None  # a constant rate, whatever the default schedule
    if cosine:
        if "lr_schedule" in inspect.signature(AutoencoderTransformer).parameters:
            params["lr_schedule"], how = "cosine", "lr_schedule='cosine'"
        else:
            from skorch.callbacks import LRScheduler
            from torch.optim.lr_scheduler import CosineAnnealingLR

            params["callbacks"] = [LRScheduler(CosineAnnealingLR, T_max=params["max_epochs"])]
            how = "cosine via skorch LRScheduler (per epoch, T_max=max_epochs)"
    return AutoencoderTransformer(random_state=seed, **params), params, how


def run_anchor(args, path):
    done = done_keys(path, ANCHOR_KEY)
    mnist = load_split("mnist", split="official", data_home=args.data_home)
    n_train = args.train_size or len(mnist.X_train)
    if args.quick:
        n_train = 1000
    X, X_test = mnist.X_train[:n_train], mnist.X_test[: 500 if args.quick else None]
    base = {
        "n_train": n_train,
        "n_test": len(X_test),
        "seed": 0,
        "threads": args.threads,
        "machine_note": args.machine_note,
    }
    if ("pca-30", str(n_train), "0", "0") not in done:
        start = time.perf_counter()
        pca = PCA(n_components=30, random_state=0).fit(X)
        seconds = time.perf_counter() - start
        X_hat = pca.inverse_transform(pca.transform(X_test))
        append_row(
            path,
            {
                "recipe": "pca-30",
                **base,
                "max_epochs": 0,
                "test_error": squared_error_per_image(X_test, X_hat),
                "train_error": squared_error_per_image(
                    X[:10000], pca.inverse_transform(pca.transform(X[:10000]))
                ),
                "fit_seconds": seconds,
                "n_parameters": n_parameters(pca),
                "params": "PCA(30)",
            },
            ANCHOR_KEY,
        )
    recipes = args.recipes
    for recipe in recipes[:1] if args.quick else recipes:
        model, params, how = anchor_model(recipe, 0, args)
        key = (recipe, str(n_train), str(model.max_epochs), "0")
        if key in done:
            continue
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(X)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        shown = {k: v for k, v in params.items() if k != "callbacks"}
        append_row(
            path,
            {
                "recipe": recipe,
                **base,
                "max_epochs": model.max_epochs,
                "test_error": squared_error_per_image(X_test, model.reconstruct(X_test)),
                "train_error": squared_error_per_image(X[:10000], model.reconstruct(X[:10000])),
                "fit_seconds": seconds,
                "fit_cpu_seconds": cpu_seconds,
                "n_parameters": n_parameters(model),
                "params": f"{shown}" + (f"; {how}" if how else ""),
            },
            ANCHOR_KEY,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--recipes", nargs="+", choices=tuple(ANCHOR_RECIPES), default=list(ANCHOR_RECIPES)
    )
    parser.add_argument(
        "--train-size", type=int, default=None, help="fitting images (default: all 60,000)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the recipes' max_epochs")
    parser.add_argument(
        "--machine-note",
        default="",
        help="e.g. 'idle' or 'shared with 5 other jobs'; stored in every row and header",
    )
    add_common_arguments(
        parser,
        "anchor",
        quick="1,000 images, 1 epoch, the first recipe; _quick outputs",
        resume=True,
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    stem = "anchor_quick" if args.quick else "anchor"
    path = args.output_dir / f"{stem}.csv"
    start_table(path, args.resume)
    run_anchor(args, path)
    note = f"; machine note: {args.machine_note}" if args.machine_note else ""
    header = machine_header(
        "MNIST, the deep-autoencoder anchor: 784-1000-500-250-30 (linear code, sigmoid "
        "output), test squared reconstruction error per image (sum over 784 pixels, "
        "mean over the test images); train_error on the first 10,000 fitting images. "
        f"Published (Hinton & Salakhutdinov 2006): {ANCHOR_PUBLISHED}" + note,
        args.threads,
    )
    # Two processes may both measure PCA-30 (a parallel run): show each key once.
    anchor = pd.read_csv(path).drop_duplicates(subset=ANCHOR_KEY)
    write_markdown(anchor, args.output_dir / f"{stem}.md", header)


if __name__ == "__main__":
    main()
