"""Threads under CPU contention: what one busy core does to a default fit, and the fix.

torch's intra-op pool uses one thread per core. When another process keeps a core
busy, those threads wait on each other at every operation and a small network can
train many times slower than with a single thread. This script measures, on the same
model and data, in one run:

* ``idle``: the machine otherwise idle, torch's default threads;
* ``busy, default threads``: one core kept busy by a spinning process, torch's
  default threads (what a user got before ``n_threads`` existed);
* ``busy, n_threads=1``: the same busy core, ``AutoencoderTransformer(n_threads=1)``;
* ``idle, n_threads=1``: for reference.

Each case runs in a fresh Python process after a warm-up fit; the figure is the
median of ``--repeats`` fits. Ratios are against ``idle``. Run it alone on the machine:
``python benchmarks/bench_threads.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time

import pandas as pd

from _common import add_common_arguments, machine_header, save_table


def _spin(stop_at: float) -> None:
    # Pure Python busy loop: one core at 100 %, no threads of its own.
    while time.time() < stop_at:
        pass


def _child(args) -> None:
    import numpy as np
    import torch

    from skae import AutoencoderTransformer
    from skae.datasets import load_mnist

    X = load_mnist(subset="train", data_home=args.data_home).data[: args.n_samples]
    X = np.ascontiguousarray(X, dtype=np.float32)
    n_threads = None if args.n_threads == 0 else args.n_threads
    params = dict(latent_dim=32, max_epochs=args.epochs, random_state=0, n_threads=n_threads)
    AutoencoderTransformer(**{**params, "max_epochs": 1}).fit(X[:512])  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        AutoencoderTransformer(**params).fit(X)
        times.append(time.perf_counter() - start)
    # The threads fit used: n_threads, else torch's default (one per core).
    used = n_threads or torch.get_num_threads()
    print(json.dumps({"seconds": float(np.median(times)), "fit_threads": used}))


def _measure(args, n_threads: int, busy: bool) -> dict:
    spinner = None
    if busy:
        spinner = multiprocessing.Process(target=_spin, args=(time.time() + 3600,), daemon=True)
        spinner.start()
    try:
        command = [
            sys.executable,
            __file__,
            "--child",
            f"--n-threads={n_threads}",
            f"--n-samples={args.n_samples}",
            f"--epochs={args.epochs}",
            f"--repeats={args.repeats}",
            f"--data-home={args.data_home}",
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-threads", type=int, default=0, help=argparse.SUPPRESS)
    add_common_arguments(parser, "threads", threads=None, quick="1,000 samples, 1 epoch, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 1_000, 1, 1
    if args.child:
        _child(args)
        return

    cases = [
        ("idle", 0, False),
        ("busy, default threads", 0, True),
        ("busy, n_threads=1", 1, True),
        ("idle, n_threads=1", 1, False),
    ]
    rows = []
    for name, n_threads, busy in cases:
        result = _measure(args, n_threads, busy)
        rows.append(
            dict(
                case=name,
                busy_cores=int(busy),
                n_threads="default" if n_threads == 0 else n_threads,
                fit_threads=result["fit_threads"],
                fit_seconds=round(result["seconds"], 2),
            )
        )
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    frame["ratio_to_idle"] = (frame["fit_seconds"] / frame["fit_seconds"].iloc[0]).round(2)
    header = "# Threads under contention\n\n" + machine_header(
        f"first {args.n_samples:,} MNIST training images, AutoencoderTransformer("
        f"latent_dim=32, max_epochs={args.epochs}) defaults otherwise; median of "
        f"{args.repeats} fits after a warm-up, each case in a fresh process; 'busy' = "
        "one core kept at 100 % by a spinning process",
        # the cases differ in their threads: the header names the range, the rows each
        threads=f"{frame.fit_threads.min()} or {frame.fit_threads.max()} (fit_threads per case)",
    )
    save_table(frame, args.output_dir / ("threads_quick" if args.quick else "threads"), header)


if __name__ == "__main__":
    main()
