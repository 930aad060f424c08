"""The ``skae`` console command: ``skae study [options]``."""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

import skae

from ._data import DATASETS
from ._errors import StudyError, StudyInterrupted
from ._few_labels import few_summary_lines, few_table, few_title
from ._folder import FEW_LABELS_CSV, FIGURE_NAMES, RESULTS_CSV, RESULTS_MD
from ._plan import (
    DEFAULT_CLASSIFIERS,
    DEFAULT_EPOCHS,
    DEFAULT_EPOCHS_IMAGES,
    DEFAULT_LATENT_SIZES,
    DEFAULT_REPRESENTATIONS,
    QUICK_EPOCHS,
)
from ._registry import CLASSIFIERS, REPRESENTATIONS, representation_names
from ._runner import run_study
from ._summary import settings_lines, summary_lines

#: labels per class of the command's few-labels table (0: none). Off by default: the
#: classifier's pre-training and fine-tuning take longer than the whole default study.
DEFAULT_FEW_LABELS = 0

#: exit statuses
EXIT_USAGE = 2
EXIT_DATA = 1
#: a system error that is no bug: a permission, a full disk, the memory
EXIT_RUNTIME = 1
EXIT_INTERRUPTED = 130

#: short headers for the printed table
_SHORT = {
    "precision_macro": "precision",
    "recall_macro": "recall",
    "reconstruction_mse": "recon_mse",
    "fit_seconds": "fit_s",
    "transform_seconds": "transform_s",
    "classifier_seconds": "clf_s",
    "n_parameters": "n_params",
}


class _UsageError(Exception):
    """A command-line mistake found by argparse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line instead of argparse's usage block; main() prints it
        raise _UsageError(message)


class _HelpFormatter(argparse.HelpFormatter):
    """Says each option's default once, as typed on the command line.

    Options whose help already states the default (it depends on the data set, or
    is an environment variable), flags and ``None`` defaults get no
    ``(default: ...)``; lists are shown as space-separated values.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, argparse.SUPPRESS) or not text:
            return text
        if isinstance(default, list | tuple):
            default = " ".join(map(str, default))
        return f"{text} (default: {default})".replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    """The ``skae`` argument parser (one sub-command, ``study``)."""
    parser = _Parser(
        prog="skae",
        description="skae: scikit-learn-compatible autoencoders. Commands: study.",
    )
    parser.add_argument("--version", action="version", version=f"skae {skae.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    study = commands.add_parser(
        "study",
        help="compare representations, latent sizes and classifiers",
        description=(
            "Fit each representation at each latent size and seed, train each classifier "
            "on the codes and print one row per combination (test accuracy, macro "
            "precision/recall, reconstruction MSE, seconds, parameters). Results, "
            "figures and what is needed to resume are written to the output folder; "
            "rerun the same command to resume an interrupted study (damaged lines of "
            "results.csv are dropped and computed again; a damaged or missing study.json is "
            "written again when the saved rows match the settings). With no options: "
            "digits, PCA against skae's default AutoencoderTransformer (ae-default) at "
            "latent sizes 2 8 16, each followed by logistic regression, an RBF SVC and "
            "5-NN; the fits run in parallel on the CPU cores. --few-labels 5 adds a "
            "few-labels table."
        ),
        formatter_class=_HelpFormatter,
    )
    add = study.add_argument
    add("--dataset", default="digits", help=f"one of: {', '.join(DATASETS)}")
    add(
        "-r",
        "--representations",
        nargs="+",
        default=list(DEFAULT_REPRESENTATIONS),
        metavar="NAME",
        help="see --list",
    )
    add(
        "-m",
        "--latent-sizes",
        nargs="+",
        default=list(DEFAULT_LATENT_SIZES),
        metavar="N",
        help="code sizes",
    )
    add(
        "-c",
        "--classifiers",
        nargs="+",
        default=list(DEFAULT_CLASSIFIERS),
        metavar="NAME",
        help=f"any of: {', '.join(CLASSIFIERS)}",
    )
    add("--seeds", nargs="+", default=[0], metavar="N", help="random seeds, 0 to 2**32 - 1")
    add(
        "--n-jobs",
        type=int,
        default=None,
        help="fits run at once (processes; never more than the fits left or the CPU cores); "
        "-1: all cores (default: all cores, or 1 with --quick, where starting the "
        "processes would cost more than it saves)",
    )
    add(
        "--threads",
        type=int,
        default=1,
        help="torch/BLAS threads per fit, at most the CPU cores",
    )
    add(
        "-o",
        "--output-dir",
        default=None,
        help="results folder (default: skae-study/<dataset>, or <dataset>-quick)",
    )
    add(
        "--quick",
        action="store_true",
        help="smoke run of a few seconds: 3 epochs, and the first 1,000 training and test "
        "images of the 28x28 data sets (digits keeps all its images)",
    )
    add(
        "--data-home",
        default=None,
        help="folder of the MNIST-like data files (default: $SKAE_DATA, else "
        "~/scikit_learn_data/skae)",
    )
    add("--no-download", action="store_true", help="never download missing data files")
    add(
        "--n-train",
        default=None,
        help="first N training images, or 'all' (default: all of digits and kmnist-test, "
        "10,000 of the others; 1,000 with --quick)",
    )
    add(
        "--n-test",
        default=None,
        help="first N test images, or 'all' (default: all; 1,000 with --quick)",
    )
    add(
        "--max-epochs",
        type=int,
        default=None,
        help=f"epochs of the neural representations (default: {DEFAULT_EPOCHS['digits']} on "
        f"digits, {DEFAULT_EPOCHS_IMAGES} on 28x28 images, {QUICK_EPOCHS} with --quick; "
        "ae-default: its own, 'auto')",
    )
    add(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="encoder hidden sizes (default: 128 on digits, 256 on 28x28 images; "
        "ae-default: its own, 1024 256). --hidden, --max-epochs, --optimizer, --lr and "
        "--batch-size apply to ae-default only when given",
    )
    add(
        "--optimizer",
        default=None,
        help="optimizer of the neural representations (default: adam)",
    )
    add("--lr", type=float, default=None, help="their learning rate (default: the estimators')")
    add("--batch-size", default=None, help="their batch size, or 'full' (default: 256)")
    add(
        "--few-labels",
        type=int,
        default=DEFAULT_FEW_LABELS,
        metavar="N",
        help="labels per class of the few-labels table: EncoderClassifier on every "
        "training image with N labels per class (the rest unlabelled) against the same "
        "classifier and an RBF SVC on the labelled images alone; 0, the default: no such "
        "table (the classifier's fit takes longer than the rest of the default study)",
    )
    add(
        "--overwrite",
        action="store_true",
        help="delete the results of an earlier study in the output folder that cannot be "
        "resumed with these settings, and start again",
    )
    add("--no-figures", action="store_true", help="do not draw figures")
    add("--list", action="store_true", help="list data sets, representations and classifiers")
    add("-q", "--quiet", action="store_true", help="no progress bar, print only the tables")
    add("-v", "--verbose", action="store_true", help="print a line per finished row")
    return parser


