"""KAutoencoderTransformer on MNIST: k autoencoders' codes, concatenated, as features.

For k in {1, 2, 3, 5} and a per-member code size in {4, 8, 16}, one
``KAutoencoderTransformer`` is fitted on the first ``--n-train`` MNIST training images
(no bootstrap, one seed per member from ``random_state``). Its members are, with
``--members study``, the study's 784-256-code ReLU autoencoders (sigmoid output,
``--epochs`` epochs, every other parameter at skae's default: Adam lr 1e-3, batch 256,
cosine schedule, binary cross-entropy), or with ``--members default``,
``AutoencoderTransformer()`` as a user gets it (784-1024-256-code, ``max_epochs='auto'``;
written to ``results/k_autoencoder/k_autoencoder_default.*``). The header states the members' loss,
output and epochs as fitted. Its codes
of those images train, after standardisation, a logistic regression and an RBF SVC
(scikit-learn defaults); both are scored on the official 10,000 test images. PCA with
each total code size gives a reference on the same protocol.

Columns: representation (``k-AE`` or ``PCA``), k, member latent size, total code size,
classifier, test accuracy, fit seconds of the representation (members trained one
after another, ``n_jobs=1``), classifier seconds (fit and predict), reconstruction MSE
per pixel on the test images (the ensemble's averaged reconstruction), and the members'
own mean reconstruction MSE. Writes ``results/k_autoencoder/k_autoencoder.{csv,md}`` and
``results/k_autoencoder/k_autoencoder.png``.

Run: ``python benchmarks/bench_k_autoencoder.py [--n-train 10000] [--epochs 20]
[--threads 2] [--members default --ks 1 3 --latents 8 16] [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from _common import (
    EARLIER_DEFAULTS,
    add_common_arguments,
    machine_header,
    plain_log_axes,
    save_table,
)
from skae import AutoencoderTransformer, KAutoencoderTransformer
from skae.datasets import load_split

KS = (1, 2, 3, 5)
LATENTS = (4, 8, 16)
HIDDEN = (256,)
CLASSIFIERS = {
    "logistic regression": lambda: LogisticRegression(max_iter=1000),
    "SVC (RBF)": SVC,
}


def classify(Z_train, y_train, Z_test, y_test):
    """Test accuracy and seconds of each classifier on standardised codes."""
    for name, make in CLASSIFIERS.items():
        start = time.perf_counter()
        clf = make_pipeline(StandardScaler(), make()).fit(Z_train, y_train)
        accuracy = clf.score(Z_test, y_test)
        yield name, accuracy, time.perf_counter() - start


def member_template(members, epochs):
    """The unfitted member: the study's small autoencoder, or skae's defaults."""
    if members == "default":
        return AutoencoderTransformer()
    return AutoencoderTransformer(
        hidden_layer_sizes=HIDDEN,
        output_activation="sigmoid",
        max_epochs=epochs,
        **EARLIER_DEFAULTS,
    )


def describe_member(member):
    """The fitted member's architecture and the choices its ``'auto'`` values made."""
    sizes = "-".join(map(str, (member.n_features_in_, *member.hidden_layer_sizes)))
    return (
        f"{sizes}-code {member.activation} autoencoders, {member.output_activation_} "
        f"output, {member.loss_} loss, {member.optimizer} lr {member.lr:g}, batch "
        f"{member.batch_size}, {member.max_epochs_} epochs, {member.lr_schedule} schedule, "
        + (
            "no input noise"
            if member.noise is None
            else f"{member.noise} input noise {member.noise_level:g}"
        )
    )


def run_ensembles(split, ks, latents, template, seed, rows):
    """Fit each ensemble and score its codes; returns the last fitted member."""
    member = None
    for latent in latents:
        for k in ks:
            kae = KAutoencoderTransformer(
                template, n_autoencoders=k, latent_dim=latent, random_state=seed
            )
            start = time.perf_counter()
            kae.fit(split.X_train)
            member = kae.estimators_[0]
            fit_seconds = time.perf_counter() - start
            Z_train, Z_test = kae.transform(split.X_train), kae.transform(split.X_test)
            recon = -kae.score(split.X_test)
            member_recon = np.mean([-m.score(split.X_test) for m in kae.estimators_])
            for name, accuracy, clf_seconds in classify(
                Z_train, split.y_train, Z_test, split.y_test
            ):
                rows.append(
                    {
                        "representation": "k-AE",
                        "k": k,
                        "member_latent": latent,
                        "code_size": Z_train.shape[1],
                        "classifier": name,
                        "test_accuracy": accuracy,
                        "fit_seconds": fit_seconds,
                        "classifier_seconds": clf_seconds,
                        "recon_mse": recon,
                        "member_recon_mse": member_recon,
                    }
                )
                print(rows[-1], flush=True)
    return member


