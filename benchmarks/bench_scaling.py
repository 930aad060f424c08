"""Scaling: fit time and peak memory of AutoencoderTransformer, and of a grid search.

Sweeps, one factor at a time around a base model (ReLU, 784-256-16, Adam, batch 256,
3 epochs, MNIST training images):

* number of samples: 1,000 to 60,000;
* latent size: 2 to 64 (10,000 samples);
* hidden width: 64 to 1,024 (one hidden layer, 10,000 samples);
* ``GridSearchCV`` over 5 latent sizes x 3 folds (the autoencoder's own score, minus
  the reconstruction error; 10,000 samples) with ``n_jobs`` 1 and 2.

Every measurement runs in a fresh Python process, so that memory peaks do not carry
over, after a tiny warm-up fit that pays torch's one-off start-up costs (a grid search's
worker processes pay theirs inside the measurement, as they would for a user). Peak memory is the largest resident set size (RSS) of the process and all its
children (the grid search's workers), sampled every 10 ms with psutil; without psutil
the script falls back to ``resource.getrusage`` ``ru_maxrss`` of the process plus its
largest child. ``fit_extra_mb`` is that peak minus the RSS just before fitting (torch,
scikit-learn and the data already loaded). The log-log slopes of time and memory
against each factor say how cost grows.

Run: ``python benchmarks/bench_scaling.py [--threads 1] [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd

from _common import (
    EARLIER_DEFAULTS,
    add_common_arguments,
    machine_header,
    plain_log_axes,
    save_table,
)

BASE = dict(n_samples=10_000, latent_dim=16, hidden=256, epochs=3)
N_SAMPLES = (1_000, 2_000, 5_000, 10_000, 20_000, 60_000)
LATENT = (2, 4, 8, 16, 32, 64)
HIDDEN = (64, 128, 256, 512, 1024)
GRID_LATENT = (2, 4, 8, 16, 32)


# ---------------------------------------------------------------------- child side
class PeakMemory:
    """Peak RSS (MiB) of this process and its children while the block runs."""

    def __init__(self, interval=0.01):
        self.interval = interval
        try:
            import psutil
        except ImportError:
            self.process = None
            self.method = "ru_maxrss (process + largest child)"
        else:
            self.process = psutil.Process()
            self.method = "psutil RSS of the process tree, sampled every 10 ms"
        self.peak = 0.0

    def rss(self):
        if self.process is None:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(Exception):  # a worker that just exited
                total += child.memory_info().rss
        return total / 2**20

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __enter__(self):
        self.before = self.rss()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        if self.process is None:
            children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            self.peak += children
        return False


def measure(spec: dict) -> dict:
    """Run one measurement (in the child process) and return its numbers."""
    import torch
    from sklearn.model_selection import GridSearchCV

    from skae import AutoencoderTransformer
    from skae.datasets import load_mnist

    torch.set_num_threads(spec["threads"])
    # one-off costs (the first optimizer imports torch._dynamo) are not the fit's
    AutoencoderTransformer(max_epochs=1, random_state=0).fit(np.zeros((8, 784), np.float32))
    X = load_mnist(subset="train", data_home=spec["data_home"]).data[: spec["n_samples"]]
    ae = AutoencoderTransformer(
        latent_dim=spec["latent_dim"],
        hidden_layer_sizes=(spec["hidden"],),
        max_epochs=spec["epochs"],
        random_state=0,
        **EARLIER_DEFAULTS,  # the table's model (ReLU, batches of 256)
    )
    estimator = ae
    if spec["kind"] == "grid":
        estimator = GridSearchCV(
            ae, {"latent_dim": list(GRID_LATENT)}, cv=3, n_jobs=spec["n_jobs"], refit=False
        )
    with PeakMemory() as memory:
        start = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - start
    if spec["kind"] == "grid":
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    return {
        "fit_seconds": seconds,
        "peak_rss_mb": memory.peak,
        "fit_extra_mb": memory.peak - memory.before,
        "memory_method": memory.method,
    }


# ---------------------------------------------------------------------- parent side
def run_child(spec: dict) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measurement {spec} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def slope(x, y) -> float:
    """Exponent a of y ~ x^a (least squares in log-log)."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def plot(table: pd.DataFrame, path) -> None:
    from matplotlib.figure import Figure

    sweeps = [("n_samples", "samples"), ("latent_dim", "latent size"), ("hidden", "hidden width")]
    fig = Figure(figsize=(12, 6.4))
    axes = fig.subplots(2, 3)
    for col, (factor, label) in enumerate(sweeps):
        rows = table[table["sweep"] == factor].sort_values(factor)
        for row, (metric, ylabel) in enumerate(
            (("fit_seconds", "fit seconds"), ("fit_extra_mb", "extra peak memory (MiB)"))
        ):
            ax = axes[row, col]
            values = rows[metric].clip(lower=1e-3)
            ax.loglog(rows[factor], values, marker="o")
            ax.set_xlabel(label)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3, which="both")
            ax.set_title(f"slope {slope(rows[factor], values):.2f}", fontsize="small")
            ax.set_xticks(rows[factor].tolist())
            plain_log_axes(ax)
    fig.suptitle("AutoencoderTransformer fit cost (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    add_common_arguments(parser, "scaling", threads=1, quick="small sizes, 1 epoch")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return

    base = dict(BASE, threads=args.threads, data_home=args.data_home, kind="fit", n_jobs=1)
    n_samples, latent, hidden = N_SAMPLES, LATENT, HIDDEN
    if args.quick:
        base.update(n_samples=1000, epochs=1)
        n_samples, latent, hidden = (500, 2000), (2, 16), (64, 256)
    specs = [("n_samples", dict(base, n_samples=n)) for n in n_samples]
    specs += [("latent_dim", dict(base, latent_dim=m)) for m in latent]
    specs += [("hidden", dict(base, hidden=h)) for h in hidden]
    specs += [("grid_search", dict(base, kind="grid", n_jobs=j)) for j in (1, 2)]

    rows = []
    for sweep, spec in specs:
        result = run_child(spec)
        row = {"sweep": sweep, **{k: spec[k] for k in ("n_samples", "latent_dim", "hidden")}}
        row.update(epochs=spec["epochs"], n_jobs=spec["n_jobs"], **result)
        print(
            f"{sweep}: n={spec['n_samples']} m={spec['latent_dim']} hidden={spec['hidden']} "
            f"n_jobs={spec['n_jobs']}: {result['fit_seconds']:.2f} s, "
            f"+{result['fit_extra_mb']:.0f} MiB",
            flush=True,
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    method = table.pop("memory_method").iloc[0]

    suffix = "_quick" if args.quick else ""
    growth = []
    for factor in ("n_samples", "latent_dim", "hidden"):
        part = table[table["sweep"] == factor]
        growth.append(
            f"- {factor}: fit time ~ {factor}^{slope(part[factor], part['fit_seconds']):.2f}, "
            f"extra peak memory ~ {factor}^"
            f"{slope(part[factor], part['fit_extra_mb'].clip(lower=1e-3)):.2f}"
        )
    grid = table[table["sweep"] == "grid_search"].set_index("n_jobs")["fit_seconds"]
    growth.append(
        f"- GridSearchCV (5 latent sizes x 3 folds = 15 fits): {grid.loc[1]:.1f} s with "
        f"n_jobs=1, {grid.loc[2]:.1f} s with n_jobs=2 (speed-up {grid.loc[1] / grid.loc[2]:.2f})"
    )
    header = machine_header(
        f"MNIST training images (first n_samples). AutoencoderTransformer ReLU 784-hidden-m, "
        f"Adam, batch 256, {base['epochs']} epochs unless stated; base: "
        f"n_samples={base['n_samples']:,}, m={base['latent_dim']}, hidden={base['hidden']}. "
        f"Each measurement in a fresh process; memory: {method}",
        threads=args.threads,
    )
    md = save_table(table, args.output_dir / f"scaling{suffix}", header)
    md.write_text(
        md.read_text() + "\nHow cost grows (log-log slopes):\n\n" + "\n".join(growth) + "\n"
    )
    print("\n".join(growth))
    plot(table, args.output_dir / f"scaling{suffix}.png")


if __name__ == "__main__":
    main()
