"""The files of a study folder: its settings, result rows, predictions and fits.

A study appends each finished row to ``results.csv`` as it comes and keeps the test
predictions and a few reconstructions beside it, so that an interrupted study keeps
its rows. ``study.json`` records the settings that change the numbers: a rerun in the
same folder resumes only when they match (see ``_StudyFolder.open``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

import skae

from ._errors import StudyError
from ._summary import settings_lines, summary_lines

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
    "error",
)
#: columns of results.csv files written before failed rows were recorded
LEGACY_COLUMNS = COLUMNS[:-1]
#: the columns that identify a row; a rerun skips the keys already in results.csv
KEY_COLUMNS = ("dataset", "representation", "params", "latent_dim", "classifier", "seed")

RESULTS_CSV = "results.csv"
#: a copy of a damaged results.csv, made before the damaged lines are dropped
DAMAGED_SUFFIX = ".damaged"
#: held (flock) by the study writing into the folder
LOCK_FILE = ".skae-study.lock"
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
                message = f"'{self.path}' holds a study with other settings ({differences}); "
                raise StudyError(
                    message + "use another output folder, or overwrite=True to replace it.",
                    cli_message=message + "use another --output-dir, or --overwrite to replace it.",
                )
            if differences:
                self.clear()
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            (self.path / sub).mkdir(exist_ok=True)
        record = {**config, "skae_version": skae.__version__}
        config_path.write_text(json.dumps(record, indent=2) + "\n")

    def clear(self) -> None:
        """Delete the files a study writes (and nothing else in the folder)."""
        for name in (
            RESULTS_CSV,
            RESULTS_CSV + DAMAGED_SUFFIX,
            RESULTS_MD,
            CONFIG_JSON,
            TEST_LABELS,
        ):
            (self.path / name).unlink(missing_ok=True)
        for name in FIGURE_NAMES:
            (self.path / name).unlink(missing_ok=True)
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            shutil.rmtree(self.path / sub, ignore_errors=True)

    @contextlib.contextmanager
    def locked(self):
        """Hold the folder's lock while a study writes into it.

        A second study into the same folder stops at once with a :class:`StudyError`
        instead of writing the same rows twice. The lock is an ``flock`` on
        ``.skae-study.lock``: the system releases it when the process ends, even
        killed, so a crashed study never leaves the folder locked.
        """
        handle = open(self.path / LOCK_FILE, "a+")  # noqa: SIM115 (closed below)
        try:
            try:
                _lock(handle)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip()
                by = f" (process {holder})" if holder.isdigit() else ""
                message = f"another skae study is writing into '{self.path}'{by}; wait for it "
                raise StudyError(
                    message + "to finish, or use another output folder.",
                    cli_message=message + "to finish, or use another --output-dir.",
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield self
        finally:
            handle.close()  # releases the lock

    def read_rows(self, *, repair: bool = True) -> pd.DataFrame:
        """The intact rows saved so far, typed, each key once, in file order.

        A line cut short by a crash, garbled or repeated is dropped, never a good row;
        :attr:`notes` then holds one sentence saying which lines were dropped. With
        ``repair``, the file is rewritten without them (after saving a copy of the
        damaged file as ``results.csv.damaged``) so that appending stays valid CSV.

        Raises
        ------
        StudyError
            The file cannot be read, or holds neither a skae header nor any row.
        """
        self.notes = []
        try:
            raw = self.csv.read_bytes()
        except FileNotFoundError:
            return _empty_rows()
        except OSError as exc:
            raise self._unusable(f"cannot read '{self.csv}': {exc.strerror or exc}") from None
        parsed = _parse_results(raw)
        if parsed.rows == [] and parsed.header is None and raw.strip():
            raise self._unusable(
                f"'{self.csv}' is not a skae results table (no header, no readable row)"
            )
        if parsed.damaged or parsed.repeated:
            self.notes.append(parsed.describe(self.csv, repair=repair))
        if repair and _csv_text(parsed.rows) != raw.decode("utf-8", errors="replace"):
            if parsed.damaged:
                (self.path / (RESULTS_CSV + DAMAGED_SUFFIX)).write_bytes(raw)
            tmp = self.csv.with_name(f".{RESULTS_CSV}.{os.getpid()}.tmp")
            tmp.write_text(_csv_text(parsed.rows), newline="")
            os.replace(tmp, self.csv)
        if not parsed.rows:
            return _empty_rows()
        return pd.DataFrame(parsed.rows, columns=list(COLUMNS))

    def _unusable(self, problem: str) -> StudyError:
        fix = "; move it out of the way (or choose another {}) and run again."
        return StudyError(
            problem + fix.format("output folder"), cli_message=problem + fix.format("--output-dir")
        )

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
        # each representation's settings once, here, rather than in every row
        settings = "\n".join(f"- {line}" for line in settings_lines(frame))
        table = frame.drop(columns=["dataset", "params"])
        if not table["error"].fillna("").astype(bool).any():
            table = table.drop(columns="error")
        summary = "\n".join(summary_lines(frame)[1:])
        parts = [header, f"Settings of each representation:\n\n{settings}", to_markdown(table)]
        if summary:
            parts.append(
                f"Best representation per latent size (test accuracy, mean over "
                f"seeds):\n\n```\n{summary}\n```"
            )
        (self.path / RESULTS_MD).write_text("\n".join(f"{part.rstrip()}\n" for part in parts))


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


def _lock(handle) -> None:
    """Take an exclusive lock on ``handle`` without waiting (BlockingIOError if held)."""
    try:
        import fcntl
    except ImportError:  # Windows: lock the first byte instead
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError from None
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS))


_INT_COLUMNS = ("latent_dim", "n_codes", "seed", "n_parameters", "n_train", "n_test")
_SCORES = ("accuracy", "precision_macro", "recall_macro")
_SECONDS = ("fit_seconds", "transform_seconds", "classifier_seconds")


def _typed_row(record: dict) -> dict:
    """``record`` (strings from the CSV) typed as the runner writes it; ValueError if damaged.

    A failed row (non-empty ``error``) may leave its scores and timings empty.
    """
    missing = [c for c in LEGACY_COLUMNS if c not in record]
    if missing:
        raise ValueError(f"no {', '.join(missing)} column")
    row = {"error": record.get("error", "")}
    for column in ("dataset", "representation", "classifier"):
        if not record[column]:
            raise ValueError(f"empty {column}")
        row[column] = record[column]
    row["params"] = record["params"]
    for column in _INT_COLUMNS:
        row[column] = int(record[column])
    if row["latent_dim"] < 1 or row["seed"] < 0 or min(row["n_train"], row["n_test"]) < 1:
        raise ValueError("sizes out of range")
    failed = bool(row["error"])
    for column in (*_SCORES, *_SECONDS, "reconstruction_mse"):
        value = float(record[column]) if record[column] or not failed else math.nan
        may_be_nan = failed or column == "reconstruction_mse"
        if math.isnan(value) and not may_be_nan:
            raise ValueError(f"{column} is not a number")
        if not math.isnan(value) and (value < 0 or math.isinf(value)):
            raise ValueError(f"{column} out of range")
        if column in _SCORES and value > 1:
            raise ValueError(f"{column} out of range")
        row[column] = value
    return {c: row[c] for c in COLUMNS}


class _ParsedResults:
    """What :func:`_parse_results` found: intact rows, and the lines it dropped."""

    def __init__(self):
        self.header = None
        self.rows = []
        self.damaged = []  # line numbers
        self.repeated = []

    def describe(self, path, *, repair) -> str:
        parts = []
        if self.damaged:
            parts.append(f"dropped {_count(self.damaged, 'damaged line')} ({_lines(self.damaged)})")
        if self.repeated:
            parts.append(
                f"dropped {_count(self.repeated, 'repeated row')} ({_lines(self.repeated)})"
            )
        kept = f"kept {_count(self.rows, 'intact row')}"
        saved = (
            f"; the damaged file is saved as {RESULTS_CSV}{DAMAGED_SUFFIX}"
            if repair and self.damaged
            else ""
        )
        return f"'{path}': {' and '.join(parts)}, {kept}{saved}; dropped rows are computed again"


def _count(items, noun) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _lines(numbers) -> str:
    shown = ", ".join(map(str, numbers[:8]))
    more = f" and {len(numbers) - 8} more" if len(numbers) > 8 else ""
    return f"line{'' if len(numbers) == 1 else 's'} {shown}{more}"


def _parse_results(raw: bytes) -> _ParsedResults:
    """Read results.csv line by line, so that one damaged line never takes others with it.

    Rows never span lines (no field holds a newline): a line that does not parse on
    its own, has the wrong number of fields or a value of the wrong type is damaged.
    The header names the columns (also the older header without ``error``); without
    one, lines are read in the order of ``COLUMNS``.
    """
    parsed = _ParsedResults()
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    seen = set()
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            if "\x00" in line or "\ufffd" in line:
                raise ValueError("binary bytes")
            fields = next(csv.reader([line], strict=True))
        except (csv.Error, ValueError, StopIteration):
            parsed.damaged.append(number)
            continue
        first = parsed.header is None and not parsed.rows and not parsed.damaged
        if first and len(set(fields)) == len(fields) and set(fields) <= set(COLUMNS):
            parsed.header = fields
            continue
        if fields == parsed.header:
            continue  # a header repeated by a concatenation
        names = parsed.header
        if names is None:
            names = COLUMNS if len(fields) == len(COLUMNS) else LEGACY_COLUMNS
        try:
            if len(fields) != len(names):
                raise ValueError(f"{len(fields)} fields, expected {len(names)}")
            row = _typed_row(dict(zip(names, fields)))
        except (ValueError, OverflowError):
            parsed.damaged.append(number)
            continue
        key = row_key(row)
        if key in seen:
            parsed.repeated.append(number)
            continue
        seen.add(key)
        parsed.rows.append(row)
    return parsed


def _csv_text(rows) -> str:
    """results.csv holding ``rows`` under the current header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


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
