"""Few labels, many images: semi-supervised skae pipelines against scikit-learn's.

Every method sees all training images and the labels of a balanced subset of them
(``n_labels / 10`` per class, three draws), the others marked ``-1`` as in
:mod:`sklearn.semi_supervised`; "all labels" is one draw with every label. Methods:

* ``svc_labelled``: RBF SVC on the labelled raw pixels only (the floor);
* ``pca_svc``: PCA (50 components, fitted on every image) + RBF SVC on the labelled;
* ``label_spreading``, ``self_training``: scikit-learn's ``LabelSpreading`` (kNN
  kernel) and ``SelfTrainingClassifier(SVC)`` on the raw pixels;
* ``ae_svc``, ``ae_self_training``, ``ae_label_spreading``: an unsupervised skae
  autoencoder, the representations guide's recipe (784-1000-500-250-32, ELU, sigmoid
  output, binary cross-entropy, batches of 64, 30 epochs), fitted once per data set
  on every image, then an SVC on the labelled codes, self-training or label spreading
  on the codes. Their fit time includes the autoencoder's;
* ``supervised_ae_svc``, ``supervised_ae_label_spreading``: the same autoencoder with
  the supervised term (``supervised_weight``, a linear head on the code trained on
  the labelled rows at every step; with ``--consistency-weight``, off by default,
  also its consistency term: virtual adversarial training of that head on every
  row), trained on masked inputs (``--supervised-noise``: half of the pixels set to
  0, for the reconstruction and the supervised term alike), fitted per draw, then an
  SVC or label spreading on its codes; skipped when skae has no
  ``supervised_weight`` yet;
* ``itl_argmax``, ``itl_mlp``: :class:`skae.ITLAutoencoder` with a one-hot class part
  and Gaussian style coordinates (``OneHotPrior(latent_dim, n_classes=10)``, the
  adversarial autoencoder's layout) and the Cauchy-Schwarz divergence, labelled rows
  pulled to their class's vertex, unlabelled rows to the whole prior, plus the shared
  supervised term (``--itl-supervised-weight``: a linear head on the code trained on
  the labelled rows) and its consistency term (``--itl-consistency-weight``: virtual
  adversarial training of that head on every row); with at most 10 labels per class
  (``--itl-few-*``) a lighter supervised term (weight 1, not 3) on masked inputs
  (half of the pixels set to 0); the argmax of the code's class part, or an MLP on
  the labelled codes;
* ``encoder_classifier``: :class:`skae.EncoderClassifier` whose unfitted ``encoder``
  is the shared autoencoder (pre-trained on every row, the same fit as ``ae_*``'s,
  reused; ``--ec-encoder itl``: the ITL autoencoder, pre-trained with the labels it
  has), fine-tuned on the labelled rows with virtual adversarial training and entropy
  minimisation on every row (``--ec-*``).

The supervised-term autoencoder has the shared autoencoder's network and epochs
(``--hidden``, ``--activation``, ``--batch-size``, ``--latent-dim``, ``--max-epochs``);
the ITL autoencoder keeps a smaller one (``--itl-*``: 784-512-256-16, ReLU, batches
of 128, 20 epochs), on which its argmax does far better; EncoderClassifier's
fine-tuning takes as many epochs.

Protocol (offline): MNIST uses the first ``--n-train`` training images (unlabelled
pool and labels) and the official 10,000 test images; KMNIST the fixed stratified
8,000/2,000 split of its 10,000 official test images (random_state=0), as the ITL
benchmark. Writes ``results/semi_supervised/semi_supervised.{csv,md}`` (one row per data set, number
of labels, method and draw; ``test_error`` a fraction) and
``results/semi_supervised/semi_supervised.png`` (test error against labels).

Run: ``python benchmarks/bench_semi_supervised.py [--quick] [--datasets mnist]``.
"""

from __future__ import annotations

import inspect
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from _common import machine_header, plain_log_axes, update_table
from _few_labels import (
    METHODS,
    Clock,
    build_parser,
    itl_params,
    label_spreading,
    labelled_subset,
    load,
    self_training,
    svc,
)
from skae import AutoencoderTransformer, EncoderClassifier, ITLAutoencoder