def run_pca(split, sizes, rows):
    for size in sizes:
        pca = PCA(n_components=size, random_state=0)
        start = time.perf_counter()
        pca.fit(split.X_train)
        fit_seconds = time.perf_counter() - start
        Z_train, Z_test = pca.transform(split.X_train), pca.transform(split.X_test)
        recon = float(np.mean((split.X_test - pca.inverse_transform(Z_test)) ** 2))
        for name, accuracy, clf_seconds in classify(Z_train, split.y_train, Z_test, split.y_test):
            rows.append(
                {
                    "representation": "PCA",
                    "k": np.nan,
                    "member_latent": np.nan,
                    "code_size": size,
                    "classifier": name,
                    "test_accuracy": accuracy,
                    "fit_seconds": fit_seconds,
                    "classifier_seconds": clf_seconds,
                    "recon_mse": recon,
                    "member_recon_mse": np.nan,
                }
            )
            print(rows[-1], flush=True)


#: x ticks of the figure (total code sizes)
CODE_TICKS = (4, 8, 16, 32, 64)


def plot(table, path):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ensembles = table[table["representation"] == "k-AE"]
    pca = table[table["representation"] == "PCA"].sort_values("code_size")
    for ax, classifier in zip(axes, CLASSIFIERS):
        for k, group in ensembles[ensembles["classifier"] == classifier].groupby("k"):
            group = group.sort_values("code_size")
            ax.plot(group["code_size"], group["test_accuracy"], "o-", label=f"k={int(k)}")
        ref = pca[pca["classifier"] == classifier]
        ax.plot(ref["code_size"], ref["test_accuracy"], "k--", label="PCA")
        ax.set(xscale="log", xlabel="total code size", ylabel="test accuracy", title=classifier)
        ax.set_xticks(CODE_TICKS)
        plain_log_axes(ax)
        ax.legend(fontsize=8)
    ax = axes[2]
    first = ensembles[ensembles["classifier"] == next(iter(CLASSIFIERS))]
    for k, group in first.groupby("k"):
        group = group.sort_values("code_size")
        ax.plot(group["code_size"], group["recon_mse"], "o-", label=f"k={int(k)}")
    ref = pca[pca["classifier"] == next(iter(CLASSIFIERS))]
    ax.plot(ref["code_size"], ref["recon_mse"], "k--", label="PCA")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="total code size",
        ylabel="test MSE per pixel",
        title="reconstruction (ensemble average)",
    )
    ax.set_xticks(CODE_TICKS)
    plain_log_axes(ax)
    ax.legend(fontsize=8)
    latents = ", ".join(str(m) for m in sorted(ensembles["member_latent"].unique()))
    fig.suptitle(f"MNIST: k autoencoders (per-member code {latents}) against PCA")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--members",
        choices=("study", "default"),
        default="study",
        help="the study's 784-256 members or AutoencoderTransformer() (see above)",
    )
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--latents", type=int, nargs="+", default=list(LATENTS))
    add_common_arguments(
        parser,
        "k_autoencoder",
        threads=2,
        quick="smoke run: k in {1, 2}, latent 4, 1 epoch, 500 train and 500 test images",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    split = load_split("mnist", split="official", data_home=args.data_home)
    n_train, epochs = (500, 1) if args.quick else (args.n_train, args.epochs)
    ks, latents = ((1, 2), (4,)) if args.quick else (args.ks, args.latents)
    split.X_train, split.y_train = split.X_train[:n_train], split.y_train[:n_train]
    if args.quick:
        split.X_test, split.y_test = split.X_test[:500], split.y_test[:500]

    template = member_template(args.members, epochs)
    if args.quick:
        template.set_params(max_epochs=epochs)
    rows = []
    member = run_ensembles(split, ks, latents, template, args.seed, rows)
    run_pca(split, sorted({k * latent for k in ks for latent in latents}), rows)
    table = pd.DataFrame(rows).astype({"k": "Int64", "member_latent": "Int64"})
    header = machine_header(
        f"MNIST: first {len(split.X_train)} official training images to fit the "
        f"representation and the classifiers, {len(split.X_test)} official test images to "
        f"score. Members ({args.members}): {describe_member(member)}, random_state "
        f"{args.seed}, n_jobs=1; codes standardised before "
        "LogisticRegression(max_iter=1000) and SVC() (RBF)",
        args.threads,
    )
    name = "k_autoencoder" + ("_default" if args.members == "default" else "")
    name += "_quick" if args.quick else ""
    save_table(table, args.output_dir / name, header)
    plot(table, args.output_dir / f"{name}.png")


if __name__ == "__main__":
    main()
