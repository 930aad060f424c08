"""Helpers shared by the benchmark scripts: command line, machine description, saving.

Each script answers one question and writes under ``results/<benchmark>/``. The
options every script shares (data home, torch threads, quick mode, output folder and
``--resume``) come from :func:`add_common_arguments`, so that a documented command
means the same thing in every script: it recomputes every row it writes unless
``--resume`` asks it to keep the rows already in the output file.
"""

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

#: Adam as the committed tables of the first benchmarks ran it: unfused (the fused
#: kernel, now skae's default on the CPU, sums in another order and moves their
#: figures in the last digits, which training then amplifies)
UNFUSED_ADAM = {"fused": False}

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


def results_dir(benchmark: str) -> Path:
    """The folder of one benchmark's tables and figures: ``results/<benchmark>/``."""
    return RESULTS / benchmark


def add_common_arguments(
    parser,
    benchmark: str,
    *,
    threads: int | None = 1,
    quick: str | None = "a smoke run of seconds to a minute (outputs end in _quick)",
    resume: bool = False,
):
    """Add the options every benchmark shares to an ``argparse`` parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The script's parser.
    benchmark : str
        Name of the benchmark: its outputs go to ``results/<benchmark>/`` unless
        ``--output-dir`` says otherwise.
    threads : int or None, default=1
        Default of ``--threads`` (torch threads); None leaves the option out, for
        scripts that set threads per case.
    quick : str or None
        Help text of ``--quick``; None leaves the option out.
    resume : bool, default=False
        Whether the script writes a resumable table and so takes ``--resume``.

    Returns
    -------
    parser : argparse.ArgumentParser
        The same parser.
    """
    parser.add_argument("--data-home", default=default_data_home(), help="data folder")
    if threads is not None:
        parser.add_argument("--threads", type=int, default=threads, help="torch threads")
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=results_dir(benchmark),
        help=f"folder of the tables and figures (default: results/{benchmark}/)",
    )
    if resume:
        parser.add_argument(
            "--resume",
            action="store_true",
            help="keep the rows already in the output CSV and compute only the missing "
            "ones (without it every row is recomputed and the file rewritten)",
        )
    return parser


def start_table(path: Path, resume: bool) -> None:
    """Prepare the resumable CSV at ``path`` for a run.

    Without ``resume`` an existing file is moved aside (``<name>.csv.previous``), so
    that the run recomputes every row and a documented command never silently keeps
    old numbers; with it the file stays and the run skips the rows already there.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not resume:
        backup = path.with_name(path.name + ".previous")
        path.replace(backup)
        print(
            f"{path} existed: moved to {backup.name}; every row is recomputed "
            "(--resume keeps and skips them)",
            flush=True,
        )
    elif path.exists():
        print(f"--resume: keeping the rows already in {path}", flush=True)


#: KMNIST protocols: ``test-only`` (the 10,000 official test images split 8,000 to fit
#: and 2,000 to evaluate, stratified, seed 0: the data mirror has no KMNIST training
#: images) and ``official`` (60,000 training / 10,000 test images; needs the files)
KMNIST_PROTOCOLS = ("test-only", "official")


def add_kmnist_protocol_argument(parser, default: str = "test-only"):
    """``--kmnist-protocol``: which KMNIST split a script fits and scores on.

    The protocol is a choice on the command line, never inferred from the files found
    in the data home, so a documented command measures the same thing everywhere.
    """
    parser.add_argument(
        "--kmnist-protocol",
        choices=KMNIST_PROTOCOLS,
        default=default,
        help=f"KMNIST split (default: {default}; 'test-only': the official test images "
        "split 8,000/2,000, seed 0; 'official': the 60,000 training images, downloaded "
        "when missing)",
    )
    return parser


def load_kmnist(protocol: str, data_home: str):
    """KMNIST under one of :data:`KMNIST_PROTOCOLS` (a Bunch with ``protocol``)."""
    from skae.datasets import load_split

    if protocol not in KMNIST_PROTOCOLS:
        raise ValueError(f"protocol must be one of {KMNIST_PROTOCOLS}, got {protocol!r}")
    return load_split("kmnist", split=protocol, random_state=0, data_home=data_home)


def load_mnist_official(data_home: str):
    """MNIST's official split: 60,000 training and 10,000 test images."""
    from skae.datasets import load_split

    return load_split("mnist", split="official", data_home=data_home)


def update_table(path: Path, rows, key: list[str]) -> pd.DataFrame:
    """Write ``rows`` into the CSV at ``path``, replacing the rows with the same ``key``.

    The one table writer of the benchmarks that build a table row by row (each row is
    saved as soon as it is measured, so a cut run keeps its work). The other rows stay:
    they are the other cells of a table that several commands or processes fill; a
    lock serialises the processes that write one file side by side. Whether a run keeps
    the rows of an earlier one is :func:`start_table`'s decision (``--resume``).

    Parameters
    ----------
    path : pathlib.Path
        The CSV file; created with its folder when missing.
    rows : DataFrame or list of dict
        The measured rows.
    key : list of str
        The columns that name one measurement.

    Returns
    -------
    table : DataFrame
        The whole table as written.
    """
    import fcntl

    new = pd.DataFrame(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            old = pd.read_csv(path)
            same = old.set_index(key).index.isin(new.set_index(key).index)
            new = pd.concat([old[~same], new], ignore_index=True)
        new.to_csv(path, index=False)
    return new


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


def machine_header(dataset: str, threads: int | str | None = None) -> str:
    """One Markdown paragraph: machine, cores, threads, versions, data set, date.

    ``threads`` is the torch threads of the run (default: torch's current setting),
    or a phrase where the rows ran with different numbers of threads.
    """
    threads = torch.get_num_threads() if threads is None else threads
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__} "
        f"({_cpu_kernels()} kernels) with {threads} threads; Python "
        f"{platform.python_version()}. Data: {dataset}. "
        f"Date: {_dt.date.today().isoformat()}."
    )


def save_table(frame: pd.DataFrame, stem: Path, header: str) -> Path:
    """Print ``frame`` and write it as ``<stem>.csv`` and ``<stem>.md`` (with ``header``).

    ``stem`` is a path without suffix, e.g. ``results_dir("onnx") / "onnx"``.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(stem.with_name(f"{stem.name}.csv"), index=False)
    markdown = frame.to_markdown(index=False, floatfmt=".4g")
    md = stem.with_name(f"{stem.name}.md")
    md.write_text(f"{header}\n\n{markdown}\n")
    print(header)
    print(frame.to_string(index=False))
    return md


def plain_log_axes(ax) -> None:
    """Label a log x axis with plain numbers at its major ticks (no 2x10^0 clutter).

    The y axis keeps matplotlib's labels, which stay readable when a log axis spans
    less than a decade.
    """
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    if ax.get_xscale() == "log":
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
