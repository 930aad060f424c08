"""The search behind skae's defaults and recipes: many candidates, one seed, in parallel.

``bench_representations.py`` measures a few chosen representations carefully (three
seeds, every latent size). This script is the wide, cheap pass that chooses them: each
candidate of ``CANDIDATES`` is an ``AutoencoderTransformer`` parameter set with an
epoch budget on MNIST (Kuzushiji-MNIST's 8,000 images get the same number of gradient
steps, up to 500 epochs). Stage 1 fits every candidate with 32 units, seed 0, on both
data sets; stage 2 takes the ``--top`` candidates with the largest worst-case margin
over PCA (the smallest of the six accuracy differences: two data sets, three
classifiers) and fits them with 2 and 8 units and with seeds 1 and 2. The protocol is
``bench_representations.py``'s: logistic regression and RBF SVC on standardised codes
(the SVC on ``--svc-train-size`` rows), 5-NN on the raw codes.

Beside the codes, two other searches run in the same pool:

* ``anchor``: 784-1000-500-250-30 trained longer (``ANCHOR_RECIPES``), test squared
  reconstruction error per image, the figure of Hinton & Salakhutdinov (2006); with
  ``--anchor-curves PATH`` each fit appends its test (and first-10,000-training-image)
  error every ``ANCHOR_CURVE_EVERY`` epochs to PATH, so that a run stopped early keeps
  its curve (its ``fit_seconds`` then include those evaluations);
* ``few-labels``: an autoencoder's codes of all 60,000 MNIST training images with
  100 or 1,000 labels (balanced, three draws), then ``LabelSpreading`` (kNN kernel;
  its own predictions, or a 10-NN fitted on its labels of every training code), the
  same on a UMAP embedding of the codes (with umap-learn), and an SVC on the labelled
  codes; test error on the 10,000 test images.

Fits use CUDA when it is there (``--device``), else the CPU with one thread per worker;
``fit_seconds`` is the device's, and ``cost`` (parameters x training rows seen,
relative to the default) is what predicts a CPU fit's time. Rows are appended to
``results/recipe_search*.csv`` as they finish.

Run: ``python benchmarks/search_recipes.py [--workers 8] [--device cuda] [--quick]``;
``--report run1.csv run2.csv --machine-note "..."`` merges runs into
``results/recipe_search/recipe_search.{csv,md}`` without fitting (``--report-curves`` merges anchor
curves into ``results/recipe_search/recipe_search_anchor_curves.{csv,png}``). Candidate ``default`` is the
default of the time of the search (784-512-256-128, ReLU, 15 epochs); the default
that came out of it is ``1024-256`` (10 epochs): the best three at 32 units
(``wide1024-elu``, ``wide1024-mask0.2``, one layer) lost most of their lead at 2
units in a CPU check (``results/recipe_search/recipe_search_latent2_check.csv``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from _common import EARLIER_DEFAULTS, results_dir

#: where this benchmark writes its tables and figures
RESULTS = results_dir("recipe_search")

#: Under every candidate: the defaults of the searches' time, so that a candidate names
#: everything it changes and its rows can be reproduced after skae's defaults moved on.
#: ``default`` (784-512-256-128 then) is the one exception.
SEARCH_BASE = EARLIER_DEFAULTS

#: name -> (AutoencoderTransformer parameters, epochs on MNIST's 60,000 images)
DEFAULT_EPOCHS = 15
CANDIDATES = {
    "default": ({}, DEFAULT_EPOCHS),
    "default-30ep": ({}, 30),
    "default-lr3e-3": ({"lr": 3e-3}, DEFAULT_EPOCHS),
    "default-b128": ({"batch_size": 128}, DEFAULT_EPOCHS),
    "default-b64": ({"batch_size": 64}, DEFAULT_EPOCHS),
    "default-b512-lr2e-3": ({"batch_size": 512, "lr": 2e-3}, DEFAULT_EPOCHS),
    "default-elu": ({"activation": "elu"}, DEFAULT_EPOCHS),
    "default-mask0.1": ({"noise": "masking", "noise_level": 0.1}, DEFAULT_EPOCHS),
    "default-gauss0.1": ({"noise": "gaussian", "noise_level": 0.1}, DEFAULT_EPOCHS),
    "default-dropout0.1": ({"dropout": 0.1}, DEFAULT_EPOCHS),
    "default-wd1e-5": ({"weight_decay": 1e-5}, DEFAULT_EPOCHS),
    "default-l1-1e-4": ({"sparsity": "l1", "sparsity_weight": 1e-4}, DEFAULT_EPOCHS),
    "default-contractive1e-3": ({"contractive_weight": 1e-3}, DEFAULT_EPOCHS),
    "default-mse": ({"loss": "mse"}, DEFAULT_EPOCHS),
    "wide1024": ({"hidden_layer_sizes": (1024,)}, DEFAULT_EPOCHS),
    "wide2048-8ep": ({"hidden_layer_sizes": (2048,)}, 8),
    "512-256-40ep": ({"hidden_layer_sizes": (512, 256)}, 20),
    "256-128-40ep": ({"hidden_layer_sizes": (256, 128)}, 40),
    "1000-500-250-6ep": ({"hidden_layer_sizes": (1000, 500, 250)}, 6),
    "1000-500-250-30ep": ({"hidden_layer_sizes": (1000, 500, 250)}, 30),
    "1000-500-250-30ep-mask0.2": (
        {"hidden_layer_sizes": (1000, 500, 250), "noise": "masking", "noise_level": 0.2},
        30,
    ),
    "1000-500-250-60ep": ({"hidden_layer_sizes": (1000, 500, 250)}, 60),
    "2000-1000-500-60ep": ({"hidden_layer_sizes": (2000, 1000, 500)}, 60),
    # second round: a wide single hidden layer (kNN-friendly codes) with ELU, noise, depth
    "wide1024-elu": ({"hidden_layer_sizes": (1024,), "activation": "elu"}, DEFAULT_EPOCHS),
    "wide1024-10ep": ({"hidden_layer_sizes": (1024,)}, 10),
    "wide1024-elu-10ep": ({"hidden_layer_sizes": (1024,), "activation": "elu"}, 10),
    "wide1024-mask0.2": (
        {"hidden_layer_sizes": (1024,), "noise": "masking", "noise_level": 0.2},
        DEFAULT_EPOCHS,
    ),
    "wide1024-contractive1e-3": (
        {"hidden_layer_sizes": (1024,), "contractive_weight": 1e-3},
        DEFAULT_EPOCHS,
    ),
    "wide1024-b128-8ep": ({"hidden_layer_sizes": (1024,), "batch_size": 128}, 8),
    "1024-256": ({"hidden_layer_sizes": (1024, 256)}, 10),
    "1024-256-elu": ({"hidden_layer_sizes": (1024, 256), "activation": "elu"}, 10),
    "wide512-elu-20ep": ({"hidden_layer_sizes": (512,), "activation": "elu"}, 20),
    "wide2048-elu-6ep": ({"hidden_layer_sizes": (2048,), "activation": "elu"}, 6),
    "1000-500-250-elu-15ep": (
        {"hidden_layer_sizes": (1000, 500, 250), "activation": "elu"},
        DEFAULT_EPOCHS,
    ),
    "default-elu-b128": ({"activation": "elu", "batch_size": 128}, DEFAULT_EPOCHS),
    "wide1024-tanh": ({"hidden_layer_sizes": (1024,), "activation": "tanh"}, DEFAULT_EPOCHS),
    # Smaller batches at the 2026-11-26 default's cost with fused Adam (8 epochs of
    # batches of 128 take about the time of 10 of 256 on 2 threads)
    "1024-256-b128-8ep": ({"hidden_layer_sizes": (1024, 256), "batch_size": 128}, 8),
    "1024-256-elu-b128-8ep": (
        {"hidden_layer_sizes": (1024, 256), "activation": "elu", "batch_size": 128},
        8,
    ),
    "1024-256-elu-b64-6ep": (
        {"hidden_layer_sizes": (1024, 256), "activation": "elu", "batch_size": 64},
        6,
    ),
    # A higher rate for the 8 epochs of 128 (2026-11-26, CPU): MNIST's 5-NN gains,
    # Kuzushiji-MNIST's 8,000 images (60 epochs) lose with logistic regression
    "1024-256-elu-b128-8ep-lr2e-3": (
        {"hidden_layer_sizes": (1024, 256), "activation": "elu", "batch_size": 128, "lr": 2e-3},
        8,
    ),
    "1024-256-b128-8ep-lr2e-3": (
        {"hidden_layer_sizes": (1024, 256), "activation": "relu", "batch_size": 128, "lr": 2e-3},
        8,
    ),
    "1024-256-b128-8ep-lr3e-3": (
        {"hidden_layer_sizes": (1024, 256), "activation": "relu", "batch_size": 128, "lr": 3e-3},
        8,
    ),
    "1024-256-b128-8ep-lr2e-3-mask0.2": (
        {
            "hidden_layer_sizes": (1024, 256),
            "activation": "relu",
            "batch_size": 128,
            "lr": 2e-3,
            "noise": "masking",
            "noise_level": 0.2,
        },
        8,
    ),
    "1024-256-elu-b128-8ep-mask0.1": (
        {
            "hidden_layer_sizes": (1024, 256),
            "activation": "elu",
            "batch_size": 128,
            "noise": "masking",
            "noise_level": 0.1,
        },
        8,
    ),
}

#: 784-1000-500-250-30 with skae's defaults otherwise (BCE, sigmoid output, linear code,
#: Adam 1e-3, cosine over the epochs): name -> (parameters, epochs). The first two are
#: the first search's (batches of 256); the others ask whether smaller batches, ELU or
#: a weight penalty bring the test error to Hinton & Salakhutdinov's 3.00
ANCHOR_RECIPES = {
    "100ep": ({}, 100),
    "250ep": ({}, 250),
    "b64-60ep": ({"batch_size": 64}, 60),
    "b64-elu-60ep": ({"batch_size": 64, "activation": "elu"}, 60),
    "b128-120ep": ({"batch_size": 128}, 120),
    "b32-30ep": ({"batch_size": 32}, 30),
    "b64-lr3e-4-60ep": ({"batch_size": 64, "lr": 3e-4}, 60),
    "b64-wd1e-5-60ep": ({"batch_size": 64, "weight_decay": 1e-5}, 60),
    # second round, after ELU in batches of 64 reached 2.73
    "b64-elu-30ep": ({"batch_size": 64, "activation": "elu"}, 30),
    "b128-elu-120ep": ({"batch_size": 128, "activation": "elu"}, 120),
    "b32-elu-30ep": ({"batch_size": 32, "activation": "elu"}, 30),
}
ANCHOR_CURVE_EVERY = 5
FEW_LABELS_CODES = {
    # skae's defaults of the run (784-1024-256, ReLU, 10 epochs of 256: 'auto' then)
    "default-16": ({"latent_dim": 16}, 10),
    "1000-500-250-16-60ep": ({"hidden_layer_sizes": (1000, 500, 250), "latent_dim": 16}, 60),
    "1000-500-250-32-60ep": ({"hidden_layer_sizes": (1000, 500, 250), "latent_dim": 32}, 60),
}
CLASSIFIERS = ("logistic regression", "RBF SVC", "5-NN")
STEPS_PER_MNIST_EPOCH = 60000 / 256


# ---------------------------------------------------------------------- worker side
_DATA = {}


def _setup(device):
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return device


def _data(name, data_home, quick):
    if name not in _DATA:
        from skae.datasets import load_split

        if name == "mnist":
            data = load_split("mnist", split="official", data_home=data_home)
        else:
            data = load_split("kmnist", split="test-only", data_home=data_home, random_state=0)
        if quick:
            data.X_train, data.y_train = data.X_train[:2000], data.y_train[:2000]
            data.X_test, data.y_test = data.X_test[:500], data.y_test[:500]
        _DATA[name] = data
    return _DATA[name]


def _epochs(epochs_mnist, n_train):
    # the same number of gradient steps as on MNIST's 60,000 images
    return int(min(500, max(1, round(epochs_mnist * 60000 / n_train))))


def _score(Z_train, y_train, Z_test, y_test, svc_rows):
    """Accuracy of bench_representations.py's three classifiers on the codes."""
    from threadpoolctl import threadpool_limits

    from _representations import CLASSIFIERS

    # the SVC on a fixed random subset, as bench_representations.py --svc-train-size
    rows = {"RBF SVC": np.random.default_rng(0).permutation(len(Z_train))[:svc_rows]}
    scores = {}
    with threadpool_limits(1):
        for name, make in CLASSIFIERS.items():
            fit_rows = rows.get(name, slice(None))
            clf = make().fit(Z_train[fit_rows], y_train[fit_rows])
            scores[name] = clf.score(Z_test, y_test)
    return scores


