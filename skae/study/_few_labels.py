"""The few-labels table of a study: a few labels per class, the other training rows
unlabelled (``-1``).

For each seed, the same labelled rows are drawn (``labels_per_class`` per class) and
three models are scored on the test set: :class:`skae.EncoderClassifier` trained on
every row (it pre-trains an autoencoder on all of them, then fine-tunes on the
labels with consistency and entropy terms on the unlabelled rows), the same
classifier trained on the labelled rows alone (a plain supervised network), and an
RBF SVC on the labelled rows alone. The rows run as one job of the study's pool, so
that they share the cores with the representation fits.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

import skae

from ._data import StudyData
from ._errors import StudyError
from ._registry import ModelSettings

#: columns of a few-labels row, in order
FEW_COLUMNS = (
    "dataset",
    "model",
    "params",
    "trained_on",
    "labels_per_class",
    "n_labelled",
    "n_unlabelled",
    "seed",
    "accuracy",
    "precision_macro",
    "recall_macro",
    "fit_seconds",
    "n_test",
    "error",
)
#: the columns that identify a few-labels row; a rerun skips the keys already saved
FEW_KEY_COLUMNS = ("dataset", "model", "params", "trained_on", "labels_per_class", "seed")

ALL_ROWS = "labelled + unlabelled"
LABELLED_ROWS = "labelled"
#: (model, rows it trains on), in table order
FEW_MODELS = (
    ("encoder-classifier", ALL_ROWS),
    ("encoder-classifier", LABELLED_ROWS),
    ("svc", LABELLED_ROWS),
)


@dataclass
class _FewCell:
    """The few-labels models of one seed that still need a row."""

    labels_per_class: int
    seed: int
    models: list

    def key(self, dataset: str, settings: ModelSettings, model: tuple) -> tuple:
        """The key of the row ``model`` gives (see ``FEW_KEY_COLUMNS``)."""
        name, rows = model
        params = model_params(settings, model)
        return (dataset, name, params, rows, self.labels_per_class, self.seed)


def few_label_mask(y, labels_per_class: int, seed: int) -> np.ndarray:
    """Which rows keep their label: ``labels_per_class`` of each class, drawn at random.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels of the training rows.
    labels_per_class : int
        Rows kept labelled in each class.
    seed : int
        Seed of the draw: the same seed gives the same rows.

    Returns
    -------
    labelled : ndarray of shape (n_samples,), dtype bool

    Examples
    --------
    >>> import numpy as np
    >>> from skae.study._few_labels import few_label_mask
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> mask = few_label_mask(y, 2, seed=0)
    >>> [int(mask[y == k].sum()) for k in (0, 1)]
    [2, 2]
    """
    y = np.asarray(y)
    rng = np.random.RandomState(seed)
    labelled = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        labelled[rng.choice(rows, labels_per_class, replace=False)] = True
    return labelled


def check_few_labels(y_train, labels_per_class: int, option: str = "few_labels") -> None:
    """Raise a :class:`StudyError` unless every class has ``labels_per_class`` rows and
    some training rows are left unlabelled."""
    labels, counts = np.unique(np.asarray(y_train), return_counts=True)
    smallest = int(np.argmin(counts))
    if counts[smallest] < labels_per_class:
        problem = (
            f"is more than the {counts[smallest]} training images of class "
            f"{labels[smallest]}; use fewer labels per class."
        )
        raise StudyError(
            f"few_labels={labels_per_class} {problem}",
            cli_message=f"--few-labels {labels_per_class} {problem}",
        )
    if labels_per_class * len(labels) >= len(y_train):
        problem = "leaves no training image unlabelled; use fewer labels per class."
        raise StudyError(
            f"few_labels={labels_per_class} {problem}",
            cli_message=f"--few-labels {labels_per_class} {problem}",
        )


def model_params(settings: ModelSettings, model: tuple) -> str:
    """The ``params`` of a few-labels row: the study settings its model takes.

    Only the classifier trained on every row takes any: its pre-trained autoencoder
    is skae's default one, to which the settings the user gave apply (as to
    ``ae-default``); the others keep their defaults.
    """
    if model != ("encoder-classifier", ALL_ROWS):
        return ""
    given = settings.given_kwargs()
    return ", ".join(f"encoder__{name}={_short(value)}" for name, value in given.items())


def _short(value) -> str:
    return str(tuple(value)) if isinstance(value, tuple | list) else str(value)


def _build(settings: ModelSettings, model: tuple, seed: int, n_classes: int, n_rows: int):
    from sklearn.svm import SVC

    name, rows = model
    if name == "svc":
        # on the pixels themselves: they share one scale, and standardising features
        # from a handful of rows would blow up the noise of near-constant pixels
        return SVC(random_state=seed)
    given = settings.given_kwargs() if rows == ALL_ROWS else {}
    if not given:
        return skae.EncoderClassifier(random_state=seed)
    from skae._encoder_classifier import auto_pretraining

    # the autoencoder encoder='auto' pre-trains, with the settings the user gave, and
    # the labels it spreads; the fine-tuning takes the same number of epochs
    encoder, fraction = auto_pretraining(n_classes, n_rows, **given)
    epochs = given.get("max_epochs", "auto")
    return skae.EncoderClassifier(
        encoder=encoder, pseudo_label_fraction=fraction, max_epochs=epochs, random_state=seed
    )


def _run_few_cell(cell: _FewCell, data: StudyData, settings: ModelSettings, dataset: str):
    """Fit the cell's models; yield one ``("few", row)`` event per model."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    from skae.exceptions import TrainingDivergedError

    from ._cell import _INTERRUPT, _one_line, _warm_up

    labelled = few_label_mask(data.y_train, cell.labels_per_class, cell.seed)
    y_partial = np.where(labelled, data.y_train, -1)
    for model in cell.models:
        name, rows = model
        n_classes = len(np.unique(data.y_train))
        estimator = _build(settings, model, cell.seed, n_classes, len(data.y_train))
        if name != "svc":
            _warm_up()
        X, y = (data.X_train, y_partial) if rows == ALL_ROWS else (
            data.X_train[labelled], data.y_train[labelled]
        )  # fmt: skip
        row = {
            "dataset": dataset,
            "model": name,
            "params": model_params(settings, model),
            "trained_on": rows,
            "labels_per_class": cell.labels_per_class,
            "n_labelled": int(labelled.sum()),
            "n_unlabelled": int((~labelled).sum()) if rows == ALL_ROWS else 0,
            "seed": cell.seed,
            "n_test": len(data.X_test),
        }
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimator.fit(X, y)
        except (TrainingDivergedError, ValueError) as exc:
            if _INTERRUPT.raised:
                raise KeyboardInterrupt from None
            failed = dict.fromkeys(("accuracy", "precision_macro", "recall_macro"), math.nan)
            seconds = time.perf_counter() - start
            yield "few", {**row, **failed, "fit_seconds": seconds, "error": _one_line(exc)}
            continue
        seconds = time.perf_counter() - start
        if _INTERRUPT.raised:  # a fit that caught a Ctrl-C itself: it is incomplete
            raise KeyboardInterrupt
        y_pred = estimator.predict(data.X_test)
        scores = {
            "accuracy": accuracy_score(data.y_test, y_pred),
            "precision_macro": precision_score(
                data.y_test, y_pred, average="macro", zero_division=0
            ),
            "recall_macro": recall_score(data.y_test, y_pred, average="macro", zero_division=0),
        }
        yield "few", {**row, **scores, "fit_seconds": seconds, "error": ""}