#: published MNIST test errors (%) with 100, 1,000 and all labels (60,000 images)
PUBLISHED = {
    "M1+M2 VAE (Kingma et al. 2014)": {100: "3.33 ± 0.14", 1000: "2.40"},
    "Adversarial autoencoder (Makhzani et al. 2015)": {
        100: "1.90 ± 0.10",
        1000: "1.60",
        "all": "0.85",
    },
    "Ladder network (Rasmus et al. 2015)": {100: "1.06"},
}


def has_supervised_term() -> bool:
    """Whether this skae's autoencoders take ``supervised_weight`` (added separately)."""
    return "supervised_weight" in inspect.signature(AutoencoderTransformer).parameters


def autoencoder(args, seed, **params):
    return AutoencoderTransformer(
        latent_dim=args.latent_dim,
        hidden_layer_sizes=tuple(args.hidden),
        activation=args.activation,
        output_activation="sigmoid",
        loss="bce",
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        random_state=seed,
        # the committed rows' models train on clean inputs unless params say otherwise
        **{"noise": None, **params},
    )


class Context:
    """One data set and one labelled draw; caches what several methods share."""

    def __init__(self, data, lab, args, shared):
        self.data, self.lab, self.args, self.shared = data, lab, args, shared
        self.y_partial = np.full(len(data.y_train), -1)
        self.y_partial[lab] = data.y_train[lab]
        self.seed = int(args.seed)
        self._cache = {}

    def cached(self, key, fit):
        """``fit()``'s result and its :class:`Clock` reading, computed once per draw."""
        if key not in self._cache:
            clock = Clock()
            result = fit()
            self._cache[key] = (result, clock.stop())
        return self._cache[key]

    def shared_codes(self):
        """Codes of the unsupervised autoencoder, fitted once per data set (no labels)."""
        if "ae" not in self.shared:
            clock = Clock()
            ae = autoencoder(self.args, self.seed).fit(self.data.X_train)
            seconds = clock.stop()
            codes = (ae.transform(self.data.X_train), ae.transform(self.data.X_test))
            self.shared["ae"] = (ae, codes, seconds)
        return self.shared["ae"]


def run_method(method, ctx):
    """Test predictions and fit seconds (including shared parts) of ``method``."""
    d, lab, yp, args = ctx.data, ctx.lab, ctx.y_partial, ctx.args
    start = Clock()
    extra = np.zeros(2)
    if method == "svc_labelled":
        pred = svc().fit(d.X_train[lab], d.y_train[lab]).predict(d.X_test)
    elif method == "pca_svc":
        pca = PCA(50, random_state=0).fit(d.X_train)
        clf = svc().fit(pca.transform(d.X_train[lab]), d.y_train[lab])
        pred = clf.predict(pca.transform(d.X_test))
    elif method == "label_spreading":
        pred = label_spreading().fit(d.X_train, yp).predict(d.X_test)
    elif method == "self_training":
        pred = self_training().fit(d.X_train, yp).predict(d.X_test)
    elif method.startswith("ae_"):
        _, (Z_train, Z_test), extra = ctx.shared_codes()
        start = Clock()
        if method == "ae_svc":
            pred = svc().fit(Z_train[lab], d.y_train[lab]).predict(Z_test)
        elif method == "ae_self_training":
            pred = self_training().fit(Z_train, yp).predict(Z_test)
        else:
            pred = label_spreading().fit(Z_train, yp).predict(Z_test)
    elif method.startswith("supervised_ae_"):
        if not has_supervised_term():
            return None
        (Z_train, Z_test), extra = ctx.cached("supervised_ae", lambda: fit_supervised_ae(ctx))
        start = Clock()
        if method == "supervised_ae_svc":
            pred = svc().fit(Z_train[lab], d.y_train[lab]).predict(Z_test)
        else:
            pred = label_spreading().fit(Z_train, yp).predict(Z_test)
    elif method == "encoder_classifier":
        # The autoencoder's fit is what EncoderClassifier(encoder=<unfitted autoencoder>)
        # would do first (a clone with the same seed, on X and the partial labels):
        # reused, and timed.
        if args.ec_encoder == "shared":
            encoder, _, extra = ctx.shared_codes()
        else:
            (encoder, _, _), extra = ctx.cached("itl", lambda: fit_itl(ctx))
        start = Clock()
        clf = EncoderClassifier(
            encoder=encoder,
            reconstruction_weight=args.ec_reconstruction_weight,
            consistency_weight=args.ec_consistency_weight,
            entropy_weight=args.ec_entropy_weight,
            # Dropout only beside the reconstruction (the committed rows before the
            # consistency term): virtual adversarial training smooths on its own.
            dropout=0.2 if args.ec_consistency_weight == 0 else 0.0,
            lr=1e-3,
            batch_size=128,
            # Each epoch is a pass over every row, labelled or not.
            max_epochs=args.finetune_epochs or args.itl_epochs,
            random_state=ctx.seed,
        )
        pred = clf.fit(d.X_train, yp).predict(d.X_test)
    elif method.startswith("itl_"):
        (itl, Z_train, Z_test), extra = ctx.cached("itl", lambda: fit_itl(ctx))
        start = Clock()
        if method == "itl_argmax":
            n_classes = itl.prior_.n_classes
            pred = itl.classes_[Z_test[:, :n_classes].argmax(axis=1)]
        else:
            mlp = MLPClassifier((100,), max_iter=500, random_state=ctx.seed)
            pred = mlp.fit(Z_train[lab], d.y_train[lab]).predict(Z_test)
    else:
        raise ValueError(f"unknown method {method!r}")
    return pred, start.stop() + extra