def _split(values) -> list[str]:
    """``['a,b', 'c']`` -> ``['a', 'b', 'c']``: lists may use spaces or commas."""
    return [item for value in values for item in str(value).split(",") if item]


def _ints(values, what) -> list[int]:
    out = []
    for item in _split(values):
        try:
            out.append(int(item))
        except ValueError:
            raise _UsageError(f"{what} must be integers, got {item!r}") from None
    return out


def _size(value, what, word="all"):
    if value is None or value == word:
        return value
    try:
        return int(value)
    except ValueError:
        raise _UsageError(f"{what} must be an integer or {word!r}, got {value!r}") from None


def _print_list() -> None:
    print("data sets:")
    for spec in DATASETS.values():
        print(f"  {spec.name:14s} {spec.summary}")
    print("representations:")
    for name in representation_names():
        entry = REPRESENTATIONS.get(name)
        summary = entry.summary if entry else "an ensemble of k ReLU autoencoders"
        print(f"  {name:14s} {summary}")
    print("classifiers (after a StandardScaler):")
    for entry in CLASSIFIERS.values():
        print(f"  {entry.name:14s} {entry.summary}")


def format_table(frame) -> str:
    """The printed view of a results table (the CSV and Markdown keep every column).

    Failed rows show ``failed`` for their accuracy; their errors are printed below.
    """
    view = frame.drop(columns=["dataset", "params", "n_train", "n_test", "error"])
    view = view.rename(columns=_SHORT).astype({"accuracy": object})
    failed = frame["error"].fillna("").astype(bool).to_numpy()
    view.loc[failed, "accuracy"] = "failed"
    view.loc[~failed, "accuracy"] = [f"{v:.4g}" for v in frame.loc[~failed, "accuracy"]]
    return view.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def format_few_table(frame) -> str:
    """The printed view of a few-labels table; failed rows show ``failed``."""
    view = few_table(frame).rename(columns=_SHORT).astype({"accuracy": object})
    view = view.drop(columns=[c for c in ("error", "n_test") if c in view])
    failed = frame["error"].fillna("").astype(bool).to_numpy()
    view.loc[failed, "accuracy"] = "failed"
    view.loc[~failed, "accuracy"] = [f"{v:.4g}" for v in frame.loc[~failed, "accuracy"]]
    return view.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def _failures(frame) -> list[str]:
    """One line per failed row; the estimators' ``lr=...`` advice names the option."""
    failed = frame[frame["error"].fillna("").astype(bool)]
    return [
        f"{r.representation} m={r.latent_dim} {r.classifier} seed={r.seed} failed: "
        + re.sub(r"\blr=", "--lr ", r.error)
        for r in failed.itertuples()
    ]