def few_row_key(row) -> tuple:
    """The ``FEW_KEY_COLUMNS`` of a row, typed, so that saved and new rows compare equal."""
    return (
        str(row["dataset"]),
        str(row["model"]),
        "" if pd.isna(row["params"]) else str(row["params"]),
        str(row["trained_on"]),
        int(row["labels_per_class"]),
        int(row["seed"]),
    )


_FEW_INTS = ("labels_per_class", "n_labelled", "n_unlabelled", "seed", "n_test")
_FEW_FLOATS = ("accuracy", "precision_macro", "recall_macro", "fit_seconds")


def typed_few_row(record: dict) -> dict:
    """A row read from ``few_labels.csv`` (strings), typed; ValueError if damaged.

    A failed row (non-empty ``error``) may leave its scores empty.
    """
    row = {column: record[column] for column in FEW_COLUMNS}
    for column in ("dataset", "model", "trained_on"):
        if not row[column]:
            raise ValueError(f"empty {column}")
    failed = bool(row["error"])
    for column in _FEW_INTS:
        row[column] = int(row[column])
    for column in _FEW_FLOATS:
        value = float(row[column]) if row[column] or not failed else math.nan
        if math.isnan(value) and not failed:
            raise ValueError(f"{column} is not a number")
        if value < 0 or (column != "fit_seconds" and value > 1):
            raise ValueError(f"{column} out of range")
        row[column] = value
    return row