def fit_supervised_ae(ctx):
    noise = None if ctx.args.supervised_noise == "none" else ctx.args.supervised_noise
    ae = autoencoder(
        ctx.args,
        ctx.seed,
        supervised_weight=ctx.args.supervised_weight,
        consistency_weight=ctx.args.consistency_weight,
        noise=noise,
        noise_level=ctx.args.supervised_noise_level,
    )
    ae.fit(ctx.data.X_train, ctx.y_partial)
    return ae.transform(ctx.data.X_train), ae.transform(ctx.data.X_test)


def fit_itl(ctx):
    n_classes = len(np.unique(ctx.data.y_train))
    params = itl_params(ctx.args, ctx.seed, len(ctx.lab), n_classes)
    itl = ITLAutoencoder(**params).fit(ctx.data.X_train, ctx.y_partial)
    return itl, itl.transform(ctx.data.X_train), itl.transform(ctx.data.X_test)


def run(args):
    rows = []
    frame = pd.DataFrame()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        data = load(name, args)
        shared = {}
        for n_labels in args.n_labels:
            n = len(data.y_train) if n_labels == "all" else int(n_labels)
            first = 0 if n >= len(data.y_train) else args.first_draw
            draws = range(first, first + (1 if n >= len(data.y_train) else args.draws))
            for draw in draws:
                ctx = Context(data, labelled_subset(data.y_train, n, draw), args, shared)
                for method in args.methods:
                    with warnings.catch_warnings():
                        # SelfTraining warns when every row is labelled; that is the point.
                        warnings.simplefilter("ignore", UserWarning)
                        result = run_method(method, ctx)
                    if result is None:
                        print(f"skipped {method}: skae has no supervised_weight yet")
                        continue
                    pred, (seconds, cpu_seconds) = result
                    assert not np.any(pred == -1), f"{method} predicted the unlabelled marker"
                    error = float(np.mean(pred != data.y_test))
                    rows.append(
                        dict(
                            dataset=name,
                            n_labels=n,
                            all_labels=n >= len(data.y_train),
                            method=method,
                            draw=draw,
                            test_error=error,
                            fit_seconds=round(seconds, 2),
                            fit_cpu_seconds=round(cpu_seconds, 2),
                            n_train=len(data.y_train),
                            n_test=len(data.y_test),
                        )
                    )
                    print(
                        f"{name} n_labels={n} draw={draw} {method}: {error:.4f} "
                        f"({seconds:.1f} s, {cpu_seconds:.1f} s CPU)",
                        flush=True,
                    )
                # Saved after each draw: a long run keeps what it measured.
                frame = save(rows, args.output_dir / f"{args.output}.csv", args.update)
    return frame


#: the columns that name one measurement
ROW_KEY = ["dataset", "n_labels", "method", "draw"]


