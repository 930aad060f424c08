"""Variational autoencoders on MNIST: dense against convolutional, and a 2-D latent map.

Models, all ``VAETransformer`` with a Bernoulli likelihood (``loss='bce'``, sigmoid
output), beta=1, Adam (lr 1e-3), batch 128, the same number of epochs and seed:

* ``dense``: 784-512-256-(16+16) encoder, mirrored decoder;
* ``conv``: two 3x3 stride-2 convolutions (32, 64 channels; 28 -> 14 -> 7), a dense
  layer of 256, a 16-D code; the decoder mirrors them with transposed convolutions;
* ``dense-2d``: the dense model with a 2-D code, for the latent scatter.

Reported on the official 10,000 test images: the mean ELBO per image in nats (one
draw of z per image; higher is better), its two parts (the Bernoulli negative
log-likelihood and the KL to N(0, I)), the per-pixel reconstruction MSE of the mean
code, the accuracy of a logistic regression trained on the mean codes of the training
images, the number of active code units (variance over the test images of the
posterior mean above 0.01, Burda et al. 2016), fit seconds and parameter counts.
Figures: reconstructions (originals, dense, conv), generated samples (decoded draws of
N(0, I), the same draws for both), and the 2-D model's test codes coloured by digit
beside the images it decodes on a grid of the latent plane.

Run: ``python benchmarks/bench_vae.py [--epochs 10] [--train-size 60000] [--quick]``
(results ``results/vae/vae.*``; ``--quick``, 1,000 training and 500 test images for 2
epochs, writes ``results/vae/vae_quick.*`` instead).
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _common import UNFUSED_ADAM, add_common_arguments, machine_header, save_table
from skae import VAETransformer
from skae.datasets import load_split
from skae.plotting import plot_latent

MODELS = {
    "dense": dict(latent_dim=16, architecture="dense", hidden_layer_sizes=(512, 256)),
    "conv": dict(
        latent_dim=16, architecture="conv", conv_channels=(32, 64), hidden_layer_sizes=(256,)
    ),
    "dense-2d": dict(latent_dim=2, architecture="dense", hidden_layer_sizes=(512, 256)),
}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def evaluate(name, vae, seconds, split, seed):
    X_train, X_test = split.X_train, split.X_test
    elbo = vae.elbo(X_test)
    stats = vae.set_params(transform_mode="mean_logvar").transform(X_test)
    vae.set_params(transform_mode="mean")
    k = vae.latent_dim
    mu, logvar = stats[:, :k].astype(np.float64), stats[:, k:].astype(np.float64)
    kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1.0, axis=1)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(vae.transform(X_train), split.y_train)
    return {
        "model": name,
        "architecture": vae.architecture,
        "latent_dim": k,
        "test_elbo": float(elbo.mean()),
        "test_nll_recon": float(np.mean(-elbo - kl)),
        "test_kl": float(kl.mean()),
        "recon_mse": float(vae.reconstruction_error(X_test).mean()),
        "logreg_accuracy": clf.score(mu, split.y_test),
        "active_units": int(np.sum(mu.var(axis=0) > 0.01)),
        "epochs": vae.n_epochs_,
        "fit_seconds": seconds,
        "params": n_params(vae.module_),
    }


def image_row(axes, images, label):
    for ax, image in zip(axes, images):
        ax.imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel(label, fontsize=9)


def plot_reconstructions(models, X, path, n=10):
    rows = [("original", X[:n])] + [(name, vae.reconstruct(X[:n])) for name, vae in models]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.2 * len(rows)), squeeze=False)
    for row, (label, images) in zip(axes, rows):
        image_row(row, images, label)
    fig.suptitle("Test images and their reconstructions from the mean code")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_samples(models, path, seed, rows=4, cols=10):
    fig, axes = plt.subplots(
        rows * len(models), cols, figsize=(1.1 * cols, 1.15 * rows * len(models)), squeeze=False
    )
    for i, (name, vae) in enumerate(models):
        # The same N(0, I) draws for every model (equal latent sizes).
        samples = vae.sample(rows * cols, random_state=seed)
        for r in range(rows):
            image_row(
                axes[i * rows + r], samples[r * cols : (r + 1) * cols], name if r == 0 else ""
            )
    fig.suptitle("Generated: decoded draws of N(0, I) (pixel probabilities)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_latent_2d(vae, X, y, path, n_grid=15):
    fig, (ax_codes, ax_grid) = plt.subplots(1, 2, figsize=(13, 6))
    plot_latent(vae, X, y, ax=ax_codes, s=3, alpha=0.6)
    ax_codes.set_title("Test codes (posterior means) coloured by digit")
    # Decode a grid of the latent plane at evenly spaced quantiles of N(0, 1).
    values = norm.ppf(np.linspace(0.03, 0.97, n_grid))
    grid = np.array([[zx, zy] for zy in values[::-1] for zx in values])
    images = vae.inverse_transform(grid).reshape(n_grid, n_grid, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n_grid * 28, n_grid * 28)
    ax_grid.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    ax_grid.set_title("Decoded grid of the latent plane (N(0, 1) quantiles 0.03-0.97)")
    ax_grid.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    add_common_arguments(parser, "vae", threads=2, quick="2 epochs, 1,000/500 images")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    split = load_split("mnist", split="official", data_home=args.data_home)
    epochs, n_train, n_test = args.epochs, args.train_size, len(split.X_test)
    if args.quick:
        epochs, n_train, n_test = 2, 1000, 500
    split.X_train, split.y_train = split.X_train[:n_train], split.y_train[:n_train]
    split.X_test, split.y_test = split.X_test[:n_test], split.y_test[:n_test]

    rows, fitted = [], {}
    for name, params in MODELS.items():
        vae = VAETransformer(
            max_epochs=epochs,
            batch_size=128,
            random_state=args.seed,
            optimizer_kwargs=dict(UNFUSED_ADAM),  # as the committed rows trained
            **params,
        )
        start = time.perf_counter()
        vae.fit(split.X_train)
        seconds = time.perf_counter() - start
        rows.append(evaluate(name, vae, seconds, split, args.seed))
        print(rows[-1], flush=True)
        fitted[name] = vae

    table = pd.DataFrame(rows)
    header = machine_header(
        f"MNIST: first {len(split.X_train):,} of the official training images to fit, "
        f"{'the first ' if n_test < 10000 else 'the official '}{len(split.X_test):,} test "
        f"images to evaluate. {epochs} epochs, Adam lr 1e-3, batch 128, beta 1, "
        f"loss 'bce', seed {args.seed}",
        args.threads,
    )
    # A smoke run never overwrites the full run's results.
    tag = "_quick" if args.quick else ""
    save_table(table, args.output_dir / f"vae{tag}", header)
    pair = [("dense", fitted["dense"]), ("conv", fitted["conv"])]
    plot_reconstructions(pair, split.X_test, args.output_dir / f"vae_reconstructions{tag}.png")
    plot_samples(pair, args.output_dir / f"vae_samples{tag}.png", args.seed)
    plot_latent_2d(
        fitted["dense-2d"], split.X_test, split.y_test, args.output_dir / f"vae_latent_2d{tag}.png"
    )


if __name__ == "__main__":
    main()
