"""The supervised ceiling on KMNIST: how far do labels take a network built from skae parts?

An ``EncoderClassifier`` on the encoder of a convolutional ``VAETransformer``
(pre-trained, then fine-tuned with the labels) on KMNIST's fixed stratified 8,000-image
part of its official test images, scored on the other 2,000 (the data mirror has no
KMNIST training images), beside the study's CNN (95.3 %, 557,322 parameters, 886 s,
on the full 60,000-image training set).

Writes ``results/ceiling/ceiling.{csv,md}``; a run recomputes its row, ``--resume``
keeps a row already there.

Run: ``python benchmarks/bench_ceiling.py [--threads 1] [--seed 0] [--resume] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd
import torch

from _common import add_common_arguments, load_kmnist, machine_header, start_table
from _representations import append_row, done_keys, write_markdown
from skae import EncoderClassifier, VAETransformer

#: the study's CNN on the full KMNIST training set (the figure to compare against)
STUDY_CNN = {"accuracy": 0.953, "n_parameters": 557322, "fit_seconds": 886.0}

CEILING_VAE = {
    "architecture": "conv",
    "latent_dim": 32,
    "conv_channels": (32, 64),
    "hidden_layer_sizes": (128,),
    "max_epochs": 5,
}

CEILING_CLASSIFIER = {"dropout": 0.2, "lr": 1e-3, "max_epochs": 15, "batch_size": 128}

CEILING_KEY = ["model", "n_train", "seed"]


def run_ceiling(args, path):
    done = done_keys(path, CEILING_KEY)
    data = load_kmnist("test-only", args.data_home)
    if args.quick:
        data.X_train, data.y_train = data.X_train[:600], data.y_train[:600]
        data.X_test, data.y_test = data.X_test[:300], data.y_test[:300]
    vae_params, clf_params = dict(CEILING_VAE), dict(CEILING_CLASSIFIER)
    if args.quick:
        vae_params["max_epochs"], clf_params["max_epochs"] = 1, 1
    base = {"n_train": len(data.X_train), "n_test": len(data.X_test), "threads": args.threads}
    model_name = "conv VAE encoder, fine-tuned"
    for seed in [args.seed]:
        if (model_name, str(len(data.X_train)), str(seed)) in done:
            continue
        vae = VAETransformer(random_state=seed, **vae_params)
        clf = EncoderClassifier(encoder=vae, random_state=seed, **clf_params)
        start, cpu = time.perf_counter(), time.process_time()
        clf.fit(data.X_train, data.y_train)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        append_row(
            path,
            {
                "model": model_name,
                **base,
                "seed": seed,
                "accuracy": clf.score(data.X_test, data.y_test),
                "fit_seconds": seconds,
                "fit_cpu_seconds": cpu_seconds,
                "n_parameters": int(sum(p.numel() for p in clf.module_.parameters())),
                "machine_note": args.machine_note,
                "params": f"VAETransformer({vae_params}) -> EncoderClassifier({clf_params})",
            },
            CEILING_KEY,
        )
    if ("study CNN (published)", "60000", "-") not in done:
        append_row(
            path,
            {
                "model": "study CNN (published)",
                "n_train": 60000,
                "n_test": 10000,
                "threads": "-",
                "seed": "-",
                **STUDY_CNN,
                "machine_note": "the study's machine",
                "params": "the KMNIST study's CNN, full training set, official test set",
            },
            CEILING_KEY,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--machine-note",
        default="",
        help="e.g. 'idle' or 'shared with 5 other jobs'; stored in the row and header",
    )
    add_common_arguments(
        parser, "ceiling", quick="600/300 images, 1 epoch each; _quick outputs", resume=True
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    stem = "ceiling_quick" if args.quick else "ceiling"
    path = args.output_dir / f"{stem}.csv"
    start_table(path, args.resume)
    run_ceiling(args, path)
    note = f"; machine note: {args.machine_note}" if args.machine_note else ""
    header = machine_header(
        "KMNIST (stratified 8,000/2,000 split of the official test set, seed 0): the "
        "supervised ceiling, a CNN from skae parts beside the study's CNN (full "
        "training set)" + note,
        args.threads,
    )
    write_markdown(pd.read_csv(path), args.output_dir / f"{stem}.md", header)


if __name__ == "__main__":
    main()