def codes_task(dataset, name, params, epochs_mnist, latent_dim, seed, opts):
    """Fit one representation; one row per classifier."""
    _setup(opts["device"])
    data = _data(dataset, opts["data_home"], opts["quick"])
    start = time.perf_counter()
    if name == "pca":
        from sklearn.decomposition import PCA

        model = PCA(n_components=latent_dim, random_state=seed).fit(data.X_train)
        n_params, epochs = int(model.components_.size + model.mean_.size), 0
    else:
        from skae import AutoencoderTransformer

        epochs = _epochs(epochs_mnist, len(data.X_train))
        model = AutoencoderTransformer(
            latent_dim=latent_dim,
            random_state=seed,
            max_epochs=epochs,
            device=opts["device"],
            **{**SEARCH_BASE, **params},
        ).fit(data.X_train)
        n_params = int(sum(p.numel() for p in model.module_.parameters()))
    fit_seconds = time.perf_counter() - start
    Z_train, Z_test = model.transform(data.X_train), model.transform(data.X_test)
    scores = _score(Z_train, data.y_train, Z_test, data.y_test, opts["svc_rows"])
    batch = params.get("batch_size", 256)
    return [
        {
            "part": "codes",
            "dataset": dataset,
            "candidate": name,
            "latent_dim": latent_dim,
            "seed": seed,
            "classifier": clf,
            "accuracy": acc,
            "epochs": epochs,
            "batch_size": batch,
            "n_parameters": n_params,
            "rows_seen": epochs * len(data.X_train),
            "fit_seconds": fit_seconds,
            "device": opts["device"] if name != "pca" else "cpu",
            "params": repr(params),
        }
        for clf, acc in scores.items()
    ]