def save(rows, path, update):
    """Write ``rows``; with ``update``, into the CSV's other rows (replacing the same
    measurements: ``_common.update_table``)."""
    if not update:
        new = pd.DataFrame(rows)
        new.to_csv(path, index=False)
        return new
    return update_table(path, rows, ROW_KEY)


def summary(frame):
    """Mean ± std of the test error (%) and mean fit seconds per method and setting."""
    grouped = frame.groupby(["method", "dataset", "n_labels"], sort=False)
    stats = grouped.agg(
        mean=("test_error", "mean"),
        std=("test_error", "std"),
        seconds=("fit_cpu_seconds", "mean"),
        draws=("draw", "count"),
        n_train=("n_train", "max"),
    ).reset_index()
    # Columns in reading order: data set, then number of labels.
    stats = stats.sort_values(["dataset", "n_labels"], key=_dataset_order, kind="stable")
    # A setting whose run was cut short shows how many draws it averages.
    planned = stats.groupby(["dataset", "n_labels"]).draws.transform("max")
    stats["partial"] = stats.draws < planned
    cells = {}
    for r in stats.itertuples():
        spread = f" ± {100 * r.std:.2f}" if r.draws > 1 else ""
        spread += f" [{r.draws} draw{'s' * (r.draws > 1)}]" if r.partial else ""
        labels = f"all {r.n_labels:,}" if r.n_labels >= r.n_train else f"{r.n_labels:,}"
        cells.setdefault(r.method, {})[f"{r.dataset.upper()}, {labels} labels"] = (
            f"{100 * r.mean:.2f}{spread} ({r.seconds:.0f} s)"
        )
    table = pd.DataFrame.from_dict(cells, orient="index")
    table = table.loc[[m for m in METHODS if m in table.index]].fillna("not run")
    table.index.name = "method"
    return table.reset_index()


#: the baselines every skae method must beat on the same draw
BASELINES = ("svc_labelled", "pca_svc")


def is_skae(method) -> bool:
    """Whether ``method`` is a skae pipeline (not scikit-learn alone)."""
    return method.startswith(("ae_", "supervised", "encoder", "itl"))


def verdict(frame):
    """Per skae method and setting: on how many draws it beats both baselines.

    A draw counts when the method's test error is below the better baseline's on that
    same draw; ``margin`` is the mean of (better baseline - method) in points.
    """
    skae_methods = [m for m in METHODS if is_skae(m)]
    rows = []
    for (dataset, n_labels), part in frame.groupby(["dataset", "n_labels"], sort=False):
        errors = part.pivot_table(index="draw", columns="method", values="test_error")
        if not set(BASELINES) <= set(errors.columns):
            continue
        best_baseline = errors[list(BASELINES)].min(axis=1)
        for method in [m for m in skae_methods if m in errors.columns]:
            diff = (best_baseline - errors[method]).dropna()
            rows.append(
                {
                    "dataset": dataset,
                    "labels": f"all {n_labels:,}" if part.all_labels.any() else f"{n_labels:,}",
                    "method": method,
                    "draws won": f"{int((diff > 0).sum())} of {len(diff)}",
                    "margin (points)": round(100 * float(diff.mean()), 2),
                }
            )
    table = pd.DataFrame(
        rows, columns=["dataset", "labels", "method", "draws won", "margin (points)"]
    )
    return table.sort_values("dataset", key=_dataset_order, kind="stable")


def _dataset_order(column):
    return column.map({"mnist": 0, "kmnist": 1}) if column.name == "dataset" else column


