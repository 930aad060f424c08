"""RProp variants against torch.optim.Rprop, Adam and SGD: step time and convergence.

Two parts, in one run, on the 784-500-500-32 ReLU autoencoder (mirrored decoder,
linear output, MSE), the architecture of ``bench_fit_speed.py``:

1. **Step time.** ``optimizer.step()`` alone, on the autoencoder's 1.3 million
   parameters with gradients already set (two fixed random gradient sets alternate, so
   about 30 % of the weights change sign at every step), for the four variants of
   :class:`skae.optim.RProp` and :class:`torch.optim.Rprop` (``foreach=True``, and its
   CPU default, the per-tensor loop). iRprop+'s closure returns a fixed loss tensor and
   computes nothing, so only the update is timed (the loss never rises: no weight is
   reverted, but the selection runs all the same). Optimizers are interleaved, in a
   rotating order, for ``--repeats`` rounds after two warm-up steps; the table gives
   the median wall time, its ratio to torch's foreach implementation, the minimum, and
   the median process CPU time (less sensitive to other load on the machine).
2. **Convergence.** ``AutoencoderTransformer`` trained for ``--epochs`` epochs on the
   first ``--n-train`` MNIST training images, full-batch (one step per epoch) and
   mini-batch (``--batch-size``, the mean gradient of each batch: "batch RProp"), with
   the four RProp variants (initial step ``lr`` = 1e-3, etas (0.5, 1.2), step sizes
   (1e-6, 50)), Adam (lr 1e-3) and SGD with momentum 0.9 (lr 0.5: the loss is a mean
   over pixels, so its gradients are small, and lr 0.1 barely moved it in a short
   check); same seed, so same initial weights and shuffles. Reports the
   reconstruction MSE (per pixel) on the official 10,000 MNIST test images, the last
   training loss and the fit time, and draws the training loss per epoch.

Writes ``results/rprop/rprop_step_time.{csv,md}``, ``results/rprop/rprop_convergence.{csv,md}``,
``results/rprop/rprop_curves.csv`` and ``results/rprop/rprop_convergence.png`` (``_quick`` added
with ``--quick``).

Run: ``python benchmarks/bench_rprop.py [--quick] [--part all|step|convergence]
[--threads 2] [--epochs 30] [--n-train 10000]``. The full run trains 12 models for 30
epochs on 10,000 images: expect roughly a quarter of an hour on 2 quiet cores (the
step-time part takes about a minute). ``--quick`` (a smoke run) uses 500 training and
500 test images, batch 250, 2 epochs and 3 step-time rounds.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from _common import UNFUSED_ADAM, add_common_arguments, machine_header, save_table
from skae import AutoencoderTransformer
from skae._nn import DenseAutoencoderModule
from skae.datasets import load_mnist
from skae.optim import VARIANTS, RProp

HIDDEN, LATENT = (500, 500), 32
RPROP_LR, ADAM_LR, SGD_LR, SGD_MOMENTUM = 1e-3, 1e-3, 0.5, 0.9


# ------------------------------------------------------------------ part 1: step time
def step_optimizers():
    """(label, factory, needs_closure) for every optimizer whose step is timed."""
    yield "torch.optim.Rprop foreach=True", lambda ps: torch.optim.Rprop(ps, foreach=True), False
    yield "torch.optim.Rprop (CPU default: loop)", lambda ps: torch.optim.Rprop(ps), False
    for variant in ("irprop-", "irprop+", "rprop+", "rprop-"):
        yield f"RProp {variant}", lambda ps, v=variant: RProp(ps, variant=v), variant == "irprop+"
    yield "RProp irprop- foreach=True", lambda ps: RProp(ps, variant="irprop-", foreach=True), False


def step_time(repeats: int) -> pd.DataFrame:
    torch.manual_seed(0)
    template = [p.detach() for p in DenseAutoencoderModule(784, HIDDEN, LATENT).parameters()]
    gen = torch.Generator().manual_seed(0)
    grads_a = [torch.randn(p.shape, generator=gen) for p in template]
    # the second set flips the sign of ~30 % of the entries: real sign changes each step
    grads_b = [
        g * torch.where(torch.rand(g.shape, generator=gen) < 0.3, -1.0, 1.0) for g in grads_a
    ]
    fixed_loss = torch.tensor(1.0)

    runs = []
    for label, factory, needs_closure in step_optimizers():
        params = [p.clone().requires_grad_() for p in template]
        runs.append((label, params, factory(params), needs_closure))

    def one_step(params, optimizer, needs_closure, grads):
        for p, g in zip(params, grads):
            p.grad = g  # optimizers read gradients without changing them
        start, cpu = time.perf_counter(), time.process_time()
        optimizer.step((lambda: fixed_loss) if needs_closure else None)
        return time.perf_counter() - start, time.process_time() - cpu

    for r in range(2):  # warm-up: state allocation, first sign comparisons
        for _, params, optimizer, needs_closure in runs:
            one_step(params, optimizer, needs_closure, (grads_a, grads_b)[r])
    seconds = {label: [] for label, *_ in runs}
    for r in range(repeats):
        shift = r % len(runs)  # rotate the order so that drift hits all alike
        for label, params, optimizer, needs_closure in runs[shift:] + runs[:shift]:
            grads = (grads_a, grads_b)[r % 2]
            seconds[label].append(one_step(params, optimizer, needs_closure, grads))

    reference = statistics.median(wall for wall, _ in seconds["torch.optim.Rprop foreach=True"])
    rows = []
    for label, times in seconds.items():
        median = statistics.median(wall for wall, _ in times)
        rows.append(
            {
                "optimizer": label,
                "median_ms": 1e3 * median,
                "min_ms": 1e3 * min(wall for wall, _ in times),
                # process CPU time of all threads: less sensitive to other load
                "median_cpu_ms": 1e3 * statistics.median(cpu for _, cpu in times),
                "ratio_vs_torch_foreach": median / reference,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ part 2: convergence
def convergence_configs():
    for variant in VARIANTS:
        yield f"RProp {variant}", "rprop", {"variant": variant}, RPROP_LR
    yield "Adam", "adam", dict(UNFUSED_ADAM), ADAM_LR
    yield f"SGD momentum {SGD_MOMENTUM}", "sgd", {"momentum": SGD_MOMENTUM}, SGD_LR


def convergence(X_train, X_test, epochs, batch_size, seed):
    rows, curves = [], {}
    n = len(X_train)
    for batching, size in (("full batch", "full"), (f"mini-batch {batch_size}", batch_size)):
        steps_per_epoch = 1 if size == "full" else math.ceil(n / size)
        for label, optimizer, kwargs, lr in convergence_configs():
            ae = AutoencoderTransformer(
                latent_dim=LATENT,
                hidden_layer_sizes=HIDDEN,
                activation="relu",
                optimizer=optimizer,
                optimizer_kwargs=kwargs,
                lr=lr,
                batch_size=size,
                max_epochs=epochs,
                random_state=seed,
                # the committed rows' model: clean inputs, a linear output trained on
                # the squared error, a constant learning rate
                noise=None,
                output_activation="linear",
                loss="mse",
                lr_schedule=None,
            )
            start = time.perf_counter()
            ae.fit(X_train)
            seconds = time.perf_counter() - start
            loss = ae.history_["train_loss"]
            rows.append(
                {
                    "batching": batching,
                    "optimizer": label,
                    "lr": lr,
                    "epochs": epochs,
                    "steps": epochs * steps_per_epoch,
                    "final_train_loss": float(loss.iloc[-1]),
                    "test_mse": float(ae.reconstruction_error(X_test).mean()),
                    "fit_seconds": seconds,
                }
            )
            curves[(batching, label)] = loss.to_numpy()
            print(rows[-1], flush=True)
    return pd.DataFrame(rows), curves


def plot_curves(curves, path, title):
    batchings = list(dict.fromkeys(batching for batching, _ in curves))
    fig, axes = plt.subplots(1, len(batchings), figsize=(6 * len(batchings), 4.2), sharey=True)
    for ax, batching in zip(axes, batchings):
        for (b, label), loss in curves.items():
            if b == batching:
                style = "-" if label.startswith("RProp") else "--"
                ax.plot(range(1, len(loss) + 1), loss, style, label=label)
        ax.set_title(batching)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("training loss (MSE per pixel)")
    axes[-1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=40, help="step-time rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=["all", "step", "convergence"], default="all")
    add_common_arguments(
        parser, "rprop", threads=2, quick="500 images, batch 250, 2 epochs, 3 rounds"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tag = "_quick" if args.quick else ""
    epochs, n_train, batch_size, repeats = args.epochs, args.n_train, args.batch_size, args.repeats
    if args.quick:
        epochs, n_train, batch_size, repeats = 2, 500, 250, 3
    if args.part in ("all", "step"):
        run_step_time(repeats, args.threads, tag, args.output_dir)
    if args.part in ("all", "convergence"):
        run_convergence(args, epochs, n_train, batch_size, tag)


def run_step_time(repeats, threads, tag, out):
    table = step_time(repeats)
    n_params = sum(p.numel() for p in DenseAutoencoderModule(784, HIDDEN, LATENT).parameters())
    header = machine_header(
        f"none (random gradients) - optimizer.step() on the {n_params:,} parameters of the "
        f"784-{HIDDEN[0]}-{HIDDEN[1]}-{LATENT} autoencoder, ~30 % sign changes per step; "
        f"median of {repeats} interleaved rounds; iRprop+'s closure returns a fixed loss",
        threads,
    )
    save_table(table, out / f"rprop_step_time{tag}", header)
    ratio = table.set_index("optimizer").loc["RProp irprop-", "ratio_vs_torch_foreach"]
    print(f"\nRProp irprop- / torch.optim.Rprop(foreach=True): {ratio:.2f}x (goal: <= 1.1x)\n")


def run_convergence(args, epochs, n_train, batch_size, tag):
    X_train = load_mnist(subset="train", data_home=args.data_home).data[:n_train]
    X_test = load_mnist(subset="test", data_home=args.data_home).data
    if args.quick:
        X_test = X_test[:500]
    frame, curves = convergence(X_train, X_test, epochs, batch_size, args.seed)
    header = machine_header(
        f"MNIST, first {len(X_train):,} training images, {len(X_test):,} official test "
        f"images; 784-{HIDDEN[0]}-{HIDDEN[1]}-{LATENT} ReLU autoencoder, linear output, MSE; "
        f"{epochs} epochs full-batch and mini-batch {batch_size}; RProp lr (initial step) "
        f"{RPROP_LR:g}, etas (0.5, 1.2), step sizes (1e-6, 50); Adam lr {ADAM_LR:g}; SGD lr "
        f"{SGD_LR:g} momentum {SGD_MOMENTUM}; seed {args.seed}. test_mse: per-pixel "
        "reconstruction MSE on the test images",
        args.threads,
    )
    save_table(frame, args.output_dir / f"rprop_convergence{tag}", header)
    pd.DataFrame(
        [
            {"batching": b, "optimizer": label, "epoch": i + 1, "train_loss": v}
            for (b, label), loss in curves.items()
            for i, v in enumerate(loss)
        ]
    ).to_csv(args.output_dir / f"rprop_curves{tag}.csv", index=False)
    plot_curves(
        curves,
        args.output_dir / f"rprop_convergence{tag}.png",
        f"MNIST ({len(X_train):,} images), 784-500-500-32 autoencoder: training loss per epoch "
        "(full batch: before each step; mini-batch: mean over the epoch's batches)",
    )
    for batching, group in frame.groupby("batching", sort=False):
        best = group.loc[group["test_mse"].idxmin()]
        print(f"lowest test MSE, {batching}: {best.optimizer} ({best.test_mse:.4g})")


if __name__ == "__main__":
    main()
