"""Helpers shared by the benchmark scripts: machine description, data home, saving."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import pandas as pd
import torch

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]

#: AutoencoderTransformer's defaults until 2026-11-26 where they differ from today's
#: (ELU, batches of 128, Gaussian input noise): benchmarks whose committed rows were
#: measured with them pin them, so that a rerun reproduces those rows
EARLIER_DEFAULTS = {"activation": "relu", "batch_size": 256, "noise": None}

#: the representations guide's unsupervised recipe (the deep-autoencoder anchor's
#: settings): ``ae-deep-elu`` in bench_representations.py and the shared autoencoder of
#: bench_semi_supervised.py
DEEP_ELU_RECIPE = {
    "hidden_layer_sizes": (1000, 500, 250),
    "activation": "elu",
    "batch_size": 64,
    "max_epochs": 30,
    "noise": None,
}


def default_data_home() -> str:
    """``SKAE_DATA`` if set, else the mirror beside the repository (``../shared/data``)."""
    return os.environ.get("SKAE_DATA", str(REPO.parent / "shared" / "data"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_kernels() -> str:
    """The vector instructions torch's CPU kernels use (``ATEN_CPU_CAPABILITY`` sets
    them). Same code and seed on AVX2 and AVX-512 kernels can train to different
    results: the ITL autoencoder with 10 KMNIST labels per class, 41.75 % and
    48.10 % test error."""
    return torch.backends.cpu.get_cpu_capability()


def machine_header(dataset: str, threads: int | None = None) -> str:
    """One Markdown paragraph: machine, cores, threads, versions, data set, date."""
    threads = torch.get_num_threads() if threads is None else threads
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__} "
        f"({_cpu_kernels()} kernels) with {threads} threads; Python "
        f"{platform.python_version()}. Data: {dataset}. "
        f"Date: {_dt.date.today().isoformat()}."
    )


def save_table(frame: pd.DataFrame, name: str, header: str) -> Path:
    """Print ``frame`` and write it as ``results/<name>.csv`` and ``results/<name>.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / f"{name}.csv", index=False)
    markdown = frame.to_markdown(index=False, floatfmt=".4g")
    (RESULTS / f"{name}.md").write_text(f"{header}\n\n{markdown}\n")
    print(header)
    print(frame.to_string(index=False))
    return RESULTS / f"{name}.md"


def plain_log_axes(ax) -> None:
    """Label a log x axis with plain numbers at its major ticks (no 2x10^0 clutter).

    The y axis keeps matplotlib's labels, which stay readable when a log axis spans
    less than a decade.
    """
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    if ax.get_xscale() == "log":
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
