"""Which representation should I use? Codes of PCA, UMAP and skae models ahead of classifiers.

On MNIST (the 60,000 official training images fit the representation, the 10,000
official test images score), Kuzushiji-MNIST (a fixed stratified 8,000/2,000 split of
its 10,000 official test images: the data mirror has no KMNIST training images) and
one standardised tabular data set (``make_classification``: 20,000 rows, 100
features, 30 informative, 10 classes; 15,000 to fit, 5,000 to score; mean 0, variance
1, so that the ``'auto'`` output activation and loss meet unbounded data), each
representation of ``REPRESENTATIONS`` is fitted with latent sizes 2, 8 and 32 and
three seeds. Its codes of the fitting rows train a logistic regression and an RBF SVC
(both on standardised codes) and a 5-NN classifier (raw codes), scored on the held-out
rows. Pixels are divided by 255. (The deep-autoencoder anchor and the supervised
ceiling are ``bench_anchor.py`` and ``bench_ceiling.py``.)

Every row is appended to its CSV as soon as it is measured. A run recomputes every
row it selects and rewrites the CSV; ``--resume`` keeps the rows already in the CSV
and computes only the missing ones (a cut run, or rows added to a table made by
several commands); the Markdown table, the summaries and the figure are rewritten
from the whole CSV at the end of each run. Representations whose skae parameters the
installed skae lacks are skipped with a printed note.

Outputs (``results/representations/``): ``representations.{csv,md,png}``,
``representations_summary.csv``, and with several seeds
``representations_verdict.csv`` and ``representations_margins.csv`` (``--name``
changes the stem, ``_quick`` is added with ``--quick``).

Run: ``python benchmarks/bench_representations.py [--only mnist,pca,ae-default]
[--latent-sizes 2 8 32] [--seeds 0 1 2] [--svc-train-size N] [--threads 1]
[--machine-note "idle"] [--resume] [--quick]``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from _common import (
    DEEP_ELU_RECIPE,
    EARLIER_DEFAULTS,
    add_common_arguments,
    machine_header,
    start_table,
)
from _representations import CLASSIFIERS, append_row, done_keys, n_parameters, write_markdown
from skae import AutoencoderTransformer, KAutoencoderTransformer, VAETransformer
from skae.datasets import load_split

#: The recipe to copy ("ae-best"): filled in by the lead from this benchmark's rows.
#: Any AutoencoderTransformer parameters; latent_dim and random_state are set per row.
BEST_RECIPE = {
    "hidden_layer_sizes": (1000, 500, 250),
    "activation": "relu",
    "output_activation": "sigmoid",
    "loss": "bce",
    "batch_size": 256,
    "max_epochs": 30,
    "noise": None,
}

#: The defaults of 2026-11-25 (ReLU, batches of 256, 10 epochs of MNIST's 60,000
#: images), which the label-aware rows below were measured on; they stay pinned so
#: that those rows keep describing their models (they were run on MNIST only).
EARLIER_DEFAULT_MNIST = {**EARLIER_DEFAULTS, "max_epochs": 10}

#: Each regulariser at one sensible setting, on top of the skae defaults (whose
#: inputs get Gaussian noise of std 0.2 during training: "ae-no-noise" is the default
#: model without it, and "ae-masking" replaces it).
REGULARISED = {
    "ae-no-noise": {"noise": None},
    "ae-masking": {"noise": "masking", "noise_level": 0.2},
    "ae-l1": {"sparsity": "l1", "sparsity_weight": 1e-3},
    "ae-kl": {
        "latent_activation": "sigmoid",
        "sparsity": "kl",
        "sparsity_target": 0.05,
        "sparsity_weight": 0.1,
    },
    "ae-contractive": {"contractive_weight": 1e-3},
    "ae-dropout": {"dropout": 0.1},
    "ae-weight-decay": {"weight_decay": 1e-5},
    # the defaults anneal the rate on a cosine; the other named schedule:
    "ae-plateau": {"lr_schedule": "plateau"},
}

#: Representation name -> (kind, parameters); kinds are built by ``make_representation``.
REPRESENTATIONS = {
    "pca": ("pca", {}),
    "umap": ("umap", {}),
    "ae-default": ("ae", {}),
    # the previous default, for timing it beside the default in one run (MNIST only:
    # its 10 epochs were 'auto' there)
    "ae-earlier-default": ("ae", EARLIER_DEFAULT_MNIST),
    **{name: ("ae", params) for name, params in REGULARISED.items()},
    "ae-best": ("ae", BEST_RECIPE),
    # the anchor's recipe (below 3.0 squared error per image on MNIST with 30 units):
    # do its codes serve classifiers as well as its reconstructions?
    "ae-deep-elu": ("ae", DEEP_ELU_RECIPE),
    # label-aware codes: the supervised term (a linear head on the code) with every label
    "ae-supervised": ("ae", {**EARLIER_DEFAULT_MNIST, "supervised_weight": 1.0}),
    # ... with masking noise (on the reconstruction's inputs; the head's batch of
    # labelled rows stays clean) and three times the epochs: the recipe for the
    # issue's SVC target
    "ae-supervised-masking": (
        "ae",
        {
            **EARLIER_DEFAULT_MNIST,
            "supervised_weight": 1.0,
            "noise": "masking",
            "noise_level": 0.2,
            "max_epochs": 30,
        },
    ),
    "vae": ("vae", {}),
    "k-ae": ("k-ae", {}),
}

DATASETS = ("mnist", "kmnist", "tabular")
LATENT_SIZES = (2, 8, 32)
SEEDS = (0, 1, 2)
#: k-ensemble size; members' code sizes sum to the latent size (k=2 for size 2)
K_MEMBERS = 3


CODES_KEY = ["dataset", "representation", "latent_dim", "seed", "classifier", "clf_n_train"]


# ---------------------------------------------------------------------- data
def load_data(name, args) -> Bunch:
    """Rows to fit (``X_train``) and to score (``X_test``), and a protocol sentence."""
    if name == "tabular":
        X, y = make_classification(
            n_samples=20000,
            n_features=100,
            n_informative=30,
            n_redundant=20,
            n_classes=10,
            n_clusters_per_class=2,
            class_sep=1.5,
            random_state=0,
        )
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=5000, stratify=y, random_state=0
        )
        scaler = StandardScaler().fit(X_train)
        data = Bunch(
            X_train=scaler.transform(X_train).astype(np.float32),
            X_test=scaler.transform(X_test).astype(np.float32),
            y_train=y_train,
            y_test=y_test,
            protocol="make_classification (20,000 x 100, 30 informative, 20 redundant, "
            "10 classes, class_sep 1.5, seed 0), stratified 15,000/5,000, standardised "
            "on the 15,000",
        )
    elif name == "kmnist":
        data = load_split("kmnist", split="test-only", data_home=args.data_home, random_state=0)
    else:
        data = load_split("mnist", split="official", data_home=args.data_home)
        data.protocol = "MNIST official 60,000 training / 10,000 test images"
    if args.quick:
        data.X_train, data.y_train = data.X_train[:600], data.y_train[:600]
        data.X_test, data.y_test = data.X_test[:300], data.y_test[:300]
    data.bounded = bool(data.X_train.min() >= 0 and data.X_train.max() <= 1)
    return data


# ---------------------------------------------------------------------- models
def accepts(cls, params) -> list[str]:
    """The names in ``params`` that ``cls`` does not take."""
    names = inspect.signature(cls).parameters
    return [p for p in params if p not in names]


def for_data(cls, params, bounded) -> tuple[dict, str]:
    """``params`` adapted to unbounded data: BCE/sigmoid become 'auto' (or MSE/linear)."""
    params = dict(params)
    defaults = {k: v.default for k, v in inspect.signature(cls).parameters.items()}
    loss = params.get("loss", defaults.get("loss"))
    if bounded or loss != "bce":
        return params, ""
    auto = defaults.get("loss") == "auto"
    params["loss"] = "auto" if auto else "mse"
    params["output_activation"] = "auto" if auto else "linear"
    return (
        params,
        f"unbounded data: loss={params['loss']!r}, output {params['output_activation']!r}",
    )


def k_sizes(latent_dim: int) -> list[int]:
    """Members' code sizes: K_MEMBERS parts summing to ``latent_dim`` (fewer if smaller)."""
    k = min(K_MEMBERS, latent_dim)
    return [latent_dim // k + (i < latent_dim % k) for i in range(k)]


def autoencoder_recipe(name, latent_dim, seed):
    """The autoencoder ``name`` of ``REPRESENTATIONS`` as the codes table fits it on
    images in [0, 1] (the user guide's recipes; tests/test_docs_recipes.py keeps them
    equal)."""
    kind, params = REPRESENTATIONS[name]
    if kind != "ae":
        raise ValueError(f"{name!r} is no single autoencoder")
    return AutoencoderTransformer(latent_dim=latent_dim, random_state=seed, **params)


def deep_elu_recipe(seed):
    """``ae-deep-elu`` at 32 units: the guide's recipe for the best unsupervised codes."""
    return autoencoder_recipe("ae-deep-elu", 32, seed)


def supervised_recipe(seed):
    """``ae-supervised`` at 32 units: the guide's recipe for label-aware codes."""
    return autoencoder_recipe("ae-supervised", 32, seed)


def make_representation(name, latent_dim, seed, data, args):
    """(estimator, note) or (None, why it is skipped)."""
    kind, params = REPRESENTATIONS[name]
    if kind == "pca":
        return PCA(n_components=latent_dim, random_state=seed), ""
    if kind == "umap":
        if args.quick and "umap" not in args.only:
            return None, "--quick leaves UMAP out (its first fit compiles for a minute)"
        try:
            import umap
        except ImportError:
            return None, "umap-learn is not installed (pip install skae[compare])"
        return umap.UMAP(n_components=latent_dim, random_state=seed, n_jobs=1), "default settings"
    cls = {"ae": AutoencoderTransformer, "vae": VAETransformer, "k-ae": AutoencoderTransformer}[
        kind
    ]
    missing = accepts(cls, params)
    if missing:
        return None, f"skae lacks {', '.join(missing)}"
    params, note = for_data(cls, params, data.bounded)
    if args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    if kind == "k-ae":
        sizes = k_sizes(latent_dim)
        model = KAutoencoderTransformer(
            cls(**params), n_autoencoders=len(sizes), latent_dim=sizes, random_state=seed
        )
        return model, "; ".join(filter(None, [f"members' codes {sizes}", note]))
    return cls(latent_dim=latent_dim, random_state=seed, **params), note


# ---------------------------------------------------------------------- CSV


# ---------------------------------------------------------------------- part 1
def run_codes(args, path):
    done = done_keys(path, CODES_KEY)
    datasets = [d for d in DATASETS if selected(d, args.only)]
    names = [r for r in REPRESENTATIONS if selected(r, args.only)]
    for dataset in datasets:
        data = load_data(dataset, args)
        order = np.random.default_rng(0).permutation(len(data.X_train))

        def n_clf_for(classifier, n_total):
            # The RBF SVC's fit grows ~quadratically with rows: --svc-train-size caps it.
            n = n_total if args.clf_train_size is None else args.clf_train_size
            if classifier == "RBF SVC" and args.svc_train_size is not None:
                n = min(n, args.svc_train_size)
            return min(n, n_total)

        sizes = {c: n_clf_for(c, len(data.X_train)) for c in args.classifiers}
        print(f"== {dataset}: {data.protocol}; classifiers on {sizes} rows", flush=True)
        for name in names:
            for latent_dim in args.latent_sizes:
                for seed in args.seeds:
                    todo = [
                        c
                        for c in args.classifiers
                        if (dataset, name, str(latent_dim), str(seed), c, str(sizes[c])) not in done
                    ]
                    if not todo:
                        continue
                    model, note = make_representation(name, latent_dim, seed, data, args)
                    if model is None:
                        print(f"-- skipped {name}: {note}", flush=True)
                        break
                    start, cpu = time.perf_counter(), time.process_time()
                    if getattr(model, "supervised_weight", 0) > 0:
                        model.fit(data.X_train, data.y_train)  # the code sees the labels
                    else:
                        model.fit(data.X_train)
                    fit_seconds = time.perf_counter() - start
                    fit_cpu_seconds = time.process_time() - cpu
                    start = time.perf_counter()
                    # UMAP's codes of its own training rows are its embedding_ (what
                    # fit_transform returns); transform would embed them again, 3x its fit.
                    Z_train = getattr(model, "embedding_", None)
                    if Z_train is None:
                        Z_train = model.transform(data.X_train)
                    Z_test = model.transform(data.X_test)
                    transform_seconds = time.perf_counter() - start
                    for classifier in todo:
                        n_clf = sizes[classifier]
                        clf_rows = order[:n_clf]
                        start, cpu = time.perf_counter(), time.process_time()
                        clf = CLASSIFIERS[classifier]().fit(
                            Z_train[clf_rows], data.y_train[clf_rows]
                        )
                        accuracy = clf.score(Z_test, data.y_test)
                        append_row(
                            path,
                            {
                                "dataset": dataset,
                                "representation": name,
                                "latent_dim": latent_dim,
                                "seed": seed,
                                "classifier": classifier,
                                "clf_n_train": n_clf,
                                "accuracy": accuracy,
                                "fit_seconds": fit_seconds,
                                "fit_cpu_seconds": fit_cpu_seconds,
                                "transform_seconds": transform_seconds,
                                "clf_seconds": time.perf_counter() - start,
                                "clf_cpu_seconds": time.process_time() - cpu,
                                "n_parameters": n_parameters(model),
                                "n_fit": len(data.X_train),
                                "n_test": len(data.X_test),
                                "threads": args.threads,
                                "machine_note": args.machine_note,
                                "note": note,
                            },
                            CODES_KEY,
                        )


def selected(name, only) -> bool:
    """``--only`` tokens name data sets and/or representations; unnamed kinds pass."""
    if not only:
        return True
    group = DATASETS if name in DATASETS else tuple(REPRESENTATIONS)
    chosen = [t for t in only if t in group]
    return not chosen or name in chosen


def codes_table(path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    by = ["dataset", "representation", "latent_dim", "classifier"]
    means = [
        c
        for c in (
            "fit_seconds",
            "fit_cpu_seconds",
            "transform_seconds",
            "clf_seconds",
            "clf_cpu_seconds",
        )
        if c in frame
    ]
    table = frame.groupby(by, sort=False).agg(
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        seeds=("seed", "nunique"),
        **{c: (c, "mean") for c in means},
        n_parameters=("n_parameters", "first"),
    )
    table = table.reset_index()
    table["accuracy"] = [
        f"{m:.4f} ± {s:.4f}" if n > 1 else f"{m:.4f}"
        for m, s, n in zip(table["accuracy_mean"], table["accuracy_std"], table["seeds"])
    ]
    return table


def summary_tables(table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The docs' two tables: accuracy per cell, and the default against PCA.

    The first has a row per data set, size and representation and a column per
    classifier ("mean ± std (seeds)") plus the mean fit CPU seconds. The second asks
    the issue's question of each data set, size and classifier: is the default
    autoencoder's mean over the seeds above PCA's by more than its std?
    """
    cells = table.copy()
    cells["cell"] = [
        f"{m:.4f} ± {s:.4f} ({n})" if n > 1 else f"{m:.4f} (1)"
        for m, s, n in zip(cells["accuracy_mean"], cells["accuracy_std"], cells["seeds"])
    ]
    wide = cells.pivot_table(
        index=["dataset", "latent_dim", "representation"],
        columns="classifier",
        values="cell",
        aggfunc="first",
    ).reindex(columns=[c for c in CLASSIFIERS if c in set(cells["classifier"])])
    cpu = cells.groupby(["dataset", "latent_dim", "representation"])["fit_cpu_seconds"].mean()
    wide["fit CPU s"] = cpu.reindex(wide.index).round(0)
    wide = wide.reset_index().rename(columns={"dataset": "data", "latent_dim": "m"})
    rows = []
    for (dataset, m, clf), part in table.groupby(["dataset", "latent_dim", "classifier"]):
        by = part.set_index("representation")
        if not {"ae-default", "pca"} <= set(by.index):
            continue
        ae, pca = by.loc["ae-default"], by.loc["pca"]
        std = 0.0 if pd.isna(ae["accuracy_std"]) else float(ae["accuracy_std"])
        margin = float(ae["accuracy_mean"] - pca["accuracy_mean"])
        rows.append(
            {
                "data": dataset,
                "m": m,
                "classifier": clf,
                "default": round(float(ae["accuracy_mean"]), 4),
                "std": round(std, 4),
                "seeds": int(ae["seeds"]),
                "PCA": round(float(pca["accuracy_mean"]), 4),
                "margin": round(margin, 4),
                "beats PCA": "yes" if margin > std and ae["seeds"] >= 3 else "no",
            }
        )
    return wide, pd.DataFrame(rows)


def margins_over_pca(table, datasets=("mnist", "kmnist")) -> pd.DataFrame:
    """Each representation's accuracy minus PCA's, per image data set and classifier.

    A row per representation and code size measured on every data set in
    ``datasets``; a column per (data set, classifier) and the worst of them (the
    smallest margin: above 0 means ahead of PCA in every cell). Means over the seeds
    measured, whose number is given.
    """
    part = table[table.dataset.isin(datasets)]
    pca = part[part.representation == "pca"].set_index(["dataset", "latent_dim", "classifier"])
    rows = []
    for (name, m), rep in part.groupby(["representation", "latent_dim"], sort=False):
        if name == "pca" or set(rep.dataset) != set(datasets):
            continue
        row = {"representation": name, "m": m, "seeds": int(rep.seeds.min())}
        for r in rep.itertuples():
            key = (r.dataset, m, r.classifier)
            if key in pca.index:
                diff = r.accuracy_mean - pca.loc[key, "accuracy_mean"]
                row[f"{r.dataset} {r.classifier}"] = round(float(diff), 4)
        cells = [v for k, v in row.items() if k not in ("representation", "m", "seeds")]
        row["worst margin"] = min(cells) if cells else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["m", "worst margin"], ascending=[True, False], kind="stable")


def plot_codes(table, path):
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(
        len(datasets),
        len(CLASSIFIERS),
        figsize=(5 * len(CLASSIFIERS), 4 * len(datasets)),
        squeeze=False,
    )
    for row, dataset in zip(axes, datasets):
        for ax, classifier in zip(row, CLASSIFIERS):
            part = table[(table["dataset"] == dataset) & (table["classifier"] == classifier)]
            for name, group in part.groupby("representation", sort=False):
                group = group.sort_values("latent_dim")
                i = list(REPRESENTATIONS).index(name)
                ax.errorbar(
                    group["latent_dim"],
                    group["accuracy_mean"],
                    yerr=group["accuracy_std"].fillna(0),
                    fmt="--" if name == "pca" else "-" + "osD^v<>"[i % 7],
                    color="k" if name == "pca" else plt.cm.tab20(i % 20),
                    capsize=3,
                    label=name,
                    ms=4,
                )
            ax.set(xscale="log", xlabel="latent size", ylabel="test accuracy")
            ax.set_title(f"{dataset}: {classifier}")
            ax.set_xticks(sorted(table["latent_dim"].unique()))
            ax.set_xticklabels(sorted(table["latent_dim"].unique()))
            ax.minorticks_off()
    # every representation once, though no panel need show them all
    legend = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=7, fontsize=8)
    fig.suptitle("Accuracy of classifiers on codes (mean ± std over seeds)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        type=lambda s: [t.strip() for t in s.split(",") if t.strip()],
        default=[],
        help="comma-separated data sets (mnist, kmnist, tabular) and/or representations "
        f"({', '.join(REPRESENTATIONS)})",
    )
    parser.add_argument(
        "--classifiers", nargs="+", choices=tuple(CLASSIFIERS), default=list(CLASSIFIERS)
    )
    parser.add_argument("--latent-sizes", type=int, nargs="+", default=list(LATENT_SIZES))
    parser.add_argument(
        "--svc-train-size",
        type=int,
        default=None,
        help="fit the RBF SVC on this many (fixed, random) training codes; default: as the others",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument(
        "--clf-train-size",
        type=int,
        default=None,
        help="rows (a fixed random subset) that train each classifier; default all "
        "(the RBF SVC takes minutes on 60,000 rows)",
    )
    parser.add_argument(
        "--max-epochs", type=int, default=None, help="override every skae model's max_epochs"
    )
    parser.add_argument(
        "--machine-note",
        default="",
        help="e.g. 'idle' or 'shared with 5 other jobs'; stored in every row and header",
    )
    parser.add_argument(
        "--name",
        default="representations",
        help="stem of the output files (e.g. representations_svc60k)",
    )
    add_common_arguments(
        parser,
        "representations",
        quick="smoke run: 600/300 rows, latent size 8, seed 0, 2 epochs, no UMAP unless "
        "--only names it; _quick outputs",
        resume=True,
    )
    args = parser.parse_args(argv)
    out = args.output_dir
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.quick:
        args.latent_sizes, args.seeds = [8], [0]
        args.max_epochs = 2 if args.max_epochs is None else args.max_epochs
    stem = args.name + ("_quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    note = f"; machine note: {args.machine_note}" if args.machine_note else ""

    path = out / f"{stem}.csv"
    start_table(path, args.resume)
    run_codes(args, path)
    if path.exists():
        table = codes_table(path)
        header = machine_header(
            "MNIST (60,000 official training images fit, 10,000 official test images "
            "score), KMNIST (stratified 8,000/2,000 split of the official test set, "
            "seed 0) and a standardised make_classification table (15,000/5,000); "
            "pixels / 255. Classifiers: LogisticRegression(max_iter=1000) and SVC() on "
            "standardised codes, KNeighborsClassifier(5) on raw codes; accuracy mean ± "
            "std over seeds; seconds are means of wall-clock seconds (fit: the "
            "representation; transform: fitting and scoring rows; clf: fit and score), "
            "cpu_seconds the process's CPU seconds (with one thread, close to an idle "
            "machine's wall-clock time)" + note,
            args.threads,
        )
        shown = table.drop(columns=["accuracy_mean", "accuracy_std"])
        write_markdown(shown, out / f"{stem}.md", header)
        plot_codes(table, out / f"{stem}.png")
        # the docs page reads these two (csv-table): its figures come from the run
        wide, verdict = summary_tables(table)
        wide.to_csv(out / f"{stem}_summary.csv", index=False)
        # "beats PCA" needs the seeds' spread: cells of one seed get no verdict, and
        # a run without several seeds or without PCA writes no verdict or margins
        verdict = verdict[verdict["seeds"] > 1]
        if len(verdict):
            verdict.to_csv(out / f"{stem}_verdict.csv", index=False)
        margins = margins_over_pca(table)
        if len(margins):
            margins.to_csv(out / f"{stem}_margins.csv", index=False)


if __name__ == "__main__":
    main()
