"""Activation study on MNIST: linear, sigmoid, ReLU and ELU autoencoders, VAEs and PCA-5.

Every model has a 784-500-500-5 encoder and the mirrored decoder and is trained with
Adam (lr 1e-3) on batches of 100 of MNIST's 60,000 training images for up to 50,000
steps (about 83 epochs):

* ``linear``: identity activations and a linear output, the linear cognate of PCA;
* ``sigmoid``, ``relu``, ``elu``: those hidden activations, sigmoid output, MSE loss;
* ``vae``: a dense VAE (Bernoulli likelihood, code = posterior mean);
* ``vae-conv``: a convolutional VAE (3x3 stride-2 convolutions with 32 and 64
  channels, then the 500-500 dense layers, mirrored);
* ``pca``: PCA with 5 components (closed form, no steps).

Table: test reconstruction MSE (per pixel, official 10,000 test images) after each
checkpoint (default 10,000, 30,000 and 50,000 steps), with the training seconds and
milliseconds per step. Figures: test reconstructions at each checkpoint, and the 2-D
codes of the test images when the same models have a 2-unit code (trained for
``--scatter-steps`` steps).

The checkpoints are taken inside one training run per model by a skorch callback that
evaluates the test set after exactly k steps (its evaluation time is not counted).

Run: ``python benchmarks/bench_activation.py [--steps 10000 30000 50000]
[--scatter-steps 10000] [--n-jobs 2] [--threads 1] [--device cpu] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.decomposition import PCA
from skorch.callbacks import Callback

from _common import UNFUSED_ADAM, add_common_arguments, machine_header, save_table
from skae import AutoencoderTransformer, VAETransformer
from skae.datasets import load_split
from skae.exceptions import StopTraining
from skae.study import n_trainable_parameters

HIDDEN = (500, 500)
BATCH = 100
LR = 1e-3
MODELS = ("linear", "sigmoid", "relu", "elu", "vae", "vae-conv")
N_SHOWN = 10
EVAL_CHUNK = 2000


class StepCheckpoints(Callback):
    """Evaluate the test reconstruction after given numbers of training steps.

    Stops training (by raising skae's ``StopTraining``, which ends ``fit`` with the
    model) after the last checkpoint, so a run ends after exactly ``max(steps)``
    steps.
    """

    def __init__(self, steps, X_test):
        self.steps = sorted(steps)
        self.X_test = X_test

    def initialize(self):
        self.step_ = 0
        self.records_ = []
        self.train_seconds_ = 0.0
        self._last = None
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self._last = time.perf_counter()

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        if str(net.device).startswith("cuda"):
            torch.cuda.synchronize()  # time the step, not its launch
        self.train_seconds_ += time.perf_counter() - self._last
        self.step_ += 1
        if self.step_ not in self.steps:
            return
        module = net.module_
        module.eval()
        with torch.inference_mode():
            parts = [
                module.decode(module.encode(torch.from_numpy(chunk).to(net.device))).cpu()
                for chunk in np.array_split(self.X_test, max(1, len(self.X_test) // EVAL_CHUNK))
            ]
        module.train()
        recon = torch.cat(parts).numpy()
        self.records_.append(
            {
                "step": self.step_,
                "test_mse": float(np.mean((recon - self.X_test) ** 2)),
                "train_seconds": self.train_seconds_,
                "reconstructions": recon[:N_SHOWN].copy(),
            }
        )
        if self.step_ == self.steps[-1]:
            raise StopTraining


def make_model(name, latent_dim, max_epochs, callback, seed, device):
    common = dict(
        device=device,
        latent_dim=latent_dim,
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH,
        lr=LR,
        max_epochs=max_epochs,
        callbacks=[callback],
        random_state=seed,
        # the committed rows' models: clean inputs, a constant learning rate, unfused
        # Adam; the autoencoders on the squared error, the VAEs on the cross-entropy
        noise=None,
        lr_schedule=None,
        optimizer_kwargs=dict(UNFUSED_ADAM),
    )
    if name == "linear":
        return AutoencoderTransformer(
            activation="linear", output_activation="linear", loss="mse", **common
        )
    if name in ("sigmoid", "relu", "elu"):
        return AutoencoderTransformer(
            activation=name, output_activation="sigmoid", loss="mse", **common
        )
    if name == "vae":
        return VAETransformer(architecture="dense", loss="bce", **common)
    return VAETransformer(architecture="conv", image_shape=(28, 28), loss="bce", **common)


def train(name, latent_dim, steps, X_train, X_test, threads, seed, device):
    """Train one model to ``max(steps)`` steps; its checkpoints and test codes."""
    torch.set_num_threads(threads)
    # joblib hands workers read-only memory maps; torch wants writeable arrays
    X_test = np.array(X_test)
    callback = StepCheckpoints(steps, X_test)
    max_epochs = math.ceil(max(steps) / math.ceil(len(X_train) / BATCH))
    model = make_model(name, latent_dim, max_epochs, callback, seed, device).fit(X_train)
    codes = model.transform(X_test) if latent_dim == 2 else None
    last = callback.records_[-1]
    print(
        f"{name} (code {latent_dim}): {last['step']:,} steps in {last['train_seconds']:.1f} s "
        f"({1000 * last['train_seconds'] / last['step']:.1f} ms/step), test MSE "
        f"{last['test_mse']:.5f}",
        flush=True,
    )
    return name, latent_dim, callback.records_, n_trainable_parameters(model), codes


def recon_figure(rows, originals, step, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(0.9 * N_SHOWN + 1.3, 0.95 * (len(rows) + 1) + 0.4))
    axes = fig.subplots(len(rows) + 1, N_SHOWN, squeeze=False)
    for r, (label, images) in enumerate([("original", originals), *rows]):
        for i in range(N_SHOWN):
            ax = axes[r, i]
            ax.imshow(np.clip(images[i].reshape(28, 28), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    fig.suptitle(f"MNIST test reconstructions, 5-unit code, after {step:,} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def scatter_figure(codes, y, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.6 * len(codes) + 1, 3.0), layout="constrained")
    axes = fig.subplots(1, len(codes), squeeze=False)[0]
    for ax, (name, Z) in zip(axes, codes.items()):
        points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=2, vmin=-0.5, vmax=9.5)
        ax.set_title(name, fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(points, ax=list(axes), ticks=range(10), shrink=0.8)
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10_000, 30_000, 50_000])
    parser.add_argument("--scatter-steps", type=int, default=10_000)
    parser.add_argument(
        "--conv-steps",
        type=int,
        default=None,
        help="stop the conv VAE after this many steps (4.6x the dense VAE's time per step "
        "on a 2-core CPU); its later checkpoints are left empty. Default: the same as the others",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--n-train", type=int, default=60_000)
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="models trained at once (default 2; quick 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda' (all models)")
    add_common_arguments(
        parser, "activation", threads=1, quick="20/40 steps, 1,000 training and 1,000 test images"
    )
    args = parser.parse_args(argv)

    suffix = "_quick" if args.quick else ""
    steps = [20, 40] if args.quick else sorted(args.steps)
    scatter_steps = 20 if args.quick else args.scatter_steps
    if args.n_jobs is None:  # worker start-up would dominate a smoke run
        args.n_jobs = 1 if args.quick else 2
    split = load_split("mnist", split="official", data_home=args.data_home)
    n_train, n_test = (1000, 1000) if args.quick else (args.n_train, len(split.X_test))
    X_train, X_test = split.X_train[:n_train], split.X_test[:n_test]
    y_test = split.y_test[:n_test]

    def capped(name, wanted):
        if name != "vae-conv" or args.conv_steps is None or args.quick:
            return wanted
        kept = {s for s in wanted if s < args.conv_steps}
        return sorted(kept | ({args.conv_steps} if max(wanted) >= args.conv_steps else set()))

    jobs = [(name, 5, capped(name, steps)) for name in args.models]
    jobs += [(name, 2, capped(name, [scatter_steps])) for name in args.models if scatter_steps > 0]
    start = time.perf_counter()
    results = Parallel(n_jobs=args.n_jobs)(
        delayed(train)(name, m, s, X_train, X_test, args.threads, args.seed, args.device)
        for name, m, s in jobs
    )
    minutes = (time.perf_counter() - start) / 60

    pca = PCA(n_components=5, random_state=args.seed).fit(X_train)
    pca_recon = pca.inverse_transform(pca.transform(X_test))
    pca_mse = float(np.mean((pca_recon - X_test) ** 2))

    rows = [
        {
            "model": "pca",
            **{f"mse_{s}": pca_mse for s in steps},
            "train_seconds": np.nan,
            "ms_per_step": np.nan,
            "n_parameters": n_trainable_parameters(pca),
        }
    ]
    recon_at = {s: [("pca", pca_recon[:N_SHOWN])] for s in steps}
    codes = {"pca": PCA(n_components=2, random_state=args.seed).fit(X_train).transform(X_test)}
    for name, latent_dim, records, n_parameters, Z in results:
        if latent_dim == 2:
            codes[f"{name} ({records[-1]['step']:,} steps)"] = Z
            continue
        last = records[-1]
        recon_at.setdefault(last["step"], [])
        rows.append(
            {
                "model": name,
                **{f"mse_{r['step']}": r["test_mse"] for r in records},
                "train_seconds": last["train_seconds"],
                "ms_per_step": 1000 * last["train_seconds"] / last["step"],
                "n_parameters": n_parameters,
            }
        )
        for r in records:
            recon_at[r["step"]].append((name, r["reconstructions"]))
    table = pd.DataFrame(rows)
    header = machine_header(
        f"MNIST, official split: first {n_train:,} training images, {n_test:,} test images. "
        f"Encoder 784-{HIDDEN[0]}-{HIDDEN[1]}-5, mirrored decoder; Adam lr {LR}, batch "
        f"{BATCH}; test MSE per pixel after {', '.join(f'{s:,}' for s in steps)} steps "
        f"(columns mse_<steps>; PCA's closed-form value is repeated); train_seconds and "
        f"ms_per_step exclude evaluation; device {args.device}; n_jobs={args.n_jobs}; seed {args.seed}; wall "
        f"time {minutes:.1f} min"
        + (
            f"; the conv VAE was stopped after {args.conv_steps:,} steps, for time: its later "
            "checkpoints are empty (the 2-D panels give each model's steps)"
            if args.conv_steps and not args.quick and "vae-conv" in args.models
            else ""
        ),
        threads=args.threads,
    )
    save_table(table, args.output_dir / f"activation{suffix}", header)
    for s in steps:
        recon_figure(recon_at[s], X_test, s, args.output_dir / f"activation_recon_{s}{suffix}.png")
    if len(codes) > 1:
        scatter_figure(codes, y_test, args.output_dir / f"activation_latent_2d{suffix}.png")


if __name__ == "__main__":
    main()
