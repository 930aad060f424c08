"""The files of a study folder: its settings, result rows, predictions and fits.

A study appends each finished row to ``results.csv`` as it comes and keeps the test
predictions and a few reconstructions beside it, so that an interrupted study keeps
its rows. ``study.json`` records the settings that change the numbers: a rerun in the
same folder resumes only when they match (see ``_StudyFolder.open``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

import skae

from ._errors import StudyError

#: columns of a result row, in order
COLUMNS = (
    "dataset",
    "representation",
    "params",
    "latent_dim",
    "n_codes",
    "classifier",
    "seed",
    "accuracy",
    "precision_macro",
    "recall_macro",
    "reconstruction_mse",
    "fit_seconds",
    "transform_seconds",
    "classifier_seconds",
    "n_parameters",
    "n_train",
    "n_test",
)
#: the columns that identify a row; a rerun skips the keys already in results.csv
KEY_COLUMNS = ("dataset", "representation", "params", "latent_dim", "classifier", "seed")

RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
CONFIG_JSON = "study.json"
TEST_LABELS = "test_labels.npy"
FITS_DIR = "fits"
PREDICTIONS_DIR = "predictions"
#: the figures :func:`~skae.study.plot_study` draws (deleted with the results)
FIGURE_NAMES = (
    "accuracy_vs_latent.png",
    "reconstructions.png",
    "confusion_matrix.png",
    "learning_curves.png",
)


class _StudyFolder:
    """The files of a study on disk: results, config, predictions, fits."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def csv(self) -> Path:
        return self.path / RESULTS_CSV

    def check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".skae-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise StudyError(f"cannot write to output folder '{self.path}': {reason}.") from None

    def open(self, config: dict, *, overwrite: bool) -> None:
        """Record ``config``; refuse (or, with ``overwrite``, clear) a different study."""
        config_path = self.path / CONFIG_JSON
        if config_path.exists() or self.csv.exists():
            old = _read_json(config_path)
            differences = _differences(old, config)
            if differences and not overwrite:
                raise StudyError(
                    f"'{self.path}' holds a study with other settings ({differences}); "
                    "use another output folder, or overwrite=True (--overwrite) to replace it."
                )
            if differences:
                self.clear()
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            (self.path / sub).mkdir(exist_ok=True)
        record = {**config, "skae_version": skae.__version__}
        config_path.write_text(json.dumps(record, indent=2) + "\n")

    def clear(self) -> None:
        """Delete the files a study writes (and nothing else in the folder)."""
        for name in (RESULTS_CSV, RESULTS_MD, CONFIG_JSON, TEST_LABELS):
            (self.path / name).unlink(missing_ok=True)
        for name in FIGURE_NAMES:
            (self.path / name).unlink(missing_ok=True)
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            shutil.rmtree(self.path / sub, ignore_errors=True)

    def read_rows(self) -> pd.DataFrame:
        """Rows saved so far; a row cut short by a crash is dropped."""
        if not self.csv.exists() or self.csv.stat().st_size == 0:
            return pd.DataFrame(columns=list(COLUMNS))
        frame = pd.read_csv(self.csv, dtype={"params": str, "dataset": str})
        complete = frame.dropna(subset=[*KEY_COLUMNS, "accuracy"])
        if len(complete) < len(frame):
            # rewrite without the broken line so that appending stays valid CSV
            complete.to_csv(self.csv, index=False)
        return complete.reset_index(drop=True)

    def append(self, row: dict) -> None:
        new = not self.csv.exists() or self.csv.stat().st_size == 0
        with self.csv.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()

    def save_fit(self, fit_id: str, record: dict) -> None:
        arrays = {
            "originals": record["originals"],
            "reconstructions": record["reconstructions"],
        }
        for key, values in record["history"].items():
            arrays[f"history__{key}"] = values
        np.savez_compressed(self.path / FITS_DIR / f"{fit_id}.npz", **arrays)

    def save_predictions(self, row_id: str, y_pred) -> None:
        np.save(self.path / PREDICTIONS_DIR / f"{row_id}.npy", np.asarray(y_pred))

    def write_markdown(self, frame: pd.DataFrame, config: dict) -> None:
        header = (
            f"# skae study: {config['dataset']}\n\n"
            f"Data: {config['protocol']}. Neural representations: hidden layers "
            f"{tuple(config['hidden_layer_sizes'])}, {config['max_epochs']} epochs, "
            f"optimizer {config['optimizer']}, batch {config['batch_size']}. "
            f"skae {skae.__version__}, {_dt.date.today().isoformat()}.\n"
        )
        (self.path / RESULTS_MD).write_text(f"{header}\n{to_markdown(frame)}\n")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _differences(old: dict, new: dict) -> str:
    diffs = [
        f"{key}: {old.get(key)!r} there, {value!r} here"
        for key, value in new.items()
        if old.get(key) != value
    ]
    return "; ".join(diffs)


def row_id(row) -> str:
    """File stem of a row's saved predictions."""
    return (
        f"{row['representation']}_m{int(row['latent_dim'])}_s{int(row['seed'])}_{row['classifier']}"
    )


def row_key(row) -> tuple:
    """The ``KEY_COLUMNS`` of a row, typed, so that saved and new rows compare equal."""
    return (
        str(row["dataset"]),
        str(row["representation"]),
        str(row["params"]),
        int(row["latent_dim"]),
        str(row["classifier"]),
        int(row["seed"]),
    )


def load_predictions(output_dir, row) -> tuple[np.ndarray, np.ndarray]:
    """The test labels and one row's saved test predictions, from a study folder.

    Parameters
    ----------
    output_dir : str or path
        A folder written by :func:`run_study`.
    row : mapping or pandas.Series
        A row of its results (``representation``, ``latent_dim``, ``seed``,
        ``classifier`` are used).

    Returns
    -------
    y_true, y_pred : ndarray of shape (n_test,)
        For per-class metrics or a confusion matrix, e.g.
        ``sklearn.metrics.classification_report(*load_predictions(folder, row))``.
    """
    folder = Path(output_dir)
    return np.load(folder / TEST_LABELS), np.load(folder / PREDICTIONS_DIR / f"{row_id(row)}.npy")


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub Markdown table of ``frame`` (no dependency on tabulate)."""

    def cell(value):
        if isinstance(value, float | np.floating):
            return "" if math.isnan(value) else format(value, floatfmt)
        return str(value).replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",
        "|" + "|".join("---:" if num else ":---" for num in numeric) + "|",
    ]
    for values in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines)
