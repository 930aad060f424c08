"""``skae study`` under faults: damaged study folders, unreadable files, absurd values.

Each case runs the command line in-process on a copy of a finished two-row study and
checks what a user sees: the exit status, one clear line naming the problem (never a
traceback) and the intact rows of results.csv, still there.
"""

import csv
import io
import json
import os
import pathlib
import shutil
import signal
import time

import pytest
from sklearn.decomposition import PCA

from skae.__main__ import main
from skae.study import _registry, _runner
from skae.study._cell import _INTERRUPT
from skae.study._folder import COLUMNS

#: the finished study every case starts from (explicit representations and
#: classifier, no few-labels table, fits in this process: the defaults are not what
#: these tests are about)
GRID = [
    "--quick", "-r", "pca", "-m", "2", "4", "-c", "logreg", "--few-labels", "0",
    "--n-jobs", "1", "--no-figures", "-q",
]  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished study of two PCA rows: its folder (copied by each test)."""
    folder = tmp_path_factory.mktemp("finished") / "study"
    assert main(["study", *GRID, "-o", str(folder)]) == 0
    return folder


@pytest.fixture
def study(finished, tmp_path):
    """A fresh copy of the finished study: (folder, its results.csv lines)."""
    folder = tmp_path / "study"
    shutil.copytree(finished, folder)
    return folder, (folder / "results.csv").read_text().splitlines()


def _line(fields):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _edit(line, column, value):
    fields = next(csv.reader([line]))
    fields[COLUMNS.index(column)] = value
    return _line(fields)


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")


def _refuse(monkeypatch, method, name):
    """Make ``pathlib.Path.<method>`` raise PermissionError for files called ``name``.

    Tests run as root, whom chmod does not stop: the refusal is simulated.
    """
    original = getattr(pathlib.Path, method)

    def refusing(self, *args, **kwargs):
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, method, refusing)


def _refuse_append(monkeypatch, name):
    """Make appending to a file called ``name`` fail (a read-only file)."""
    original = pathlib.Path.open

    def refusing(self, mode="r", *args, **kwargs):
        if self.name == name and "a" in mode:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refusing)


def _refuse_replace(monkeypatch, name):
    """Make ``os.replace`` onto a file called ``name`` fail (a read-only file or folder)."""
    original = os.replace

    def refusing(src, dst, *args, **kwargs):
        if os.path.basename(dst) == name:
            raise PermissionError(13, "Permission denied", str(dst))
        return original(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refusing)


def _refuse_data_home(monkeypatch, home):
    """Make every look into ``home`` fail as an unreadable folder does."""
    original = pathlib.Path.stat

    def refusing(self, *args, **kwargs):
        if str(self).startswith(str(home)):
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", refusing)


def _out_of_memory(monkeypatch):
    class Huge(PCA):
        def fit(self, X, y=None):
            raise RuntimeError(
                "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate "
                "memory: you tried to allocate 25600000000000 bytes."
            )

    entry = _registry.Representation("huge", "", lambda s, m, seed: Huge(m), ())
    monkeypatch.setitem(_registry.REPRESENTATIONS, "huge", entry)


def _interrupt_second_fit(monkeypatch):
    calls = []

    class Interrupted(PCA):
        def fit(self, X, y=None):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return super().fit(X, y)

    entry = _registry.Representation("stopped", "", lambda s, m, seed: Interrupted(m), ())
    monkeypatch.setitem(_registry.REPRESENTATIONS, "stopped", entry)


def _refused(*args_and_message):
    """A value the command refuses at once (status 2): nothing is read or written."""
    *args, message = args_and_message
    return None, args, 2, [message], "untouched"


# Each case: (fault, extra arguments, exit status, what stderr must say, rows).
# ``fault(folder, lines, monkeypatch)`` damages the copy of the study (lines: those of
# its results.csv). ``rows`` is "untouched" (results.csv stays as the fault left it),
# "kept" (every original row is still there as it was: its timings show that it was
# not computed again) or a function of the original lines giving the lines that must
# still be there. ``{folder}`` in a message stands for the study folder.
CASES = {
    # 1. study.json damaged, truncated, deleted, replaced: the rows are kept
    "study.json-invalid-json": (
        lambda f, L, mp: (f / "study.json").write_text("{not json"),
        [],
        0,
        ["'{folder}/study.json' was damaged (not valid JSON): written again, as the 2 rows"],
        "kept",
    ),
    "study.json-truncated": (
        lambda f, L, mp: (f / "study.json").write_bytes((f / "study.json").read_bytes()[:40]),
        [],
        0,
        ["study.json' was damaged (not valid JSON)", "old file is kept as study.json.damaged"],
        "kept",
    ),
    "study.json-binary": (
        lambda f, L, mp: (f / "study.json").write_bytes(b"\x89PNG\r\n\x00\xff\xfe"),
        [],
        0,
        ["study.json' was damaged (not valid JSON)"],
        "kept",
    ),
    "study.json-not-an-object": (
        lambda f, L, mp: (f / "study.json").write_text("[1, 2]"),
        [],
        0,
        ["study.json' was damaged (not a JSON object)"],
        "kept",
    ),
    "study.json-incomplete": (
        lambda f, L, mp: (f / "study.json").write_text('{"dataset": "digits"}'),
        [],
        0,
        ["study.json' was incomplete (no protocol, n_train"],
        "kept",
    ),
    "study.json-deleted": (
        lambda f, L, mp: (f / "study.json").unlink(),
        [],
        0,
        ["'{folder}/study.json' was missing: written again, as the 2 rows of results.csv"],
        "kept",
    ),
    "study.json-is-a-folder": (
        lambda f, L, mp: ((f / "study.json").unlink(), (f / "study.json").mkdir()),
        [],
        2,
        ["'{folder}/study.json' is not a file", "move it out of the way", "rows of results.csv"],
        "untouched",
    ),
    "study.json-lost-and-rows-of-other-settings": (
        lambda f, L, mp: (
            (f / "study.json").unlink(),
            _write_lines(f / "results.csv", [L[0], _edit(L[1], "params", "svd_solver=full"), L[2]]),
        ),
        [],
        2,
        [
            "study.json' is missing and '{folder}/results.csv' line 2 was computed with other "
            "settings (pca: svd_solver=full there, auto here)",
            "run with their settings or restore study.json",
        ],
        "untouched",
    ),
    # 2. results.csv of binary garbage
    "results.csv-binary": (
        lambda f, L, mp: (f / "results.csv").write_bytes(bytes(range(256)) * 4),
        [],
        2,
        ["'{folder}/results.csv' is not a skae results table (binary data"],
        "untouched",
    ),
    # 3. a row with too many fields, a row of another data set
    "row-with-too-many-fields": (
        lambda f, L, mp: _write_lines(f / "results.csv", [L[0], L[1] + ",1,2", L[2]]),
        [],
        0,
        [
            "'{folder}/results.csv': dropped 1 damaged line (line 2; 20 fields where the "
            "header has 18), kept 1 intact row; the damaged file is saved as "
            "results.csv.damaged"
        ],
        lambda L: [L[2]],
    ),
    "row-of-another-data-set": (
        lambda f, L, mp: _write_lines(
            f / "results.csv", [L[0], L[1], _edit(L[2], "dataset", "mnist")]
        ),
        [],
        2,
        [
            "'{folder}/results.csv' line 3 holds a row of another study (data set 'mnist', "
            "this study's is 'digits'); remove it from the file"
        ],
        "untouched",
    ),
    "row-of-other-set-sizes": (
        lambda f, L, mp: _write_lines(
            f / "results.csv", [L[0], _edit(L[1], "n_train", "1000"), L[2]]
        ),
        [],
        2,
        ["line 2 holds a row of another study (1,000 training and 450 test images, this "],
        "untouched",
    ),
    # 4. one extra column: kept, and said so
    "extra-column": (
        lambda f, L, mp: _write_lines(
            f / "results.csv", [L[0] + ",note", L[1] + ",first", L[2] + ",second"]
        ),
        [],
        0,
        ["'{folder}/results.csv': column 'note' not written by skae: kept in the file"],
        lambda L: [L[1] + ",first", L[2] + ",second"],
    ),
    # 5. permissions
    "study.json-unreadable": (
        lambda f, L, mp: _refuse(mp, "read_bytes", "study.json"),
        [],
        2,
        ["cannot read '{folder}/study.json': Permission denied; make it readable"],
        "untouched",
    ),
    "study.json-unwritable": (
        lambda f, L, mp: (f / "study.json").unlink() or _refuse_replace(mp, "study.json"),
        [],
        2,
        ["cannot write '{folder}/study.json': Permission denied; the rows saved so far are kept"],
        "untouched",
    ),
    "results.csv-unreadable": (
        lambda f, L, mp: _refuse(mp, "read_bytes", "results.csv"),
        [],
        2,
        ["cannot read '{folder}/results.csv': Permission denied; move it out of the way"],
        "untouched",
    ),
    "results.csv-unwritable": (
        lambda f, L, mp: _refuse_append(mp, "results.csv"),
        ["-m", "2", "4", "8"],
        2,
        ["cannot append to '{folder}/results.csv': Permission denied; the rows saved so far"],
        "untouched",
    ),
    "fits-is-a-file": (
        lambda f, L, mp: (shutil.rmtree(f / "fits"), (f / "fits").write_text("")),
        [],
        2,
        ["cannot create the folder '{folder}/fits': File exists"],
        "untouched",
    ),
    "data-home-unreadable": (
        lambda f, L, mp: _refuse_data_home(mp, f.parent / "data"),
        ["--dataset", "mnist", "--data-home", "{data}", "--no-download", "-o", "{other}"],
        1,
        ["cannot read the data home {data} (", "Permission denied; make it readable, or point "],
        "untouched",
    ),
    "SKAE_DATA-unreadable": (
        lambda f, L, mp: (
            mp.setenv("SKAE_DATA", str(f.parent / "data")),
            _refuse_data_home(mp, f.parent / "data"),
        ),
        ["--dataset", "mnist", "--no-download", "-o", "{other}"],
        1,
        ["cannot read the data home {data}", "point SKAE_DATA or --data-home at another folder"],
        "untouched",
    ),
    # 6. out-of-range values of every numeric option
    "seed-beyond-32-bits": _refused(
        "--seeds",
        "1099511627776",
        "--seeds must be integers from 0 to 4294967295 (2**32 - 1), got 1099511627776.",
    ),
    "negative-seed": _refused("--seeds", "-1", "--seeds must be integers >= 0"),
    "lr-inf": _refused("--lr", "inf", "--lr must be a positive finite number, got inf."),
    "lr-nan": _refused("--lr", "nan", "--lr must be a positive finite number, got nan."),
    "lr-zero": _refused("--lr", "0", "--lr must be a positive finite number, got 0.0."),
    "threads-beyond-the-cores": _refused(
        "--threads",
        "100000",
        f"--threads must be from 1 to {os.cpu_count()} (the CPU cores of this machine)",
    ),
    "threads-zero": _refused("--threads", "0", "--threads must be a positive integer"),
    "n-jobs-zero": _refused("--n-jobs", "0", "--n-jobs must be a non-zero integer"),
    "latent-size-zero": _refused("-m", "0", "latent sizes must be integers >= 1"),
    "latent-size-huge": _refused("-m", "10" * 12, "is larger than the 64 features"),
    "epochs-zero": _refused("--max-epochs", "0", "--max-epochs must be a positive"),
    "batch-size-zero": _refused("--batch-size", "0", "--batch-size must be a positive"),
    "n-train-zero": _refused("--n-train", "0", "--n-train must be a positive"),
    "n-test-huge": _refused("--n-test", "9" * 30, "is more than the 450 images"),
    "hidden-beyond-64-bits": _refused(
        "-r",
        "ae-relu",
        "--hidden",
        "9" * 20,
        "--hidden must be integers from 1 to 9223372036854775807 (2**63 - 1)",
    ),
    "network-beyond-the-memory": (
        lambda f, L, mp: _out_of_memory(mp),
        ["-r", "huge"],
        2,
        [
            "not enough memory to fit huge with latent size 2 (seed 0): can't allocate memory",
            "use smaller hidden layers (--hidden)",
        ],
        "untouched",
    ),
    # 8. Ctrl-C: the rows already written stay, status 130
    "ctrl-c-during-a-fit": (
        lambda f, L, mp: _interrupt_second_fit(mp),
        ["-r", "pca", "stopped"],
        130,
        ["skae: interrupted: kept 3 of 4 rows in '{folder}'; run the same command again"],
        "kept",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_faults_give_one_clear_line_and_keep_the_rows(case, study, capsys, monkeypatch):
    folder, lines = study
    fault, extra, status, messages, rows = CASES[case]
    words = {
        "{folder}": str(folder),
        "{data}": str(folder.parent / "data"),
        "{other}": str(folder.parent / "other"),
    }
    (folder.parent / "data").mkdir()
    if fault is not None:
        fault(folder, lines, monkeypatch)
    with open(folder / "results.csv", "rb") as handle:  # pathlib may be refusing
        damaged = handle.read()
    capsys.readouterr()

    args = ["study", *GRID, "-o", str(folder), *extra]
    assert main([words.get(a, a) for a in args]) == status
    err = capsys.readouterr().err
    monkeypatch.undo()  # read the results without the simulated faults

    assert "Traceback" not in err
    for line in err.splitlines():
        assert line.startswith(("skae: ", "skae study: ")), err
    for message in messages:
        for word, value in words.items():
            message = message.replace(word, value)
        assert message in err
    if status == 2 and rows == "untouched":
        assert err.count("\n") == 1, err
    if rows == "untouched":  # refused: the file is as the fault left it
        assert (folder / "results.csv").read_bytes() == damaged
    else:  # every intact row kept as it was, not computed again
        expected = lines[1:] if rows == "kept" else rows(lines)
        saved = (folder / "results.csv").read_text().splitlines()
        assert set(expected) <= set(saved), (expected, saved)


def test_rebuilt_study_json_lets_the_study_go_on(study, capsys):
    folder, lines = study
    (folder / "study.json").write_text("{")
    assert main(["study", *GRID, "-o", str(folder), "-m", "2", "4", "8"]) == 0
    saved = (folder / "results.csv").read_text().splitlines()
    assert saved[:3] == lines and len(saved) == 4  # kept two rows, added one
    record = json.loads((folder / "study.json").read_text())
    assert record["dataset"] == "digits" and record["max_epochs"] == 3
    assert (folder / "study.json.damaged").read_text() == "{"
    # a second repair keeps the first damaged copy
    (folder / "study.json").write_text("[")
    assert main(["study", *GRID, "-o", str(folder)]) == 0
    assert (folder / "study.json.damaged").read_text() == "{"
    assert (folder / "study.json.damaged.1").read_text() == "["


def test_extra_column_stays_when_rows_are_added(study, capsys):
    folder, lines = study
    _write_lines(folder / "results.csv", [lines[0] + ",note", lines[1] + ",mine", lines[2] + ","])
    assert main(["study", *GRID, "-o", str(folder), "-m", "2", "4", "8"]) == 0
    saved = list(csv.DictReader((folder / "results.csv").open()))
    assert [row["note"] for row in saved] == ["mine", "", ""]
    assert [row["latent_dim"] for row in saved] == ["2", "4", "8"]
    # and the next run reads them all as intact
    assert main(["study", *GRID, "-o", str(folder), "-m", "2", "4", "8"]) == 0
    assert "dropped" not in capsys.readouterr().err


def test_overwrite_is_not_needed_to_keep_rows(study, capsys):
    """Only settings that really differ suggest --overwrite, and say it deletes rows."""
    folder, _ = study
    (folder / "study.json").unlink()
    assert main(["study", *GRID, "-o", str(folder)]) == 0
    assert "--overwrite" not in capsys.readouterr().err
    assert main(["study", *GRID, "-o", str(folder), "--max-epochs", "5"]) == 2
    err = capsys.readouterr().err
    assert "or --overwrite to replace it (its rows are deleted)." in err


def test_workers_never_outnumber_the_fits(study, monkeypatch):
    """``--n-jobs 1000`` on a two-fit study starts two workers, not a thousand."""
    import joblib

    started = []

    class Recording:
        def __init__(self, n_jobs, **kwargs):
            started.append(n_jobs)

        def __call__(self, jobs):
            return (function(*args, **kwargs) for function, args, kwargs in jobs)

    monkeypatch.setattr(joblib, "Parallel", Recording)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    folder, _ = study
    shutil.rmtree(folder)
    assert main(["study", *GRID, "-o", str(folder), "--n-jobs", "1000"]) == 0
    assert started == [2]
    # a rerun with one fit left runs it in this process: no worker at all
    assert main(["study", *GRID, "-o", str(folder), "-m", "2", "4", "8", "--n-jobs", "16"]) == 0
    assert started == [2]
    assert _runner._n_workers(-1 + 10**6, 3) == 3 and _runner._n_workers(4, 0) == 1


def test_ctrl_c_in_a_worker_stops_its_cell(monkeypatch):
    """skorch ends a fit quietly on Ctrl-C; a worker must not turn it into rows."""
    from skae.study._data import load_study_data
    from skae.study._plan import make_plan

    class Swallowing(PCA):
        def fit(self, X, y=None):
            try:  # what skorch does with a KeyboardInterrupt during training
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the signal interrupts the sleep at once
            except KeyboardInterrupt:
                pass
            return super().fit(X, y)

    entry = _registry.Representation("swallowing", "", lambda s, m, seed: Swallowing(m), ())
    monkeypatch.setitem(_registry.REPRESENTATIONS, "swallowing", entry)
    plan = make_plan(
        "digits", ["swallowing"], [2], ["logreg"], [0], n_jobs=2, output_dir=None,
        quick=True, n_train=None, n_test=None, max_epochs=None, hidden_layer_sizes=None,
        optimizer="adam", lr=None, batch_size=256, torch_threads=1, verbose=0,
    )  # fmt: skip
    data = load_study_data("digits", quick=True)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        _runner._run_cell_indexed(0, plan.cells()[0], data, plan.settings, "digits", 1)
    assert signal.getsignal(signal.SIGINT) is handler
    with _INTERRUPT, _INTERRUPT:  # nested, the outer handler comes back
        pass
    assert signal.getsignal(signal.SIGINT) is handler


def test_damaged_fit_file_leaves_the_figures_with_a_warning(study, capsys):
    pytest.importorskip("matplotlib")
    folder, lines = study
    (folder / "fits" / "pca_m2_s0.npz").write_bytes(b"\x00garbage")
    (folder / "predictions" / "pca_m4_s0_logreg.npy").write_bytes(b"\x93NUMPY garbage")
    args = ["study", *GRID[:-2], "-q", "-o", str(folder)]  # with figures
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"'{folder}/fits/pca_m2_s0.npz' cannot be read (" in err
    assert "it is left out of the figures" in err
    assert (folder / "results.csv").read_text().splitlines() == lines
    assert (folder / "accuracy_vs_latent.png").exists()
