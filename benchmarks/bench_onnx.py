"""ONNX export: agreement with skae and batch inference speed under onnxruntime.

Fits ``[AutoencoderTransformer (784-500-500-32 ReLU, 2 epochs on 10,000 MNIST
training images), LogisticRegression]``, exports it with ``skl2onnx.to_onnx`` after
``import skae.onnx``, and on MNIST's 10,000 test images reports the largest absolute
difference of the codes and of the class probabilities between onnxruntime and skae,
and the share of identical predicted labels. Then times the encoder alone on the
first ``--rows`` training images: skae's ``transform`` against an onnxruntime session
on the exported encoder (one ``run`` over all rows, and runs over batches of 1,024),
both with ``--threads`` threads, median of interleaved repeats. Writes
``results/onnx/onnx.{csv,md}``.

Run: ``python benchmarks/bench_onnx.py [--threads 1] [--rows 20000] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from _common import (
    EARLIER_DEFAULTS,
    UNFUSED_ADAM,
    add_common_arguments,
    machine_header,
    save_table,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    add_common_arguments(parser, "onnx", threads=1, quick=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import skae.onnx  # noqa: F401 (registers the converters)
    from skae import AutoencoderTransformer
    from skae.datasets import load_mnist

    X_train, y_train = load_mnist(subset="train", data_home=args.data_home, return_X_y=True)
    X_test, _ = load_mnist(subset="test", data_home=args.data_home, return_X_y=True)
    pipe = make_pipeline(
        AutoencoderTransformer(
            latent_dim=32,
            hidden_layer_sizes=(500, 500),
            max_epochs=2,
            random_state=0,
            optimizer_kwargs=dict(UNFUSED_ADAM),
            **EARLIER_DEFAULTS,  # the committed table's model
        ),
        LogisticRegression(max_iter=300),
    ).fit(X_train[:10000], y_train[:10000])

    options = pd.Series(dtype=object)
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = args.threads
    session_options.inter_op_num_threads = 1

    def session(onx):
        return ort.InferenceSession(
            onx.SerializeToString(), session_options, providers=["CPUExecutionProvider"]
        )

    full = session(to_onnx(pipe, X_test[:1], options={id(pipe[-1]): {"zipmap": False}}))
    labels, proba = full.run(None, {full.get_inputs()[0].name: X_test})
    encoder = session(to_onnx(pipe[0], X_test[:1]))
    name = encoder.get_inputs()[0].name
    (codes,) = encoder.run(None, {name: X_test})
    options["code_max_abs_diff"] = float(np.abs(codes - pipe[0].transform(X_test)).max())
    options["proba_max_abs_diff"] = float(np.abs(proba - pipe.predict_proba(X_test)).max())
    options["label_agreement"] = float(np.mean(labels == pipe.predict(X_test)))
    print(options.to_string())

    X = X_train[: args.rows]
    methods = {
        "skae transform": lambda: pipe[0].transform(X),
        "onnxruntime, one run": lambda: encoder.run(None, {name: X})[0],
        "onnxruntime, batches of 1024": lambda: np.concatenate(
            [encoder.run(None, {name: X[i : i + 1024]})[0] for i in range(0, len(X), 1024)]
        ),
    }
    times = {m: [] for m in methods}
    for _ in range(args.repeats):
        for method, fn in methods.items():
            start = time.perf_counter()
            fn()
            times[method].append(time.perf_counter() - start)
    table = pd.DataFrame(
        {"method": list(times), "seconds": [float(np.median(t)) for t in times.values()]}
    )
    table["rows_per_s"] = len(X) / table["seconds"]
    table["ratio_vs_skae"] = table["rows_per_s"] / table["rows_per_s"].iloc[0]
    for key, value in options.items():
        table[key] = value
    header = machine_header(
        f"[AutoencoderTransformer 784-500-500-32 ReLU (2 epochs on 10,000 MNIST train "
        f"images), LogisticRegression]; agreement on the 10,000 MNIST test images "
        f"(code_max_abs_diff {options.code_max_abs_diff:.2e}, proba_max_abs_diff "
        f"{options.proba_max_abs_diff:.2e}, label_agreement {options.label_agreement:.4f}); "
        f"speed: encoder on the first {len(X)} training images, median of {args.repeats} "
        f"interleaved repeats, onnxruntime {ort.__version__} with {args.threads} intra-op "
        "threads; machine shared with other jobs (timings indicative)",
        args.threads,
    )
    save_table(table, args.output_dir / "onnx", header)


if __name__ == "__main__":
    main()