def _anchor_name(recipe, epochs):
    # the first search's rows are named so; keep them comparable
    params, _ = ANCHOR_RECIPES[recipe]
    extra = " ".join(f"{k}={v}" for k, v in params.items())
    return f"784-1000-500-250-30 adam bce cosine {epochs}ep" + (f" {extra}" if extra else "")


def anchor_task(recipe, seed, opts):
    """784-1000-500-250-30, BCE, cosine: test squared error per image."""
    _setup(opts["device"])
    import torch
    from skorch.callbacks import Callback

    from _representations import squared_error_per_image
    from skae import AutoencoderTransformer

    data = _data("mnist", opts["data_home"], opts["quick"])
    params, epochs = ANCHOR_RECIPES[recipe]
    epochs = 2 if opts["quick"] else epochs
    name = _anchor_name(recipe, epochs)
    curves = opts.get("anchor_curves")
    start = time.perf_counter()

    class Curve(Callback):
        # the estimator is not fitted until fit returns: score through its net
        def on_epoch_end(self, net, **kwargs):
            epoch = len(net.history)
            if curves is None or (epoch % ANCHOR_CURVE_EVERY and epoch != epochs):
                return
            module, errors = net.module_, {}
            module.eval()
            with torch.inference_mode():
                for part, X in (("test", data.X_test), ("train", data.X_train[:10000])):
                    x = torch.as_tensor(X, dtype=torch.float32, device=net.device)
                    recon = module.decode(module.encode(x)).cpu().numpy()
                    errors[part] = squared_error_per_image(X, recon)
            module.train()
            row = {
                "candidate": name,
                "recipe": recipe,
                "seed": seed,
                "epoch": epoch,
                "epochs": epochs,
                "test_error": errors["test"],
                "train_error": errors["train"],
                "seconds": time.perf_counter() - start,
                "device": opts["device"],
            }
            header = not Path(curves).exists()
            pd.DataFrame([row]).to_csv(curves, mode="a", header=header, index=False)

    model = AutoencoderTransformer(
        hidden_layer_sizes=(1000, 500, 250),
        latent_dim=30,
        max_epochs=epochs,
        random_state=seed,
        device=opts["device"],
        callbacks=[("anchor_curve", Curve())],
        **{**SEARCH_BASE, **params},
    ).fit(data.X_train)
    fit_seconds = time.perf_counter() - start
    return [
        {
            "part": "anchor",
            "dataset": "mnist",
            "candidate": name,
            "latent_dim": 30,
            "seed": seed,
            "epochs": epochs,
            "batch_size": params.get("batch_size", 256),
            "recon_error_per_image": squared_error_per_image(
                data.X_test, model.reconstruct(data.X_test)
            ),
            "train_recon_error_per_image": squared_error_per_image(
                data.X_train[:10000], model.reconstruct(data.X_train[:10000])
            ),
            "fit_seconds": fit_seconds,
            "device": opts["device"],
            "params": repr(params),
        }
    ]