def few_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The view of a few-labels table that is printed and put in ``results.md``.

    The data set, the labels per class (in the title) and empty ``params`` and
    ``error`` columns are left out.
    """
    view = frame.drop(columns=["dataset", "labels_per_class"])
    for column in ("params", "error"):
        if not view[column].fillna("").astype(bool).any():
            view = view.drop(columns=column)
    return view


def ordered_few_rows(rows: list, wanted: list) -> pd.DataFrame:
    """The few-labels rows of ``wanted`` keys, in that order, as a typed DataFrame."""
    by_key = {few_row_key(r): r for r in rows}
    frame = pd.DataFrame([by_key[k] for k in wanted if k in by_key], columns=list(FEW_COLUMNS))
    for column in _FEW_INTS:
        frame[column] = frame[column].astype("int64")
    for column in _FEW_FLOATS:
        frame[column] = frame[column].astype("float64")
    for column in ("params", "error"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.reset_index(drop=True)


def few_title(frame: pd.DataFrame) -> str:
    """The title of a few-labels table: labels per class, labelled and training images."""
    first = frame.iloc[0]
    n_train = int((frame["n_labelled"] + frame["n_unlabelled"]).max())
    return (
        f"few labels: {first['labels_per_class']} per class ({first['n_labelled']:,} of "
        f"{n_train:,} training images), the others unlabelled:"
    )


def few_summary_lines(frame: pd.DataFrame) -> list[str]:
    """The models of a few-labels table, best first, each with its gap to the best.

    Accuracy is the mean over seeds; failed rows are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        A few-labels table (:func:`~skae.study.run_study` with ``few_labels``).

    Returns
    -------
    lines : list of str
        A title, then one line per model and training rows; empty when no row has
        scores.

    Examples
    --------
    >>> import pandas as pd
    >>> from skae.study._few_labels import few_summary_lines
    >>> frame = pd.DataFrame({
    ...     "model": ["encoder-classifier", "svc"],
    ...     "trained_on": ["labelled + unlabelled", "labelled"],
    ...     "accuracy": [0.90, 0.86], "error": ["", ""],
    ... })
    >>> for line in few_summary_lines(frame):
    ...     print(line)
    few labels, best first (test accuracy, mean over seeds):
      encoder-classifier  labelled + unlabelled  0.9000
      svc                 labelled               0.8600  -0.0400
    """
    scored = frame[frame["error"].fillna("") == ""]
    if scored.empty:
        return []
    mean = scored.groupby(["model", "trained_on"], sort=False)["accuracy"].mean()
    ranked = mean.sort_values(ascending=False, kind="stable")
    widths = [max(len(key[i]) for key in ranked.index) for i in (0, 1)]
    best = ranked.iloc[0]
    lines = ["few labels, best first (test accuracy, mean over seeds):"]
    for (model, rows), score in ranked.items():
        gap = f"  {score - best:+.4f}" if score != best else ""
        lines.append(f"  {model.ljust(widths[0])}  {rows.ljust(widths[1])}  {score:.4f}{gap}")
    return lines
