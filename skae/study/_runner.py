"""The study runner: :func:`run_study` and the loop over the cells of its grid.

A study is a grid of representations x latent sizes x classifiers x seeds. Each
representation is fitted once per (latent size, seed) and its codes feed every
classifier (``_cell``). The cells run here one after the other or in joblib
workers; every finished row goes to the study folder at once (``_folder``), so
that an interrupted study keeps its rows and a rerun in the same folder computes only
what is missing. Arguments are checked up front by ``_plan``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from ._cell import _INTERRUPT, _limited_threads, _run_cell
from ._data import StudyData, load_study_data
from ._errors import StudyError, StudyInterrupted
from ._few_labels import _FewCell, _run_few_cell, few_row_key, ordered_few_rows
from ._folder import COLUMNS, _StudyFolder, row_id, row_key
from ._plan import (
    DEFAULT_CLASSIFIERS,
    DEFAULT_LATENT_SIZES,
    DEFAULT_REPRESENTATIONS,
    _Plan,
    make_plan,
)


def run_study(
    dataset="digits",
    representations=DEFAULT_REPRESENTATIONS,
    latent_sizes=DEFAULT_LATENT_SIZES,
    classifiers=DEFAULT_CLASSIFIERS,
    seeds=(0,),
    *,
    n_jobs=None,
    output_dir=None,
    quick=False,
    data_home=None,
    download=True,
    n_train=None,
    n_test=None,
    max_epochs=None,
    hidden_layer_sizes=None,
    optimizer=None,
    lr=None,
    batch_size=None,
    torch_threads=1,
    overwrite=False,
    figures=True,
    verbose=0,
    few_labels=None,
):
    """Compare representations, latent sizes and classifiers on one data set.

    For every representation, latent size and seed, the representation is fitted on
    the training images, both sets are encoded, and every classifier is trained on
    the (standardised) training codes and scored on the test codes. One row per
    (representation, latent size, classifier, seed).

    Parameters
    ----------
    dataset : {'digits', 'mnist', 'fashion-mnist', 'kmnist', 'kmnist-test'}, \
            default='digits'
        ``'digits'`` is scikit-learn's bundled 8x8 digits with a fixed stratified
        75/25 split (``random_state=0``): no download. The MNIST family is read with
        :func:`skae.datasets.load_dataset` (official train/test sets; see
        ``n_train``). ``'kmnist-test'`` splits KMNIST's 10,000 official test images
        8,000/2,000 (stratified, ``random_state=0``) for use without its training
        images.
    representations : sequence of str, default=('pca', 'ae-default')
        Names from :func:`skae.study.representation_names`: ``'pca'``,
        ``'ae-<activation>'`` (linear, sigmoid, relu, elu, tanh), ``'ae-default'``,
        ``'itl'``, ``'vae'``, ``'vae-conv'`` and ``'kae<k>'`` (k autoencoders, each
        with a code of the latent size, concatenated: ``n_codes`` is k times the
        latent size). ``'ae-default'`` is ``AutoencoderTransformer(latent_dim=m,
        random_state=seed)`` with skae's defaults; of the settings below it takes only
        those given (not ``None``), and ``quick``'s epochs.
    latent_sizes : sequence of int, default=(2, 8, 16)
        Code sizes; each at most the number of features.
    classifiers : sequence of str, default=('logreg', 'svc', 'knn')
        ``'logreg'``, ``'svc'`` (RBF kernel), ``'knn'`` (5 neighbours), ``'mlp'``,
        ``'mlp-sigmoid'`` (scikit-learn, after a ``StandardScaler``).
    seeds : sequence of int, default=(0,)
        ``random_state`` of the representations and classifiers, from 0 to
        ``2**32 - 1``.
    n_jobs : int, default=None
        Fits run at once, in separate processes (joblib); ``None`` means 1, ``-1``
        all cores. Never more processes start than there are fits left to run or CPU
        cores. Each fit uses ``torch_threads`` threads whatever ``n_jobs`` is, so
        the results do not depend on ``n_jobs`` (only the timings do).
    output_dir : str or path, default=None
        Folder for ``results.csv``, ``results.md``, ``study.json``, the figures and
        the data needed to resume. ``None`` saves nothing.
    quick : bool, default=False
        Smoke-test sizes: 3 epochs, and 1,000/1,000 images of the MNIST family.
    data_home : str or path, default=None
        Data home of :mod:`skae.datasets` (default: ``SKAE_DATA`` or
        ``~/scikit_learn_data/skae``).
    download : bool, default=True
        Download missing data files from the official sources; with ``False`` a
        missing file raises :class:`skae.datasets.DatasetNotFoundError` at once.
    n_train, n_test : int or 'all', default=None
        Keep the first ``n_train`` training and ``n_test`` test images. ``None`` uses
        the data set's default: all of digits and kmnist-test, and for MNIST,
        Fashion-MNIST and KMNIST the first 10,000 training images and the whole
        10,000-image test set.
    max_epochs : int, default=None
        Epochs of the neural representations; ``None`` means 100 for digits, 20 for
        the 28x28 data sets (3 with ``quick``), and ``'ae-default'``'s own
        ``max_epochs='auto'`` (except with ``quick``).
    hidden_layer_sizes : tuple of int, default=None
        Encoder hidden sizes (the decoder mirrors them); ``None`` means (128,) for
        digits and (256,) for 28x28 images, and ``'ae-default'``'s own.
    optimizer : str, default=None
        Optimizer of the neural representations, e.g. ``'rprop'``; ``None`` means
        ``'adam'``.
    lr : float, default=None
        Their learning rate; ``None`` keeps the estimators' default.
    batch_size : int or 'full', default=None
        Their batch size; ``'full'`` trains on the whole training set per step (what
        ``optimizer='rprop'`` needs). ``None`` means 256, and ``'ae-default'``'s own.
    torch_threads : int, default=1
        Threads of each fit (torch and the BLAS of the classifiers), at most the
        number of CPU cores.
    overwrite : bool, default=False
        Delete the results of an earlier study in ``output_dir`` that cannot be
        resumed with these settings (other settings, rows of another study) instead
        of refusing to mix them.
    figures : bool, default=True
        Draw the figures into ``output_dir`` at the end (needs matplotlib; skipped
        with a note without it).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar (on a terminal) and notes; 2 also prints
        one line per finished row.
    few_labels : int, default=None
        Also compare, on the same split, models trained with ``few_labels`` labels
        per class (drawn per seed) and every other training image unlabelled
        (``-1``): :class:`skae.EncoderClassifier` with its defaults on every row (it
        pre-trains an autoencoder on all of them), the same classifier on the
        labelled rows alone, and an RBF SVC on the labelled rows alone (on the
        pixels). Its rows run in the same pool of workers as the representations.
        ``None``: no such table.

    Returns
    -------
    results : pandas.DataFrame
        One row per grid cell, in grid order, with the columns: data set,
        representation, ``params`` (its other parameters), latent size, ``n_codes``
        (features the classifier sees), classifier, seed, test accuracy, macro
        precision and
        recall, test reconstruction MSE per feature, fit and transform seconds of the
        representation, classifier seconds, trainable parameters, set sizes and
        ``error``: empty, or why the row failed (its scores are then NaN).
    few_label_results : pandas.DataFrame
        Only with ``few_labels``: one row per model and seed, with the columns data
        set, ``model``, ``params`` (the settings given to its pre-trained
        autoencoder, if any), ``trained_on`` (``'labelled + unlabelled'`` or
        ``'labelled'``), labels per class, ``n_labelled``, ``n_unlabelled``, seed,
        test accuracy, macro precision and recall, ``fit_seconds``, ``n_test`` and
        ``error``. In ``output_dir`` it is ``few_labels.csv``, resumed like the main
        table.

    Raises
    ------
    StudyError
        For any invalid argument (checked before training), a folder holding a
        study with other settings, a study file that cannot be read or written, or a
        network too large for the memory.
    StudyInterrupted
        On Ctrl-C; the rows finished so far are in ``output_dir``.
    skae.datasets.DatasetNotFoundError, skae.datasets.DatasetFileError
        When a data file is missing (and cannot be downloaded) or unusable.

    Notes
    -----
    ``n_parameters`` counts the trainable parameters of the fitted torch modules
    (every member of an ensemble, and a discriminator if any); for PCA it counts the
    components and the mean, ``(n_components + 1) * n_features``.
    ``reconstruction_mse`` is the mean over test images and features of the squared
    reconstruction error (PCA via ``inverse_transform``). Classifier warnings about
    convergence are silenced; the quick MLPs stop early on purpose.

    Resuming: every finished row is appended to ``results.csv`` at once. A rerun with
    the same ``output_dir`` reads it and computes only the rows whose key (data set,
    representation, params, latent size, classifier, seed) is missing. The settings
    that change the numbers (data set, sizes, epochs, hidden sizes, optimizer...) are
    kept in ``study.json``; a rerun with other settings raises :class:`StudyError`
    unless ``overwrite=True``. The grid itself may grow between runs. Damaged lines
    of ``results.csv`` are dropped (with a note, or a warning when ``verbose=0``) and
    computed again; intact rows are always kept, and so are columns skae does not
    write. A row of another data set or other set sizes raises :class:`StudyError`
    naming its line. A missing or damaged ``study.json`` is written again when every
    saved row is one these settings give (data set, set sizes and each
    representation's ``params``); otherwise a :class:`StudyError` says which line
    differs. One study at a time writes into a folder: a second one raises
    :class:`StudyError`.

    Failed rows: a representation whose training diverges
    (``skae.exceptions.TrainingDivergedError``), whose codes hold NaN or infinity, or
    whose codes a classifier refuses (``ValueError``) gives rows with NaN scores and
    the reason in ``error``, and the study goes on. A rerun keeps them like any other
    row: the same settings and seed fail the same way.

    Examples
    --------
    >>> from skae.study import run_study
    >>> table = run_study(representations=["pca"], latent_sizes=[4], quick=True)
    >>> table[["representation", "latent_dim", "classifier"]].to_numpy().tolist()
    [['pca', 4, 'logreg'], ['pca', 4, 'svc'], ['pca', 4, 'knn']]
    >>> bool(table["accuracy"].iloc[0] > 0.5)
    True
    """
    plan = make_plan(
        dataset,
        representations,
        latent_sizes,
        classifiers,
        seeds,
        n_jobs=n_jobs,
        output_dir=output_dir,
        quick=quick,
        n_train=n_train,
        n_test=n_test,
        max_epochs=max_epochs,
        hidden_layer_sizes=hidden_layer_sizes,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        torch_threads=torch_threads,
        verbose=verbose,
        few_labels=few_labels,
    )
    folder = _StudyFolder(plan.output_dir) if plan.output_dir is not None else None
    if folder is not None:
        folder.check_writable()
    # one study at a time per folder: two would compute and append the same rows
    with folder.locked() if folder is not None else contextlib.nullcontext():
        data = load_study_data(
            dataset,
            n_train=n_train,
            n_test=n_test,
            quick=quick,
            data_home=data_home,
            download=download,
        )
        plan.check_data(data)
        config = plan.config(data)
        if folder is not None:
            folder.open(config, overwrite=overwrite, params_of=plan.params_of)
            folder.save_labels(data.y_test)
        frame, few = _execute(plan, data, folder, figures=figures)
    return frame if few is None else (frame, few)


def _execute(plan: _Plan, data: StudyData, folder: _StudyFolder | None, *, figures: bool):
    from tqdm.auto import tqdm

    cells = plan.cells()
    wanted = [cell.key(plan.dataset, name) for cell in cells for name in cell.classifiers]
    saved = folder.read_rows() if folder is not None else pd.DataFrame(columns=list(COLUMNS))
    few_cells = plan.few_cells()
    few_wanted = [
        cell.key(plan.dataset, plan.settings, model) for cell in few_cells for model in cell.models
    ]
    few_saved = folder.read_few_rows() if folder is not None and few_cells else []
    for note in folder.notes if folder is not None else ():
        _tell(note, plan.verbose)
    done = {row_key(row) for row in saved.to_dict("records")}
    todo = []
    for cell in cells:  # resume: keep only the classifiers whose rows are not saved yet
        cell.classifiers = [
            name for name in cell.classifiers if cell.key(plan.dataset, name) not in done
        ]
        if cell.classifiers:
            todo.append(cell)
    few_done = {few_row_key(row) for row in few_saved}
    for cell in few_cells:
        cell.models = [
            model
            for model in cell.models
            if cell.key(plan.dataset, plan.settings, model) not in few_done
        ]
    # First: the few-labels classifier pre-trains and fine-tunes, the longest fit of a
    # study, so that the representations fill the other workers meanwhile.
    todo = [cell for cell in few_cells if cell.models] + todo
    n_todo = sum(len(_row_names(c)) for c in todo)
    n_kept = len(wanted) + len(few_wanted) - n_todo
    if plan.verbose and n_kept:
        n_all = len(wanted) + len(few_wanted)
        _note(f"resuming: {n_kept} of {n_all} rows already in '{folder.path}'")

    rows = [r for r in saved.to_dict("records") if row_key(r) in set(wanted)]
    # every saved few-labels row stays in the file, of this study or not
    few_rows = list(few_saved)
    config = plan.config(data)
    bar = tqdm(
        total=n_todo,
        disable=True if plan.verbose == 0 else None,
        unit="row",
        desc="skae study",
        file=sys.stderr,
        leave=False,
    )

    def on_row(row, y_pred):
        if folder is not None:
            if y_pred is not None:  # a failed row has no predictions
                folder.save_predictions(row_id(row), y_pred)
            folder.append(row)
        rows.append(row)
        bar.update()
        where = (
            f"{row['representation']} m={row['latent_dim']} {row['classifier']} seed={row['seed']}"
        )
        _tell_row(bar, where, row, plan.verbose)

    def on_few_row(row):
        few_rows.append(row)
        if folder is not None:
            keys = [few_row_key(r) for r in few_rows]
            folder.write_few_rows(ordered_few_rows(few_rows, list(dict.fromkeys(keys))))
        bar.update()
        where = f"few labels: {row['model']} on {row['trained_on']} rows seed={row['seed']}"
        _tell_row(bar, where, row, plan.verbose)

    def handle(cell, event):
        if event[0] == "fit":
            if folder is not None:
                folder.save_fit(cell.fit_id, event[1])
        elif event[0] == "few":
            on_few_row(event[1])
        else:
            on_row(event[1], event[2])

    def results():
        frame = _ordered(rows, wanted)
        if not few_cells:
            return frame, None
        return frame, ordered_few_rows(few_rows, few_wanted)

    try:
        with _INTERRUPT:
            n_workers = _n_workers(plan.n_jobs, len(todo))
            if n_workers == 1:
                with _limited_threads(plan.torch_threads):
                    for cell in todo:
                        for event in _cell_events(cell, data, plan.settings, plan.dataset):
                            handle(cell, event)
            else:
                from joblib import Parallel, delayed

                # one cell per dispatch: joblib would otherwise group cells after the
                # quick PCA fits, queueing long fits behind each other in one worker
                parallel = Parallel(n_jobs=n_workers, batch_size=1, return_as="generator_unordered")
                jobs = (
                    delayed(_run_cell_indexed)(
                        i, cell, data, plan.settings, plan.dataset, plan.torch_threads
                    )
                    for i, cell in enumerate(todo)
                )
                for index, events in parallel(jobs):
                    for event in events:
                        handle(todo[index], event)
    except KeyboardInterrupt:
        bar.close()
        frame, few = results()
        if folder is not None:
            # the rows are in results.csv; a results.md that cannot be written must not
            # turn the interruption into another error (the next run writes it)
            with contextlib.suppress(StudyError):
                folder.write_markdown(frame, config, few)
        n_rows = len(frame) + (0 if few is None else len(few))
        raise StudyInterrupted(n_rows, len(wanted) + len(few_wanted), plan.output_dir) from None
    bar.close()
    frame, few = results()
    if folder is not None:
        folder.write_markdown(frame, config, few)
        if figures:
            _draw_figures(folder.path, frame, plan.verbose)
    return frame, few


def _row_names(cell) -> list:
    """What gives a row in ``cell``: its classifiers, or its few-labels models."""
    return cell.models if isinstance(cell, _FewCell) else cell.classifiers


def _cell_events(cell, data, settings, dataset):
    """The events of a representation cell or of a few-labels cell."""
    if isinstance(cell, _FewCell):
        return _run_few_cell(cell, data, settings, dataset)
    return _run_cell(cell, data, settings, dataset)


def _tell_row(bar, where: str, row: dict, verbose: int) -> None:
    if row["error"] and verbose >= 2:
        bar.write(f"{where} failed: {row['error']}", file=sys.stderr)
    elif verbose >= 2:
        bar.write(f"{where}: accuracy {row['accuracy']:.4f}", file=sys.stderr)


def _n_workers(n_jobs: int, n_cells: int) -> int:
    """Worker processes for ``n_cells`` fits: at most ``n_jobs``, the fits and the cores.

    A process beyond the fits left would start with no work, and one beyond the cores
    only competes for them; the numbers never depend on the workers, only the timings.
    """
    return max(1, min(n_jobs, n_cells, os.cpu_count() or 1))


def _run_cell_indexed(index, cell, data, settings, dataset, torch_threads):
    """A whole cell in a worker process: its events, with the same threads as in-process.

    Ctrl-C reaches the workers too: the flag makes an interrupted fit stop the cell
    instead of giving rows of a half-trained representation.
    """
    with _INTERRUPT, _limited_threads(torch_threads):
        return index, list(_cell_events(cell, data, settings, dataset))


def _draw_figures(path: Path, frame: pd.DataFrame, verbose: int) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if verbose:
            _note("figures skipped: matplotlib is not installed (pip install skae[plot])")
        return
    from ._figures import plot_study

    try:
        plot_study(path, frame)
    except OSError as exc:  # the rows are saved: a figure that cannot be written is a note
        where = f" '{exc.filename}'" if exc.filename else ""
        _tell(f"figures not drawn: cannot write{where}: {exc.strerror or exc}", verbose)


def _ordered(rows: list, wanted: list) -> pd.DataFrame:
    """The rows of the requested grid, in grid order, as a typed DataFrame."""
    by_key = {row_key(r): r for r in rows}
    frame = pd.DataFrame([by_key[k] for k in wanted if k in by_key], columns=list(COLUMNS))
    for column in ("latent_dim", "n_codes", "seed", "n_parameters", "n_train", "n_test"):
        frame[column] = frame[column].astype("int64")
    for column in COLUMNS[COLUMNS.index("accuracy") : COLUMNS.index("n_parameters")]:
        frame[column] = frame[column].astype("float64")
    frame["error"] = frame["error"].fillna("").astype(str)
    return frame.reset_index(drop=True)


def _note(message: str) -> None:
    print(f"skae study: {message}", file=sys.stderr)


def _tell(message: str, verbose: int) -> None:
    """What must not go unsaid (rows dropped from a damaged file): a note, or a warning."""
    if verbose:
        _note(message)
    else:
        warnings.warn(message, UserWarning, stacklevel=3)
