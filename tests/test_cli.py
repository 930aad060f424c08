"""The ``skae`` command line: ``skae study`` / ``python -m skae study``."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from skae.__main__ import main
from skae.study import _runner

ROOT = Path(__file__).resolve().parents[1]
#: what most tests pin rather than take from the defaults: one classifier, no
#: few-labels table, and the fits in this process (where the monkeypatches apply)
PLAIN = ["-c", "logreg", "--few-labels", "0", "--n-jobs", "1"]
QUICK_R = ["study", "--quick", *PLAIN, "-r"]
QUICK = [*QUICK_R, "pca", "ae-relu", "-m", "2", "4"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Run every command in a fresh folder, so the default output folder lands there."""
    monkeypatch.chdir(tmp_path)


def test_study_prints_table_writes_files_and_resumes(tmp_path, capsys):
    assert main(QUICK) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:5] == ["representation", "latent_dim", "n_codes", "classifier", "seed"]
    assert "accuracy" in header and "recon_mse" in header
    table_lines = out.split("\n\n")[0].splitlines()[1:]
    assert [line.split()[:2] for line in table_lines] == [
        ["pca", "2"],
        ["pca", "4"],
        ["ae-relu", "2"],
        ["ae-relu", "4"],
    ]
    assert "ae-relu: hidden_layer_sizes=(128,), activation=relu" in out
    folder = Path("skae-study") / "digits-quick"  # the default output folder
    assert f"wrote results.csv, results.md and 4 figures to {folder}" in out
    assert len(pd.read_csv(tmp_path / folder / "results.csv")) == 4

    # a rerun computes nothing and prints the same table
    assert main([*QUICK, "--no-figures"]) == 0
    again = capsys.readouterr()
    assert "resuming: 4 of 4 rows already in" in again.err
    assert again.out.split("\n\n")[0] == out.split("\n\n")[0]


