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
import re
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
#: the few-labels table, written whole after each of its rows
FEW_LABELS_CSV = "few_labels.csv"
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
        #: one sentence per thing the user must hear about (rows dropped, a file rebuilt)
        self.notes = []
        #: the header of results.csv as it is on disk, which appended rows follow
        self.fieldnames = list(COLUMNS)

    @property
    def csv(self) -> Path:
        return self.path / RESULTS_CSV

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_JSON

    def check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".skae-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise StudyError(
                f"cannot write to output folder '{self.path}': {_reason(exc)}."
            ) from None

    def open(self, config: dict, *, overwrite: bool, params_of=None) -> None:
        """Record ``config``; refuse (or, with ``overwrite``, clear) a different study.

        The rows of ``results.csv`` must belong to this study too: their data set and
        set sizes must be those of ``config``. When ``study.json`` is missing or
        damaged, the rows are the only record of the settings: they are checked
        against ``config`` (and, through ``params_of``, a function giving the
        ``params`` a representation's rows have under these settings, their
        parameters), and ``study.json`` is written again when they match, so that
        intact rows are never lost to a damaged settings file.
        """
        state, old, raw = self._read_config(config)
        try:
            self._check(config, state, old, raw, params_of)
        except StudyError:
            if not overwrite:
                raise
            self.clear()
            raw = None
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            with _writing(self.path / sub, "create the folder"):
                (self.path / sub).mkdir(exist_ok=True)
        record = json.dumps({**config, "skae_version": skae.__version__}, indent=2) + "\n"
        if raw != record.encode():  # a read-only study.json that is up to date is fine
            self._replace(self.config_path, record)

    def _check(self, config: dict, state: str, old, raw, params_of) -> None:
        """Raise a :class:`StudyError` unless this folder's study may go on with ``config``."""
        if state == "intact":
            differences = _differences(old, config)
            if differences:
                delete = " (its rows are deleted)" if self.csv.exists() else ""
                raise _study_error(
                    lambda folder, overwrite: (
                        f"'{self.path}' holds a study with other settings ({differences}); "
                        f"use another {folder}, or {overwrite} to replace it{delete}."
                    )
                )
            conflicts = _conflicts(self._parse(), config)
            if conflicts:
                raise self._foreign(conflicts)
            return
        parsed = self._parse()
        conflicts = _conflicts(parsed, config, params_of)
        if conflicts:
            raise self._unverified(state, conflicts)
        self._note_rebuilt(state, raw, len(parsed.rows))

    def _read_config(self, config: dict) -> tuple:
        """``(state, settings, raw bytes)`` of study.json; state: intact, missing, damaged...

        A file that exists but cannot be read (a folder, no permission) is an error:
        it might hold the settings, so it is neither guessed nor replaced.
        """
        path = self.config_path
        if not path.exists():
            return "missing", None, None
        if not path.is_file():
            raise StudyError(
                f"'{path}' is not a file, so this study's settings cannot be read; move it "
                f"out of the way and run again (the rows of {RESULTS_CSV} are kept)."
            )
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise StudyError(
                f"cannot read '{path}': {_reason(exc)}; make it readable and run again (or "
                f"move it out of the way: it is written again when the rows of {RESULTS_CSV} "
                "match the settings)."
            ) from None
        try:
            old = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
            return "damaged (not valid JSON)", None, raw
        if not isinstance(old, dict):
            return "damaged (not a JSON object)", None, raw
        missing = [key for key in config if key not in old]
        if missing:
            return f"incomplete (no {', '.join(missing)})", None, raw
        return "intact", old, raw

    def _note_rebuilt(self, state: str, raw, n_rows: int) -> None:
        """Say that study.json was written again, keeping any damaged copy."""
        if state == "missing" and not self.csv.exists():
            return  # a new study
        kept = ""
        if raw is not None:
            kept = f"; the old file is kept as {self._keep_copy(CONFIG_JSON, raw).name}"
        match = (
            f"the {_count(range(n_rows), 'row')} of {RESULTS_CSV} match these settings"
            if n_rows
            else f"{RESULTS_CSV} holds no row"
        )
        self.notes.append(f"'{self.config_path}' was {state}: written again, as {match}{kept}")

    def _foreign(self, conflicts) -> StudyError:
        """The error for rows of another study in the results of this one."""
        numbers = [number for number, _ in conflicts]
        one = len(numbers) == 1
        return _study_error(
            lambda folder, _: (
                f"'{self.csv}' {_lines(numbers)} "
                f"{'holds a row' if one else 'hold rows'} of another study ({conflicts[0][1]}); "
                f"remove {'it' if one else 'them'} from the file (or use another {folder}) and "
                "run again."
            )
        )

    def _unverified(self, state: str, conflicts) -> StudyError:
        """The error for rows made with other settings, while study.json is unusable."""
        numbers = [number for number, _ in conflicts]
        return _study_error(
            lambda folder, overwrite: (
                f"'{self.config_path}' is {state} and '{self.csv}' "
                f"{_lines(numbers)} {'was' if len(numbers) == 1 else 'were'} computed with other "
                f"settings ({conflicts[0][1]}); to keep the rows, run with their settings or "
                f"restore {CONFIG_JSON}; otherwise use another {folder}, or {overwrite} to delete "
                "them."
            )
        )

    def clear(self) -> None:
        """Delete the files a study writes (and nothing else in the folder)."""
        names = [
            RESULTS_CSV, RESULTS_MD, CONFIG_JSON, TEST_LABELS, FEW_LABELS_CSV, *FIGURE_NAMES
        ]  # fmt: skip
        for name in (RESULTS_CSV, CONFIG_JSON, FEW_LABELS_CSV):
            names += [p.name for p in self.path.glob(f"{name}{DAMAGED_SUFFIX}*")]
        for name in names:
            with _writing(self.path / name, "delete"):
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
        with _writing(self.path / LOCK_FILE, "open"):
            # the holder's process id is all it holds; garbage in it must not stop us
            handle = open(self.path / LOCK_FILE, "a+", encoding="utf-8", errors="replace")  # noqa: SIM115
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

    def _parse(self) -> _ParsedResults:
        """results.csv parsed line by line (nothing changed on disk).

        Raises
        ------
        StudyError
            The file cannot be read, or holds neither a skae header nor any row.
        """
        parsed = _ParsedResults()
        if not self.csv.exists():
            return parsed
        if not self.csv.is_file():
            raise self._unusable(f"'{self.csv}' is not a file")
        try:
            parsed.raw = self.csv.read_bytes()
        except OSError as exc:
            raise self._unusable(f"cannot read '{self.csv}': {_reason(exc)}") from None
        _parse_results(parsed)
        if parsed.rows == [] and parsed.header is None and parsed.raw.strip():
            binary = "binary data, " if parsed.binary else ""
            raise self._unusable(
                f"'{self.csv}' is not a skae results table ({binary}no header, no readable row)"
            )
        return parsed

    def read_rows(self, *, repair: bool = True) -> pd.DataFrame:
        """The intact rows saved so far, typed, each key once, in file order.

        A line cut short by a crash, garbled or repeated is dropped, never a good row;
        :attr:`notes` then gets one sentence saying which lines were dropped and why.
        With ``repair``, the file is rewritten without them (after saving a copy of the
        damaged file as ``results.csv.damaged``) so that appending stays valid CSV.
        Columns skae does not write are kept in the file (and said so), but are not
        part of the returned rows.

        Raises
        ------
        StudyError
            The file cannot be read, or holds neither a skae header nor any row.
        """
        parsed = self._parse()
        if parsed.extras:
            names = ", ".join(repr(name) for name in parsed.extras)
            self.notes.append(
                f"'{self.csv}': column{'s' if len(parsed.extras) > 1 else ''} {names} "
                "not written by skae: kept in the file, left out of the study's table"
            )
        saved = None
        if repair and parsed.raw is not None:
            text = _csv_text(parsed)
            if text.encode() != parsed.raw:
                if parsed.damaged:
                    saved = self._keep_copy(RESULTS_CSV, parsed.raw).name
                self._replace(self.csv, text)
            self.fieldnames = [*COLUMNS, *parsed.extras]
        if parsed.damaged or parsed.repeated:
            self.notes.append(parsed.describe(self.csv, saved=saved))
        if not parsed.rows:
            return _empty_rows()
        return pd.DataFrame(parsed.rows, columns=list(COLUMNS))

    def _unusable(self, problem: str) -> StudyError:
        return _study_error(
            lambda folder, _: (
                f"{problem}; move it out of the way (or choose another {folder}) and run again."
            )
        )

    def _keep_copy(self, name: str, raw: bytes) -> Path:
        """Save ``raw`` as ``<name>.damaged`` (``.damaged.1``... if taken); the path.

        An earlier copy is never overwritten: it may hold the only trace of a row.
        """
        path = self.path / f"{name}{DAMAGED_SUFFIX}"
        number = 0
        while path.exists():
            number += 1
            path = self.path / f"{name}{DAMAGED_SUFFIX}.{number}"
        with _writing(path):
            path.write_bytes(raw)
        return path

    def _replace(self, path: Path, text: str) -> None:
        """Write ``text`` to ``path`` at once: a crash or Ctrl-C leaves the old file whole."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with _writing(path):
                tmp.write_text(text, encoding="utf-8", newline="")
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def append(self, row: dict) -> None:
        with _writing(self.csv, "append to"):
            new = not self.csv.exists() or self.csv.stat().st_size == 0
            with self.csv.open("a", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.fieldnames, restval="")
                if new:
                    writer.writeheader()
                writer.writerow(row)
                handle.flush()

    def read_few_rows(self) -> list[dict]:
        """The rows of ``few_labels.csv``, typed; none if there is no such file.

        A file that cannot be parsed is kept as ``few_labels.csv.damaged`` (with a
        note) and its rows are computed again: they are few and cheap beside the
        representation fits.
        """
        from ._few_labels import FEW_COLUMNS, typed_few_row

        path = self.path / FEW_LABELS_CSV
        if not path.exists():
            return []
        with _writing(path, "read"):
            raw = path.read_bytes()
        try:
            frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
            missing = [c for c in FEW_COLUMNS if c not in frame]
            if missing:
                raise ValueError(f"no {', '.join(missing)} column")
            return [typed_few_row(record) for record in frame.to_dict("records")]
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            copy = self._keep_copy(FEW_LABELS_CSV, raw)
            self.notes.append(
                f"'{path}' cannot be read ({exc}); kept as '{copy.name}', its rows are "
                "computed again"
            )
            return []

    def write_few_rows(self, frame: pd.DataFrame) -> None:
        """Write the few-labels table (every row at once, replacing the file)."""
        self._replace(self.path / FEW_LABELS_CSV, frame.to_csv(index=False))

    def save_labels(self, y) -> None:
        with _writing(self.path / TEST_LABELS):
            np.save(self.path / TEST_LABELS, y)

    def save_fit(self, fit_id: str, record: dict) -> None:
        arrays = {
            "originals": record["originals"],
            "reconstructions": record["reconstructions"],
        }
        for key, values in record["history"].items():
            arrays[f"history__{key}"] = values
        path = self.path / FITS_DIR / f"{fit_id}.npz"
        with _writing(path):
            np.savez_compressed(path, **arrays)

    def save_predictions(self, row_id: str, y_pred) -> None:
        path = self.path / PREDICTIONS_DIR / f"{row_id}.npy"
        with _writing(path):
            np.save(path, np.asarray(y_pred))

    def write_markdown(self, frame: pd.DataFrame, config: dict, few=None) -> None:
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
        if few is not None and len(few):
            from ._few_labels import few_summary_lines, few_table, few_title

            title = few_title(few)
            parts.append(f"{title[0].upper()}{title[1:]}\n\n{to_markdown(few_table(few))}")
            lines = few_summary_lines(few)
            if lines:
                parts.append("```\n" + "\n".join(lines) + "\n```")
        self._replace(self.path / RESULTS_MD, "\n".join(f"{part.rstrip()}\n" for part in parts))


def _reason(exc: OSError) -> str:
    """Why an operating-system call failed, in words (``Permission denied``)."""
    return exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def _writing(path: Path, verb: str = "write"):
    """Turn a failure to write ``path`` into one :class:`StudyError` naming it."""
    try:
        yield
    except OSError as exc:
        reason = _reason(exc)
        raise _study_error(
            lambda folder, _: (
                f"cannot {verb} '{path}': {reason}; the rows saved so far "
                f"are kept: fix that (or choose another {folder}) and run again to go on."
            )
        ) from None


#: how messages name the output folder and ``overwrite``: in Python, and in the command
_API_WORDS = ("output folder", "overwrite=True")
_CLI_WORDS = ("--output-dir", "--overwrite")


def _study_error(make) -> StudyError:
    """A :class:`StudyError` from ``make(folder, overwrite)``, in both vocabularies."""
    return StudyError(make(*_API_WORDS), cli_message=make(*_CLI_WORDS))


def _differences(old: dict, new: dict) -> str:
    diffs = [
        f"{key}: {old.get(key)!r} there, {value!r} here"
        for key, value in new.items()
        if old.get(key) != value
    ]
    return "; ".join(diffs)


def _conflicts(parsed, config: dict, params_of=None) -> list[tuple[int, str]]:
    """``(line number, why)`` of each row that these settings would not give.

    Every row must have the data set and set sizes of ``config``; with ``params_of``
    (see ``_StudyFolder.open``), a row of a known representation must also have the
    parameters these settings give it.
    """
    conflicts = []
    for number, row in zip(parsed.numbers, parsed.rows):
        why = _conflict(row, config, params_of)
        if why:
            conflicts.append((number, why))
    return conflicts


def _conflict(row: dict, config: dict, params_of) -> str | None:
    if row["dataset"] != config["dataset"]:
        return f"data set {row['dataset']!r}, this study's is {config['dataset']!r}"
    sizes, ours = (row["n_train"], row["n_test"]), (config["n_train"], config["n_test"])
    if sizes != ours:
        return "{:,} training and {:,} test images".format(
            *sizes
        ) + ", this study has {:,} and {:,}".format(*ours)
    expected = None if params_of is None else params_of(row["representation"])
    if expected is not None and expected != row["params"]:
        return f"{row['representation']}: {_params_difference(row['params'], expected)}"
    return None


_PARAM = re.compile(r", (?=\w+=)")


def _params_difference(there: str, here: str) -> str:
    """``key=old there, key=new here`` for the parameters that differ."""
    old = dict(pair.split("=", 1) for pair in _PARAM.split(there) if "=" in pair)
    new = dict(pair.split("=", 1) for pair in _PARAM.split(here) if "=" in pair)
    keys = [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]
    if not keys:
        return f"{there!r} there, {here!r} here"
    return "; ".join(f"{key}={old.get(key)} there, {new.get(key)} here" for key in keys)


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


def _number(record: dict, column: str, kind):
    """``record[column]`` as an int or a float; ValueError naming the column if it is not."""
    try:
        return kind(record[column])
    except (ValueError, OverflowError):
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{column} {record[column]!r} is not {what}") from None


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
        row[column] = _number(record, column, int)
    if row["latent_dim"] < 1 or row["seed"] < 0 or min(row["n_train"], row["n_test"]) < 1:
        raise ValueError("sizes out of range")
    failed = bool(row["error"])
    for column in (*_SCORES, *_SECONDS, "reconstruction_mse"):
        value = _number(record, column, float) if record[column] or not failed else math.nan
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
        self.raw = None  # the file's bytes (None: no file)
        self.header = None
        self.extras = []  # columns of the header that skae does not write
        self.rows = []
        self.numbers = []  # the line number of each row
        self.extra_values = []  # each row's values of the extra columns
        self.damaged = []  # line numbers
        self.reasons = []  # why each damaged line is damaged
        self.repeated = []
        self.binary = False

    def describe(self, path, *, saved=None) -> str:
        parts = []
        if self.damaged:
            where = _lines(self.damaged)
            why = self.reasons[0]
            if len(self.damaged) > 1:
                why = f"line {self.damaged[0]}: {why}"
            parts.append(f"dropped {_count(self.damaged, 'damaged line')} ({where}; {why})")
        if self.repeated:
            parts.append(
                f"dropped {_count(self.repeated, 'repeated row')} ({_lines(self.repeated)})"
            )
        kept = f"kept {_count(self.rows, 'intact row')}"
        saved = f"; the damaged file is saved as {saved}" if saved else ""
        return f"'{path}': {' and '.join(parts)}, {kept}{saved}; dropped rows are computed again"


def _count(items, noun) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _lines(numbers) -> str:
    shown = ", ".join(map(str, numbers[:8]))
    more = f" and {len(numbers) - 8} more" if len(numbers) > 8 else ""
    return f"line{'' if len(numbers) == 1 else 's'} {shown}{more}"


def _is_header(fields) -> bool:
    """A header names each column once: skae's columns, or at least its key columns.

    Columns skae does not write are allowed beside the key columns (a user's notes);
    no data row holds all the key columns' names.
    """
    names = set(fields)
    if len(names) != len(fields):
        return False
    return names <= set(COLUMNS) or set(KEY_COLUMNS) <= names


def _parse_results(parsed: _ParsedResults) -> _ParsedResults:
    """Read ``parsed.raw`` line by line, so that one damaged line never takes others with it.

    Rows never span lines (no field holds a newline): a line that does not parse on
    its own, has the wrong number of fields or a value of the wrong type is damaged.
    The header names the columns (also the older header without ``error``, and
    columns skae does not write, whose values are kept); without one, lines are read
    in the order of ``COLUMNS``.
    """
    text = parsed.raw.decode("utf-8", errors="replace")
    seen = set()

    def damaged(number, reason):
        parsed.damaged.append(number)
        parsed.reasons.append(reason)

    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        if "\x00" in line or "\ufffd" in line:
            parsed.binary = True
            damaged(number, "binary bytes")
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except (csv.Error, StopIteration) as exc:
            damaged(number, f"not CSV ({exc})")
            continue
        first = parsed.header is None and not parsed.rows and not parsed.damaged
        if first and _is_header(fields):
            parsed.header = fields
            parsed.extras = [name for name in fields if name not in COLUMNS]
            continue
        if fields == parsed.header:
            continue  # a header repeated by a concatenation
        names = parsed.header
        if names is None:
            names = COLUMNS if len(fields) == len(COLUMNS) else LEGACY_COLUMNS
        if len(fields) != len(names):
            damaged(number, f"{len(fields)} fields where the header has {len(names)}")
            continue
        record = dict(zip(names, fields))
        try:
            row = _typed_row(record)
        except ValueError as exc:
            damaged(number, str(exc))
            continue
        key = row_key(row)
        if key in seen:
            parsed.repeated.append(number)
            continue
        seen.add(key)
        parsed.rows.append(row)
        parsed.numbers.append(number)
        parsed.extra_values.append({name: record[name] for name in parsed.extras})
    return parsed


def _csv_text(parsed: _ParsedResults) -> str:
    """results.csv holding the intact rows of ``parsed``: skae's columns, then the others."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, *parsed.extras])
    writer.writeheader()
    for row, extra in zip(parsed.rows, parsed.extra_values):
        writer.writerow({**row, **extra})
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