def _study(args) -> int:
    if args.list:
        _print_list()
        return 0
    output_dir = args.output_dir
    if output_dir is None:
        output_dir = Path("skae-study") / (args.dataset + ("-quick" if args.quick else ""))
    verbose = 0 if args.quiet else (2 if args.verbose else 1)
    if args.few_labels < 0:
        raise _UsageError(
            f"--few-labels must be 0 (no few-labels table) or a positive integer, "
            f"got {args.few_labels}"
        )
    result = run_study(
        dataset=args.dataset,
        representations=_split(args.representations),
        latent_sizes=_ints(args.latent_sizes, "latent sizes"),
        classifiers=_split(args.classifiers),
        seeds=_ints(args.seeds, "seeds"),
        n_jobs=args.n_jobs if args.n_jobs is not None else (1 if args.quick else -1),
        output_dir=output_dir,
        quick=args.quick,
        data_home=args.data_home,
        download=not args.no_download,
        n_train=_size(args.n_train, "--n-train"),
        n_test=_size(args.n_test, "--n-test"),
        max_epochs=args.max_epochs,
        hidden_layer_sizes=None if args.hidden is None else tuple(args.hidden),
        optimizer=args.optimizer,
        lr=args.lr,
        batch_size=_size(args.batch_size, "--batch-size", word="full"),
        torch_threads=args.threads,
        overwrite=args.overwrite,
        figures=not args.no_figures,
        verbose=verbose,
        few_labels=args.few_labels or None,
    )
    frame, few = result if args.few_labels else (result, None)
    print(format_table(frame))
    if not args.quiet:
        for block in (_failures(frame), summary_lines(frame), settings_lines(frame)):
            if block:
                print("\n" + "\n".join(block))
    if few is not None and len(few):
        print(f"\n{few_title(few)}\n{format_few_table(few)}")
        if not args.quiet:
            failed = [
                f"few labels: {r.model} on {r.trained_on} rows seed={r.seed} failed: {r.error}"
                for r in few.itertuples()
                if r.error
            ]
            for block in (failed, few_summary_lines(few)):
                if block:
                    print("\n" + "\n".join(block))
    if not args.quiet:
        folder = Path(output_dir)
        figures = [name for name in FIGURE_NAMES if (folder / name).exists()]
        files = [RESULTS_CSV, *([FEW_LABELS_CSV] if few is not None else []), RESULTS_MD]
        print(
            f"\nwrote {', '.join(files)}"
            + (f" and {len(figures)} figures" if figures else "")
            + f" to {folder}"
        )
    return 0


def _data_errors() -> tuple:
    try:
        from skae.datasets import DatasetFileError, DatasetNotFoundError
    except ImportError:
        return ()
    return (DatasetNotFoundError, DatasetFileError)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on stderr, without the source line Python adds."""
    print(f"skae: warning: {message}", file=sys.stderr if file is None else file)


def _fail(message: str, status: int) -> int:
    print(f"skae: error: {message}", file=sys.stderr)
    return status


def main(argv=None) -> int:
    """Run the ``skae`` command line; return the exit status.

    User errors (bad names or sizes, an unwritable folder or file, a study folder that
    cannot be resumed) print one line ``skae: error: ...`` on stderr and return 2;
    missing or unreadable data files and other system errors return 1; Ctrl-C
    returns 130 after saying how many rows were kept.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise _UsageError("choose a command: study")
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return _study(args)
    except _UsageError as exc:
        return _fail(f"{exc} (see 'skae study --help')", EXIT_USAGE)
    except StudyError as exc:
        return _fail(exc.cli_message, EXIT_USAGE)
    except StudyInterrupted as exc:
        where = f" in '{exc.output_dir}'" if exc.output_dir is not None else ""
        resume = "; run the same command again to resume" if exc.output_dir is not None else ""
        print(
            f"skae: interrupted: kept {exc.n_rows} of {exc.n_total} rows{where}{resume}.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("skae: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _data_errors() as exc:
        return _fail(getattr(exc, "cli_message", str(exc)), EXIT_DATA)
    except OSError as exc:  # the system refused (permissions, a full disk): not a bug
        where = f": '{exc.filename}'" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", EXIT_RUNTIME)
    except MemoryError:
        return _fail("not enough memory; try a smaller study (--hidden, --n-train)", EXIT_RUNTIME)
