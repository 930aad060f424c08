"""Out-of-core training: partial_fit over a .npy file larger than the memory budget.

Builds a float32 ``.npy`` file of augmented MNIST training images (each copy of the
60,000 images shifted by up to 2 pixels; ``--data-gb`` of rows, about 11 copies for
2 GB) under ``--tmp`` (never in the repository), then, each in a fresh Python process:

* ``partial_fit`` of an ``AutoencoderTransformer`` (784-128-32 ReLU, Adam, batch
  1,024) over the whole file, one pass, in blocks of ``--block-mb`` (64 to 512 MB):
  each block is read with ``numpy.fromfile`` into ordinary memory (no memory map,
  whose touched pages would count in the RSS up to the file's size), trained on for
  one epoch and dropped;
* ``fit`` of the same model on MNIST's 60,000 training images in memory, for as many
  epochs as the stream has copies (the same number of rows seen);
* PCA with the same number of components.

A sampling thread records the process's resident set size (RSS, psutil, every 50 ms)
during training: the peak, the RSS before training (torch and the interpreter
loaded) and the trace over time. Each model's codes then feed a logistic regression
trained on 10,000 MNIST training images and scored on the 10,000 test images.
Writes ``results/out_of_core/out_of_core.{csv,md}`` and ``results/out_of_core/out_of_core.png`` (peak RSS
against block size, and RSS over time).

Run: ``python benchmarks/bench_out_of_core.py [--data-gb 2] [--block-mb 64 128 256 512]
[--threads 1] [--tmp /tmp]``; ``--quick`` uses 0.25 GB and blocks of 16 and 64 MB and
writes ``_quick`` names.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import add_common_arguments, machine_header, save_table

MODEL = dict(
    latent_dim=32,
    hidden_layer_sizes=(128,),
    activation="relu",
    batch_size=1024,
    lr=1e-3,
    noise=None,  # the committed rows' model trains on clean inputs
    random_state=0,
)
#: ``--model default``: AutoencoderTransformer's defaults (architecture, cosine
#: schedule, 'auto' output and loss), as a user gets them
DEFAULT_MODEL = dict(latent_dim=32, random_state=0)
N_FEATURES = 784
ROW_BYTES = N_FEATURES * 4
MB = 2**20


def _default_hidden_layer_sizes():
    # read, not copied: the table names the default of the run
    from skae import AutoencoderTransformer

    return AutoencoderTransformer().hidden_layer_sizes


# ----------------------------------------------------------------------------- data
def make_data(path: Path, data_gb: float, data_home: str, seed: int = 0) -> int:
    """Write ``data_gb`` GB of shifted MNIST rows to ``path``; return the row count.

    Written copy by copy through ``open_memmap`` in this (short-lived) process, so
    building the file never holds more than one copy of MNIST in memory.
    """
    from skae.datasets import load_mnist

    images = load_mnist(subset="train", data_home=data_home).data.reshape(-1, 28, 28)
    n_rows = int(data_gb * 1e9 // ROW_BYTES)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, 784))
    rng = np.random.default_rng(seed)
    for start in range(0, n_rows, len(images)):
        stop = min(n_rows, start + len(images))
        dy, dx = rng.integers(-2, 3, size=2)
        shifted = np.roll(images, (int(dy), int(dx)), axis=(1, 2))
        out[start:stop] = shifted[: stop - start].reshape(-1, 784)
        out.flush()
    del out
    return n_rows


def npy_blocks(path: Path, block_rows: int):
    """Blocks of rows of a 2-D float32 ``.npy`` file, read into ordinary memory."""
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, _, _ = read_header(f)
        offset = f.tell()
    n_rows = shape[0]
    for start in range(0, n_rows, block_rows):
        count = min(block_rows, n_rows - start) * shape[1]
        # No local name for the block: a name here would keep the previous block
        # alive while the next one is read, doubling the peak.
        yield np.fromfile(
            path, dtype=np.float32, count=count, offset=offset + start * ROW_BYTES
        ).reshape(-1, shape[1])


# ----------------------------------------------------------------------------- worker
class RSSSampler:
    """Sample this process's RSS every ``interval`` seconds in a background thread."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.trace: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        start = time.perf_counter()
        while not self._stop.is_set():
            self.trace.append((time.perf_counter() - start, self.process.memory_info().rss / MB))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def evaluate(transformer, data_home: str) -> float:
    """Test accuracy of a logistic regression on ``transformer``'s codes of MNIST."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skae.datasets import load_mnist

    X_train, y_train = load_mnist(subset="train", data_home=data_home, return_X_y=True)
    X_test, y_test = load_mnist(subset="test", data_home=data_home, return_X_y=True)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    clf.fit(transformer.transform(X_train[:10000]), y_train[:10000])
    return float(clf.score(transformer.transform(X_test), y_test))


def worker(args) -> dict:
    """One measurement in this process; returns a JSON-able row."""
    import torch

    torch.set_num_threads(args.threads)
    from sklearn.decomposition import PCA

    global MODEL
    if args.model == "default":
        MODEL = DEFAULT_MODEL

    from skae import AutoencoderTransformer
    from skae.datasets import load_mnist

    # Warm up torch's one-off allocations on a few rows, outside the measurement.
    AutoencoderTransformer(**{**MODEL, "max_epochs": 1}).fit(np.zeros((8, 784), np.float32))
    row = {"method": args.worker, "block_mb": args.worker_block_mb}
    if args.worker == "partial_fit":
        block_rows = int(args.worker_block_mb * MB // ROW_BYTES)
        model = AutoencoderTransformer(**MODEL)
        rss_before = RSSSampler().process.memory_info().rss / MB
        start = time.perf_counter()
        with RSSSampler() as sampler:
            for block in npy_blocks(Path(args.worker_path), block_rows):
                model.partial_fit(block)
                del block  # so that the next block does not sit beside this one
        row["n_blocks"] = model.n_epochs_
    else:
        X = load_mnist(subset="train", data_home=args.data_home).data
        rss_before = RSSSampler().process.memory_info().rss / MB
        start = time.perf_counter()
        with RSSSampler() as sampler:
            if args.worker == "fit":
                model = AutoencoderTransformer(**{**MODEL, "max_epochs": args.worker_epochs})
            else:
                model = PCA(n_components=MODEL["latent_dim"], random_state=0)
            model.fit(X)
        del X
    row["train_s"] = time.perf_counter() - start
    trace = np.array(sampler.trace)
    row["rss_before_mb"] = rss_before
    row["peak_rss_mb"] = float(trace[:, 1].max())
    row["accuracy"] = evaluate(model, args.data_home)
    row["trace"] = trace[:: max(1, len(trace) // 400)].tolist()
    return row


def run_worker(args, method: str, block_mb: float = 0.0, epochs: int = 0, path: str = "") -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--worker-block-mb",
        str(block_mb),
        "--worker-epochs",
        str(epochs),
        "--worker-path",
        path,
        "--threads",
        str(args.threads),
        "--data-home",
        args.data_home,
        "--model",
        args.model,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{method} worker failed:\n{done.stderr[-3000:]}")
    out = done.stdout
    row = json.loads(out.strip().splitlines()[-1])
    print(
        f"{method:12s} block {block_mb:>5g} MB: peak RSS {row['peak_rss_mb']:.0f} MB "
        f"(before {row['rss_before_mb']:.0f}), {row['train_s']:.0f} s, "
        f"accuracy {row['accuracy']:.4f}",
        flush=True,
    )
    return row


# ----------------------------------------------------------------------------- main
def plot(rows: list[dict], data_mb: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streamed = [r for r in rows if r["method"] == "partial_fit"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    blocks = [r["block_mb"] for r in streamed]
    ax1.plot(blocks, [r["peak_rss_mb"] for r in streamed], "o-", label="peak RSS, partial_fit")
    ax1.plot(blocks, [r["rss_before_mb"] for r in streamed], "s--", label="RSS before training")
    ax1.plot(
        blocks,
        [r["rss_before_mb"] + b for r, b in zip(streamed, blocks)],
        ":",
        color="grey",
        label="RSS before + one block",
    )
    ax1.axhline(data_mb, color="red", lw=1, label=f"data file ({data_mb / 1024:.1f} GB)")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(blocks, [f"{b:g}" for b in blocks])
    ax1.set_xlabel("block size (MB)")
    ax1.set_ylabel("MB")
    ax1.set_title("Peak memory of one pass over the file")
    ax1.legend(fontsize=8)
    for r in rows:
        trace = np.array(r["trace"])
        label = (
            f"partial_fit, {r['block_mb']:g} MB blocks"
            if r["method"] == "partial_fit"
            else r["method"]
        )
        if r["method"] == "pca":
            continue
        ax2.plot(trace[:, 0], trace[:, 1], label=label)
    ax2.set_xlabel("seconds of training")
    ax2.set_ylabel("RSS (MB)")
    ax2.set_title("RSS over time")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-gb", type=float, default=2.0)
    parser.add_argument("--block-mb", type=float, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument(
        "--model",
        choices=["small", "default"],
        default="small",
        help="small: 784-128-32 (the memory study); default: AutoencoderTransformer's defaults",
    )
    parser.add_argument("--name", default="out_of_core", help="file stem of the results")
    parser.add_argument(
        "--machine-note", default="", help="e.g. 'run alone on the idle machine'; in the header"
    )
    # internal: one measurement in a fresh process
    parser.add_argument("--worker", choices=["partial_fit", "fit", "pca"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-block-mb", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-epochs", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-path", default="", help=argparse.SUPPRESS)
    add_common_arguments(parser, "out_of_core", threads=1, quick="0.25 GB, blocks of 16 and 64 MB")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.quick:
        args.data_gb, args.block_mb = 0.25, [16, 64]
        args.name += "_quick"  # a smoke run must not overwrite the committed table

    path = Path(args.tmp) / f"skae_out_of_core_{args.data_gb:g}gb.npy"
    start = time.perf_counter()
    n_rows = make_data(path, args.data_gb, args.data_home)
    data_mb = path.stat().st_size / MB
    print(f"wrote {path}: {n_rows} rows, {data_mb:.0f} MB in {time.perf_counter() - start:.0f} s")
    copies = max(1, round(n_rows / 60000))
    try:
        rows = [run_worker(args, "partial_fit", b, path=str(path)) for b in args.block_mb]
        rows.append(run_worker(args, "fit", epochs=copies))
        rows.append(run_worker(args, "pca"))
    finally:
        path.unlink(missing_ok=True)

    args.output_dir.mkdir(parents=True, exist_ok=True)
    plot(rows, data_mb, args.output_dir / f"{args.name}.png")
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "trace"} for r in rows])
    table["data"] = np.where(
        table["method"] == "partial_fit",
        f"{data_mb:.0f} MB file ({n_rows} rows)",
        "MNIST train in memory (184 MB)",
    )
    columns = ["method", "data", "block_mb", "n_blocks", "rss_before_mb", "peak_rss_mb"]
    model_text = (
        "784-128-32 ReLU, Adam lr 1e-3, batch 1024"
        if args.model == "small"
        else "AutoencoderTransformer(latent_dim=32) defaults (784-{}-32)".format(
            "-".join(map(str, _default_hidden_layer_sizes()))
        )
    )
    table = table[[*columns, "train_s", "accuracy"]]
    header = machine_header(
        f"{n_rows} rows x 784 float32 ({data_mb:.0f} MB .npy of MNIST train shifted by up "
        f"to 2 pixels, {copies} copies) streamed once with partial_fit in blocks of "
        f"{', '.join(f'{b:g}' for b in args.block_mb)} MB; fit: MNIST train in memory, "
        f"{copies} epochs; model {model_text}; accuracy: "
        "logistic regression on the codes of 10,000 training images, scored on the 10,000 "
        "test images; RSS sampled every 50 ms in a fresh process per row; "
        + (args.machine_note or "machine shared with other jobs (timings indicative)"),
        args.threads,
    )
    save_table(table, args.output_dir / args.name, header)


if __name__ == "__main__":
    main()