#: label spreading on the codes: name -> (kNN kernel's n_neighbors, alpha, then 10-NN).
#: With "then 10-NN", a KNeighborsClassifier(10) fitted on spreading's labels of every
#: training code (``transduction_``) predicts the test images, instead of spreading's
#: own ``predict``.
SPREADING = {
    "ls-knn10-a0.2": (10, 0.2, False),
    "ls-knn30-a0.8": (30, 0.8, False),
    "ls-knn30-a0.8-10nn": (30, 0.8, True),
}
#: the same on a 10-dimensional UMAP embedding of the codes (umap-learn, the ``compare``
#: extra; skipped without it)
UMAP_SPREADING = {
    "umap-ls-knn30-a0.8": (30, 0.8, False),
    "umap-ls-knn30-a0.99": (30, 0.99, False),
}


def spread(Z_train, y_partial, Z_test, n_neighbors, alpha, then_knn):
    """Test predictions of label spreading on the codes (optionally then a 10-NN)."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.semi_supervised import LabelSpreading

    model = LabelSpreading(kernel="knn", n_neighbors=n_neighbors, alpha=alpha, max_iter=100)
    model.fit(Z_train, y_partial)
    if not then_knn:
        return model.predict(Z_test)
    return KNeighborsClassifier(10).fit(Z_train, model.transduction_).predict(Z_test)


def umap_embedding(Z_train, Z_test):
    """UMAP(10) of the codes, fitted on the training codes; None without umap-learn."""
    try:
        import umap
    except ImportError:
        print("umap-learn is not installed: the umap-* few-labels methods are skipped")
        return None
    reducer = umap.UMAP(n_components=10, n_neighbors=15, min_dist=0.0, random_state=0)
    return reducer.fit_transform(Z_train), reducer.transform(Z_test)


def few_labels_task(name, params, epochs, opts):
    """One autoencoder on every MNIST training image; label spreading on its codes."""
    _setup(opts["device"])
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    from skae import AutoencoderTransformer

    data = _data("mnist", opts["data_home"], opts["quick"])
    start, cpu = time.perf_counter(), time.process_time()
    model = AutoencoderTransformer(
        max_epochs=epochs,
        random_state=0,
        device=opts["device"],
        **{**SEARCH_BASE, **params},
    ).fit(data.X_train)
    fit_seconds = time.perf_counter() - start
    fit_cpu_seconds = time.process_time() - cpu
    Z_train, Z_test = model.transform(data.X_train), model.transform(data.X_test)
    scaler = StandardScaler().fit(Z_train)
    Z_train, Z_test = scaler.transform(Z_train), scaler.transform(Z_test)
    # every method's inputs and the seconds they took before the labels are used
    inputs = {method: (Z_train, Z_test, setting, 0.0) for method, setting in SPREADING.items()}
    start = time.perf_counter()
    with threadpool_limits(1):
        embedded = umap_embedding(Z_train, Z_test)
    if embedded is not None:
        umap_seconds = time.perf_counter() - start
        inputs |= {
            method: (*embedded, setting, umap_seconds) for method, setting in UMAP_SPREADING.items()
        }
    rows = []

    def row(method, n_labels, draw, error, seconds):
        return {
            "part": "few-labels",
            "dataset": "mnist",
            "candidate": f"{name} + {method}",
            "latent_dim": params.get("latent_dim"),
            "n_labels": n_labels,
            "draw": draw,
            "test_error": error,
            "fit_seconds": seconds,
            "ae_fit_cpu_seconds": fit_cpu_seconds,
            "device": opts["device"],
        }

    for n_labels in (100, 1000):
        for draw in range(3):
            rng = np.random.default_rng(draw)
            labelled = np.concatenate(
                [
                    rng.choice(np.flatnonzero(data.y_train == c), n_labels // 10, replace=False)
                    for c in range(10)
                ]
            )
            y = np.full(len(Z_train), -1)
            y[labelled] = data.y_train[labelled]
            with threadpool_limits(1):
                for method, (A, B, setting, before) in inputs.items():
                    t = time.perf_counter()
                    error = float(np.mean(spread(A, y, B, *setting) != data.y_test))
                    seconds = fit_seconds + before + time.perf_counter() - t
                    rows.append(row(method, n_labels, draw, error, seconds))
                svc = make_pipeline(StandardScaler(), SVC()).fit(Z_train[labelled], y[labelled])
                error = 1 - svc.score(Z_test, data.y_test)
                rows.append(row("svc", n_labels, draw, error, fit_seconds))
    return rows


# ---------------------------------------------------------------------- driver
def parse_cell(text: str) -> tuple[str, int, int]:
    """``'mnist:32:1'`` -> ``('mnist', 32, 1)``: data set, latent size, seed."""
    try:
        dataset, m, seed = text.split(":")
        if dataset not in ("mnist", "kmnist"):
            raise ValueError
        return dataset, int(m), int(seed)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not DATASET:M:SEED with DATASET mnist or kmnist (e.g. mnist:32:1)"
        ) from None


def worst_margins(frame):
    """Per candidate: the smallest accuracy difference to PCA at 32 units, seed 0.

    NaN for a candidate without all six cells (a probe run on one data set only).
    """
    part = frame[(frame["part"] == "codes") & (frame["latent_dim"] == 32) & (frame["seed"] == 0)]
    pca = part[part["candidate"] == "pca"].set_index(["dataset", "classifier"])["accuracy"]
    pca = pca[~pca.index.duplicated(keep="last")]
    margins = {}
    for name, group in part[part["candidate"] != "pca"].groupby("candidate"):
        diff = group.set_index(["dataset", "classifier"])["accuracy"].reindex(pca.index) - pca
        margins[name] = float(diff.min()) if diff.notna().all() else float("nan")
    return pd.Series(margins).sort_values(ascending=False)


def anchor_summary(anchor):
    """One row per anchor recipe: test (and training) error, mean ± std over seeds."""
    anchor = anchor.copy()
    if "train_recon_error_per_image" not in anchor:
        anchor["train_recon_error_per_image"] = np.nan
    stats = anchor.groupby("candidate", sort=False).agg(
        seeds=("seed", "nunique"),
        test=("recon_error_per_image", "mean"),
        test_std=("recon_error_per_image", "std"),
        train=("train_recon_error_per_image", "mean"),
        fit_seconds=("fit_seconds", "mean"),
        device=("device", "first"),
    )
    stats = stats.sort_values("test")

    def cell(mean, std):
        return f"{mean:.3f}" + (f" ± {std:.3f}" if pd.notna(std) else "")

    return pd.DataFrame(
        {
            "recipe": stats.index,
            "seeds": stats["seeds"].to_numpy(),
            "test error": [cell(m, s) for m, s in zip(stats["test"], stats["test_std"])],
            "train error (first 10,000)": stats["train"].round(3).to_numpy(),
            "fit seconds (device, shared)": stats["fit_seconds"].round(0).to_numpy(),
            "device": stats["device"].to_numpy(),
        }
    )


def plot_anchor_curves(curves, path):
    """Test and training error against epochs, one line per recipe (seed 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = curves[curves["seed"] == 0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for recipe, group in curves.groupby("recipe"):
        group = group.sort_values("epoch")
        for ax, column in zip(axes, ("test_error", "train_error")):
            ax.plot(group["epoch"], group[column], marker=".", label=recipe)
    for ax, title in zip(axes, ("test images", "first 10,000 training images")):
        ax.axhline(3.0, color="k", ls="--", lw=0.8, label="RBM pre-training (published)")
        ax.set(title=title, xlabel="epoch", yscale="log")
    axes[0].set_ylabel("squared error per image")
    axes[0].legend(fontsize=7)
    fig.suptitle("784-1000-500-250-30 on MNIST (60,000 images), seed 0")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def report(paths, note, curve_paths=()):
    """Merge search CSVs into ``results/recipe_search/recipe_search.{csv,md}`` (and anchor curves)."""
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    results = RESULTS
    if curve_paths:
        curves = pd.concat([pd.read_csv(p) for p in curve_paths], ignore_index=True)
        # the first anchor run's curves had no seed column: it was seed 0
        curves["seed"] = curves["seed"].fillna(0).astype(int) if "seed" in curves else 0
        curves.to_csv(results / "recipe_search_anchor_curves.csv", index=False)
    frame.to_csv(results / "recipe_search.csv", index=False)
    codes = frame[frame["part"] == "codes"].copy()
    # work that a CPU fit's time follows: parameters x training rows seen
    codes["work_1e12"] = codes["n_parameters"] * codes["rows_seen"] / 1e12
    first = codes[(codes["latent_dim"] == 32) & (codes["seed"] == 0)]
    table = first.pivot_table(
        index="candidate", columns=["dataset", "classifier"], values="accuracy", aggfunc="last"
    )
    margins = worst_margins(frame)
    table.columns = [f"{d} {c}" for d, c in table.columns]
    table["worst margin over PCA"] = margins.reindex(table.index)
    work = first.groupby("candidate")["work_1e12"].max()
    table["MNIST work (1e12 param x rows)"] = work.reindex(table.index)
    table = table.sort_values("worst margin over PCA", ascending=False)
    # the docs page reads this one (a csv-table): its figures come from the run
    table.reset_index().round(4).to_csv(results / "recipe_search_summary.csv", index=False)
    others = codes[~codes.index.isin(first.index) & (codes["candidate"] != "pca")]
    more = others.pivot_table(
        index=["candidate", "latent_dim", "seed"],
        columns=["dataset", "classifier"],
        values="accuracy",
    )
    more.columns = [f"{d} {c}" for d, c in more.columns]
    pca = codes[codes["candidate"] == "pca"].pivot_table(
        index="latent_dim", columns=["dataset", "classifier"], values="accuracy"
    )
    pca.columns = [f"{d} {c}" for d, c in pca.columns]
    parts = [
        f"Search for skae's defaults and recipes. {note}. One seed (0) per candidate at 32 "
        "units; stage 2 (other sizes and seeds) for the best three. Classifiers as in "
        "bench_representations.py (SVC on 10,000 codes).",
        "## 32 units, seed 0 (accuracy)",
        table.reset_index().to_markdown(index=False, floatfmt=".4f"),
        "## PCA",
        pca.reset_index().to_markdown(index=False, floatfmt=".4f"),
        "## Stage 2 of the first run (its best three by worst margin): other sizes and seeds",
        more.reset_index().to_markdown(index=False, floatfmt=".4f"),
    ]
    anchor = frame[frame["part"] == "anchor"]
    if len(anchor):
        parts += [
            "## Anchor: 784-1000-500-250-30, test squared error per image",
            anchor_summary(anchor).to_markdown(index=False),
        ]
        curves = results / "recipe_search_anchor_curves.csv"
        if curves.exists():
            plot_anchor_curves(pd.read_csv(curves), results / "recipe_search_anchor_curves.png")
            parts.append(
                "Curves (test and training error every few epochs, seed 0): "
                "`recipe_search_anchor_curves.csv`, `recipe_search_anchor_curves.png`."
            )
    few = frame[frame["part"] == "few-labels"]
    if len(few):
        few = few.assign(
            codes=few["candidate"].str.split(" \\+ ").str[0],
            method=few["candidate"].str.split(" \\+ ").str[1],
        )
        stats = few.groupby(["codes", "device", "method", "n_labels"])["test_error"]
        cells = stats.agg(["mean", "std"]).reset_index()
        cells["cell"] = [
            f"{100 * m:.2f} ± {100 * s:.2f}" for m, s in zip(cells["mean"], cells["std"])
        ]
        summary = cells.pivot_table(
            index=["codes", "device", "method"], columns="n_labels", values="cell", aggfunc="first"
        )
        summary.columns = [f"{int(n):,} labels" for n in summary.columns]
        if "ae_fit_cpu_seconds" in few:
            cpu = few.groupby(["codes", "device", "method"])["ae_fit_cpu_seconds"].first()
            summary["autoencoder fit CPU s"] = cpu.reindex(summary.index).round(0)
        summary = summary.reset_index()
        summary.to_csv(results / "recipe_search_few_labels.csv", index=False)
        parts += [
            "## Few labels: MNIST, all 60,000 training images, test error (%) over 3 draws",
            summary.to_markdown(index=False),
        ]
    (results / "recipe_search.md").write_text("\n\n".join(parts) + "\n")
    print("\n\n".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument("--device", default=None, help="cuda when available, else cpu")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--svc-rows", type=int, default=10000)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument(
        "--cells",
        nargs="+",
        type=parse_cell,
        default=None,
        metavar="DATASET:M:SEED",
        help="fit --candidates in exactly these cells (e.g. mnist:32:1 kmnist:2:0) "
        "instead of the two stages; no PCA rows",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["anchor", "few-labels", "stage2", "codes"]
    )
    parser.add_argument("--data-home", default=os.environ.get("SKAE_DATA"))
    parser.add_argument("--output", default=None, help="CSV path")
    parser.add_argument(
        "--few-labels-codes", nargs="+", default=list(FEW_LABELS_CODES), choices=FEW_LABELS_CODES
    )
    parser.add_argument(
        "--anchors",
        nargs="+",
        default=["b64-elu-30ep"],
        choices=ANCHOR_RECIPES,
        help="anchor recipes (default: the one the docs give)",
    )
    parser.add_argument("--anchor-seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--anchor-curves", default=None, help="CSV for the anchors' curves")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report", nargs="+", default=None, help="merge these CSVs; no fits")
    parser.add_argument(
        "--report-curves", nargs="+", default=(), help="with --report: anchor curve CSVs"
    )
    parser.add_argument("--machine-note", default="")
    args = parser.parse_args()
    if args.report:
        report(args.report, args.machine_note, args.report_curves)
        return
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    opts = {
        "device": device,
        "data_home": args.data_home,
        "quick": args.quick,
        "svc_rows": args.svc_rows,
        "anchor_curves": args.anchor_curves,
    }
    out = Path(args.output or RESULTS / f"recipe_search{'_quick' if args.quick else ''}.csv")
    print(f"device {device}, {args.workers} workers -> {out}", flush=True)
    rows = []

    def flush(new):
        rows.extend(new)
        pd.DataFrame(rows).to_csv(out, index=False)
        for row in new:
            shown = {k: v for k, v in row.items() if k not in ("params", "part", "device")}
            print(
                {k: round(v, 4) if isinstance(v, float) else v for k, v in shown.items()},
                flush=True,
            )

    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        pending = set()
        # the longest first: the anchors and the few-label codes
        if "anchor" not in args.skip:
            anchors = args.anchors[:1] if args.quick else args.anchors
            pending |= {
                pool.submit(anchor_task, recipe, seed, opts)
                for recipe in anchors
                for seed in args.anchor_seeds
            }
        if "few-labels" not in args.skip:
            for name in args.few_labels_codes:
                params, epochs = FEW_LABELS_CODES[name]
                epochs = 2 if args.quick else epochs
                pending.add(pool.submit(few_labels_task, name, params, epochs, opts))
        codes_stage1 = set()
        cells = [] if "codes" in args.skip else args.cells or []
        for (dataset, m, seed), name in itertools.product(cells, args.candidates):
            params, epochs = CANDIDATES[name]
            epochs = 1 if args.quick else epochs
            pending.add(pool.submit(codes_task, dataset, name, params, epochs, m, seed, opts))
        for dataset in () if "codes" in args.skip or args.cells else ("mnist", "kmnist"):
            for m in (2, 8, 32):
                codes_stage1.add(pool.submit(codes_task, dataset, "pca", {}, 0, m, 0, opts))
            for name in args.candidates:
                params, epochs = CANDIDATES[name]
                epochs = 1 if args.quick else epochs
                codes_stage1.add(
                    pool.submit(codes_task, dataset, name, params, epochs, 32, 0, opts)
                )
        pending |= codes_stage1
        stage2_started = "stage2" in args.skip or "codes" in args.skip or bool(args.cells)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    flush(future.result())
                except Exception as exc:  # a failed candidate is a printed line, not a stop
                    print(f"!! task failed: {type(exc).__name__}: {exc}", flush=True)
            if not stage2_started and all(f.done() for f in codes_stage1):
                stage2_started = True
                margins = worst_margins(pd.DataFrame(rows))
                print("worst-case margin over PCA at 32 units:\n" + margins.to_string(), flush=True)
                for name in margins.index[: args.top]:
                    params, epochs = CANDIDATES[name]
                    epochs = 1 if args.quick else epochs
                    for dataset in ("mnist", "kmnist"):
                        for m, seed in ((2, 0), (8, 0), (32, 1), (32, 2)):
                            pending.add(
                                pool.submit(
                                    codes_task, dataset, name, params, epochs, m, seed, opts
                                )
                            )
    frame = pd.DataFrame(rows)
    if "codes" in set(frame.get("part", [])):
        print(worst_margins(frame).to_string())


if __name__ == "__main__":
    main()