def published_table(frame):
    mnist = frame[frame.dataset == "mnist"]
    if mnist.empty:
        return ""
    n_all = int(mnist.n_train.max())
    lines = [
        "| published (MNIST, 60,000 images) | 100 labels | 1,000 labels | all labels |",
        "|:--|--:|--:|--:|",
    ]
    for name, figures in PUBLISHED.items():
        cells = [figures.get(k, "–") for k in (100, 1000, "all")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return (
        "Published MNIST test errors (%), for comparison (these use all 60,000 training "
        f"images; the runs above use {n_all:,}):\n\n" + "\n".join(lines)
    )


def plot(frame, path):
    from matplotlib.ticker import FuncFormatter

    datasets = list(dict.fromkeys(frame.dataset))
    # Twelve methods: one fixed, distinct colour each, the same in every panel.
    palette = [plt.cm.tab20(k) for k in (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3)]
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.8), squeeze=False)
    for ax, name in zip(axes[0], datasets, strict=True):
        sub = frame[frame.dataset == name]
        for method in [m for m in METHODS if m in set(sub.method)]:
            g = sub[sub.method == method].groupby("n_labels").test_error
            mean, std = 100 * g.mean(), 100 * g.std().fillna(0)
            style = "-" if is_skae(method) else "--"
            color = palette[METHODS.index(method)]
            ax.errorbar(
                mean.index, mean, yerr=std, marker="o", ms=3, ls=style, color=color, label=method
            )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="labelled training images",
            ylabel="test error (%)",
            title=name.upper(),
        )
        plain_log_axes(ax)
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = build_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    torch.set_num_threads(args.threads)
    # scikit-learn's neighbour searches and BLAS too: extra threads only contend here.
    threadpool_limits(args.threads)
    if args.quick:
        args.n_train, args.max_epochs, args.itl_epochs, args.draws = 1000, 2, 2, 1
        args.n_labels = ["100"]
        args.output += "_quick"

    if args.from_csv:
        frame = pd.read_csv(args.output_dir / f"{args.output}.csv")
        args.n_train = int(frame.loc[frame.dataset == "mnist", "n_train"].max())
    else:
        frame = run(args)
    header = machine_header(
        f"MNIST: first {args.n_train:,} training images, official test images; KMNIST: "
        "stratified 8,000/2,000 split of the official test images (random_state=0). "
        f"Balanced labelled subsets, {args.draws} draws (one with all labels); "
        f"shared and supervised-term autoencoders 784-{'-'.join(map(str, args.hidden))}-"
        f"{args.latent_dim} ({args.activation}, batches of {args.batch_size}, "
        f"{args.max_epochs} epochs), ITL autoencoder 784-{'-'.join(map(str, args.itl_hidden))}"
        f"-{args.itl_latent_dim} ({args.itl_activation}, batches of {args.itl_batch_size}, "
        f"{args.itl_epochs} epochs, supervised weight {args.itl_supervised_weight}, "
        f"consistency weight {args.itl_consistency_weight}"
        + (
            f"; with at most {args.itl_few_labels_per_class} labels per class supervised "
            f"weight {args.itl_few_supervised_weight}, masking noise "
            f"{args.itl_few_noise_level}"
            if args.itl_few_labels_per_class
            else ""
        )
        + "), EncoderClassifier from the "
        f"{'shared' if args.ec_encoder == 'shared' else 'ITL'} autoencoder "
        f"({args.finetune_epochs or args.itl_epochs} epochs, consistency weight "
        f"{args.ec_consistency_weight}, entropy weight {args.ec_entropy_weight}, "
        f"reconstruction weight {args.ec_reconstruction_weight}), "
        f"supervised-term autoencoder's weight {args.supervised_weight} (consistency "
        f"weight {args.consistency_weight}, noise {args.supervised_noise}"
        f"{'' if args.supervised_noise == 'none' else f' {args.supervised_noise_level}'}"
        "), seed "
        f"{args.seed}. Cells: test error (%) mean ± std over draws (mean fit CPU seconds, "
        "the shared autoencoder's included; the machine was shared, so wall seconds, in "
        "the CSV, are longer)",
        args.threads,
    )
    table = summary(frame)
    # The docs page reads these (csv-tables): their figures come from the run.
    table.to_csv(args.output_dir / f"{args.output}_summary.csv", index=False)
    wins = verdict(frame)
    wins.to_csv(args.output_dir / f"{args.output}_verdict.csv", index=False)
    markdown = table.to_markdown(index=False)
    text = (
        f"{header}\n\n{markdown}\n\n{published_table(frame)}\n\n"
        "Does each skae method beat both baselines (SVC on the labelled pixels, PCA + "
        "SVC) on the same draw?\n\n" + wins.to_markdown(index=False) + "\n"
    )
    (args.output_dir / f"{args.output}.md").write_text(text)
    print(text)
    plot(frame, args.output_dir / f"{args.output}.png")


if __name__ == "__main__":
    main()