def test_quiet_prints_only_the_table(capsys):
    assert main([*QUICK_R, "pca", "-m", "2", "-q", "--no-figures"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 2  # header and one row
    assert captured.err == ""
    assert not list(Path("skae-study/digits-quick").glob("*.png"))


def test_verbose_prints_a_line_per_row(capsys):
    assert main([*QUICK_R, "pca", "-m", "2", "4", "-v", "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "pca m=2 logreg seed=0: accuracy" in err and "pca m=4 logreg" in err


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["study", "--dataset", "cifar"], 2, "unknown dataset 'cifar'; choose from digits"),
        (["study", "-r", "pca", "umap"], 2, "unknown representation 'umap'; choose from"),
        (["study", "-c", "forest"], 2, "unknown classifier 'forest'; choose from logreg"),
        (["study", "-m", "2", "100"], 2, "latent size 100 is larger than the 64 features"),
        (["study", "-m", "two"], 2, "latent sizes must be integers, got 'two'"),
        (["study", "--n-train", "many"], 2, "--n-train must be an integer or 'all'"),
        (["study", "--n-jobs", "x"], 2, "argument --n-jobs: invalid int value: 'x'"),
        (["study", "--bogus"], 2, "unrecognized arguments: --bogus"),
        ([], 2, "choose a command: study"),
        (["train"], 2, "invalid choice: 'train'"),
        (["study", "-o", "{blocked}"], 2, "cannot write to output folder"),
        (
            ["study", "--dataset", "kmnist", "--data-home", "{empty}", "--no-download"],
            1,
            "use --dataset kmnist-test (the official test images",
        ),
        (
            ["study", "--dataset", "mnist", "--data-home", "{empty}", "--no-download"],
            1,
            "Run without --no-download to download them",
        ),
        (
            ["study", "--dataset", "mnist", "--data-home", "{file}"],
            1,
            "is a file; point SKAE_DATA or --data-home at a folder",
        ),
        (["study", "--max-epochs", "0"], 2, "--max-epochs must be a positive integer, got 0."),
        (["study", "--lr", "-1"], 2, "--lr must be a positive finite number, got -1.0."),
        (["study", "--n-train", "5000"], 2, "--n-train 5000 is more than the 1,347 images"),
        (["study", "--hidden", "0"], 2, "--hidden must be integers >= 1, got 0."),
    ],
)
def test_user_errors_are_one_line(args, status, message, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "empty").mkdir()
    paths = {
        "{blocked}": str(tmp_path / "a-file" / "study"),
        "{empty}": str(tmp_path / "empty"),
        "{file}": str(tmp_path / "a-file"),
    }
    args = [paths.get(a, a) for a in args]
    assert main(args) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("skae: error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err
    # the command line speaks in options, not in Python arguments
    for python in ("=True", "=False", "None", "data_home", "load_split", "subset="):
        assert python not in captured.err


def test_settings_clash_names_the_option(capsys):
    assert main([*QUICK_R, "pca", "-m", "2", "-q", "--no-figures"]) == 0
    assert main([*QUICK_R, "pca", "-m", "2", "--max-epochs", "5", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "max_epochs: 3 there, 5 here" in err
    assert "use another --output-dir, or --overwrite to replace it" in err
    assert "overwrite=True" not in err


def test_second_study_into_the_same_folder(capsys):
    from skae.study._folder import _StudyFolder

    folder = Path("skae-study/digits-quick")
    folder.mkdir(parents=True)
    with _StudyFolder(folder).locked():
        assert main([*QUICK_R, "pca", "-m", "2", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skae: error: another skae study is writing into 'skae-study/digits")
    assert err.rstrip().endswith("or use another --output-dir.") and err.count("\n") == 1
    assert not (folder / "results.csv").exists()


def test_failed_rows_are_shown_and_the_study_goes_on(monkeypatch, capsys):
    from sklearn.decomposition import PCA

    from skae.exceptions import TrainingDivergedError
    from skae.study import _registry

    class Diverging(PCA):
        def fit(self, X, y=None):
            raise TrainingDivergedError("loss became nan at epoch 1; lr=1000 is too large")

    entry = _registry.Representation("diverging", "", lambda s, m, seed: Diverging(m), ())
    monkeypatch.setitem(_registry.REPRESENTATIONS, "diverging", entry)
    assert main([*QUICK_R, "pca", "diverging", "-m", "2", "--no-figures"]) == 0
    captured = capsys.readouterr()
    rows = captured.out.split("\n\n")[0].splitlines()[1:]
    assert rows[1].split()[:5] == ["diverging", "2", "2", "logreg", "0"]
    assert rows[1].split()[5] == "failed" and rows[0].split()[5] != "failed"
    failure = "diverging m=2 logreg seed=0 failed: loss became nan at epoch 1; --lr 1000 is"
    assert failure in captured.out and "Traceback" not in captured.err
    saved = pd.read_csv("skae-study/digits-quick/results.csv", keep_default_na=False)
    assert saved["error"].tolist() == ["", "loss became nan at epoch 1; lr=1000 is too large"]


def test_help_states_each_default_once():
    from skae.study._cli import build_parser

    study = build_parser()._subparsers._group_actions[0].choices["study"]
    text = " ".join(study.format_help().split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "$SKAE_DATA) (default" not in text and text.count("$SKAE_DATA") == 1
    assert "code sizes (default: 2 8 16)" in text and "'2'" not in text
    assert "(default: pca ae-default)" in text
    compact = "".join(text.split())  # argparse may wrap lines after a hyphen
    assert "(default:100ondigits,20on28x28images,3with--quick;ae-default:itsown" in compact
    assert "applytoae-defaultonlywhengiven" in compact
    assert "(default: all cores, or 1 with --quick" in text
    assert "0, the default: no such table" in text
    assert "MNIST subsets" not in text and "digits keeps all its images" in text


def test_defaults_compare_pca_with_skaes_default_autoencoder():
    """``skae study`` alone: PCA and skae's default autoencoder, three classifiers."""
    from skae.study._cli import build_parser

    args = build_parser().parse_args(["study"])
    assert args.representations == ["pca", "ae-default"]
    assert args.classifiers == ["logreg", "svc", "knn"]
    assert args.latent_sizes == [2, 8, 16]
    assert args.few_labels == 0 and args.threads == 1
    # no setting of the neural representations is given: ae-default keeps its own
    given = [args.max_epochs, args.hidden, args.optimizer, args.lr, args.batch_size]
    assert given == [None] * 5


def test_fits_run_on_all_cores_but_for_quick_runs(monkeypatch, capsys):
    from skae.study import StudyError, _cli

    seen = []

    def recording(**kwargs):
        seen.append(kwargs["n_jobs"])
        raise StudyError("stop here")

    monkeypatch.setattr(_cli, "run_study", recording)
    for argv in (["study"], ["study", "--quick"], ["study", "--quick", "--n-jobs", "2"]):
        assert main(argv) == 2
    assert seen == [-1, 1, 2]


def test_few_labels_table_is_printed_and_saved(capsys):
    argv = [*QUICK_R, "pca", "-m", "2", "--few-labels", "3", "--no-figures"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    title = "few labels: 3 per class (30 of 1,347 training images), the others unlabelled:"
    table = out.split(title)[1].split("\n\n")[0].strip().splitlines()
    assert table[0].split()[:5] == ["model", "params", "trained_on", "n_labelled", "n_unlabelled"]
    assert [line.split()[0] for line in table[1:]] == ["encoder-classifier"] * 2 + ["svc"]
    assert "few labels, best first (test accuracy, mean over seeds):" in out
    assert "wrote results.csv, few_labels.csv, results.md to" in out
    saved = pd.read_csv("skae-study/digits-quick/few_labels.csv")
    assert saved["n_labelled"].tolist() == [30, 30, 30]
    assert saved["n_unlabelled"].tolist() == [1317, 0, 0]
    assert "Few labels: 3 per class" in Path("skae-study/digits-quick/results.md").read_text()


def test_negative_few_labels_is_refused(capsys):
    assert main(["study", "--few-labels", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--few-labels must be 0 (no few-labels table) or a positive integer, got -1" in err


def test_summary_says_which_representation_won(capsys):
    assert main([*QUICK, "--no-figures", "-c", "logreg", "svc"]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv("skae-study/digits-quick/results.csv")
    lines = out.split("best representation per latent size")[1].splitlines()[1:5]
    for line, ((classifier, m), rows) in zip(lines, table.groupby(["classifier", "latent_dim"])):
        rows = rows.sort_values("accuracy", ascending=False)
        best, second = rows.iloc[0], rows.iloc[1]
        margin = best["accuracy"] - second["accuracy"]
        assert line.split() == [
            classifier,
            f"m={m}",
            best["representation"],
            f"{best['accuracy']:.4f}",
            f"+{margin:.4f}",
            "over",
            second["representation"],
        ]
    wins = table.loc[table.groupby(["classifier", "latent_dim"])["accuracy"].idxmax()]
    counts = wins["representation"].value_counts()
    won = out.split("cells won: ")[1].splitlines()[0]
    assert won.endswith("(of 4)")
    assert f"pca {counts.get('pca', 0)}" in won and f"ae-relu {counts.get('ae-relu', 0)}" in won


def test_interrupt_exits_130_and_keeps_rows(monkeypatch, capsys):
    append = _runner._StudyFolder.append
    rows = []

    def interrupting(self, row):
        if len(rows) == 3:
            raise KeyboardInterrupt
        rows.append(row)
        append(self, row)

    monkeypatch.setattr(_runner._StudyFolder, "append", interrupting)
    assert main(QUICK) == 130
    err = capsys.readouterr().err
    assert "skae: interrupted: kept 3 of 4 rows in 'skae-study/digits-quick'" in err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    assert len(pd.read_csv("skae-study/digits-quick/results.csv")) == 3


def test_list(capsys):
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("kmnist-test", "pca", "ae-relu", "ae-elu", "logreg", "mlp-sigmoid"):
        assert f"  {name} " in out


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("skae ")
    with pytest.raises(SystemExit) as info:
        main(["study", "--help"])
    assert info.value.code == 0
    assert "--latent-sizes" in capsys.readouterr().out


def _python_m_skae(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "skae", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_python_m_skae_study(tmp_path):
    done = _python_m_skae(*QUICK_R, "pca", "-m", "2", "4", "-q", "--no-figures", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["representation", "latent_dim"]
    assert [line.split()[:2] for line in lines[1:]] == [["pca", "2"], ["pca", "4"]]
    assert (tmp_path / "skae-study" / "digits-quick" / "results.md").exists()


#: a ``skae`` console script whose import of scikit-learn hangs until Ctrl-C: the
#: imports of the first seconds of a real run, made slow enough to interrupt
_SLOW_IMPORTS = """
import importlib.abc, signal, sys, time
from pathlib import Path

# A shell starts background jobs with SIGINT ignored, and Python then raises no
# KeyboardInterrupt; a user's terminal delivers Ctrl-C, so restore Python's handler.
signal.signal(signal.SIGINT, signal.default_int_handler)

marker = Path(sys.argv[1])

class SlowImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn":
            marker.write_text("importing")
            time.sleep(120)
        return None

sys.meta_path.insert(0, SlowImport())
sys.argv = ["skae", "study", "--quick"]
from skae.__main__ import main  # what the installed console script does
sys.exit(main())
"""


def test_ctrl_c_while_importing_exits_130(tmp_path):
    import signal
    import time

    marker = tmp_path / "importing"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_IMPORTS, str(marker)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.communicate(timeout=60)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert (process.returncode, err, out) == (130, "skae: interrupted.\n", "")


def test_import_skae_is_light():
    """``import skae`` (and the console script's import) loads neither torch nor sklearn."""
    code = (
        "import sys; import skae; from skae.__main__ import main; "
        "print(sorted({'torch', 'sklearn', 'skorch'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[]", done.stderr


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


def test_readme_main_command_installs_what_the_figures_need():
    """README command 1 runs ``skae study``, which draws figures: it installs matplotlib."""
    import re

    import tomllib

    commands = _readme_commands()
    assert len(commands) == 2 and commands[0].endswith("&& skae study")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    match = re.search(r'-e "?\.(?:\[([\w,-]+)\])?"?', commands[0])
    extras = match.group(1).split(",") if match.group(1) else []
    installed = list(project["dependencies"])
    for extra in extras:
        installed += project["optional-dependencies"][extra]
    assert any(req.startswith("matplotlib") for req in installed), commands[0]


def test_license_is_shipped():
    import tomllib

    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "2026, skae developers" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "BSD-3-Clause" and project["license-files"] == ["LICENSE"]


@pytest.mark.parametrize("quiet", [False, True])
def test_damaged_results_file_is_one_line(quiet, capsys):
    args = [*QUICK_R, "pca", "-m", "2", "4", "--no-figures"]
    assert main(args) == 0
    path = Path("skae-study/digits-quick/results.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1][:30], lines[2]]) + "\n")  # a garbled row
    capsys.readouterr()
    assert main([*args, *(["-q"] if quiet else [])]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if "dropped" in line]
    prefix = "skae: warning: " if quiet else "skae study: "
    assert notes == [
        f"{prefix}'{path}': dropped 1 damaged line (line 2; 5 fields where the header has "
        "18), kept 1 intact row; the damaged file is saved as results.csv.damaged; dropped "
        "rows are computed again"
    ]
    assert "Traceback" not in captured.err
    assert len(pd.read_csv(path)) == 2
