"""The search behind ``bench_semi_supervised.py``'s ITL setting for few labels.

One ``ITLAutoencoder`` fit per line: the benchmark's ITL autoencoder as it is with
more than 10 labels per class (``_few_labels.itl_params``: 784-512-256-16,
``OneHotPrior(16, n_classes=10)``, CSD, ReLU, batches of 128, 20 epochs, supervised
weight 3, consistency weight 10, clean inputs, seed 0), with the parameters of
``--params`` (JSON) changed, on one data set, number of labels and draw of the
benchmark (its ``load`` and ``labelled_subset``). Each line scores the argmax of the code's class part and an
MLP on the labelled codes twice: on the **unlabelled training rows** (their labels
were hidden from the fit; the setting is chosen on these) and on the test images,
beside PCA + SVC on the same rows. The row goes to
``results/semi_supervised/search_itl_few_labels.csv``, replacing the row of the same
tag, data set, number of labels and draw.

Run (one thread; several processes side by side)::

    python benchmarks/search_itl_few_labels.py --dataset kmnist --n-labels 100 \\
        --draw 0 --tag w1-c10-mask0.5 \\
        --params '{"supervised_weight":1.0,"noise":"masking","noise_level":0.5}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from _common import default_data_home, results_dir, update_table
from _few_labels import build_parser, itl_params, labelled_subset, load, svc
from skae import ITLAutoencoder
from skae.priors import OneHotPrior

#: where this benchmark writes its tables and figures
RESULTS = results_dir("semi_supervised")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "kmnist"], default="kmnist")
    parser.add_argument("--n-labels", type=int, default=100)
    parser.add_argument("--draw", type=int, default=0)
    parser.add_argument("--tag", required=True, help="the candidate's name in the CSV")
    parser.add_argument("--params", default="{}", help="ITLAutoencoder parameters (JSON)")
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--output", default="search_itl_few_labels")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    # The benchmark's settings with more labels (weight 3, clean inputs), whatever
    # the number of labels here.
    bench = build_parser().parse_args(
        [
            *("--n-train", str(args.n_train), "--data-home", args.data_home),
            *("--itl-few-labels-per-class", "0"),
        ]
    )
    data = load(args.dataset, bench)
    lab = labelled_subset(data.y_train, args.n_labels, args.draw)
    y_partial = np.full(len(data.y_train), -1)
    y_partial[lab] = data.y_train[lab]
    pool = np.setdiff1d(np.arange(len(y_partial)), lab)

    params = itl_params(bench, 0, args.n_labels, n_classes=10)
    params.update(json.loads(args.params))
    params["prior"] = OneHotPrior(params["latent_dim"], n_classes=10)
    start = time.process_time()
    itl = ITLAutoencoder(**params).fit(data.X_train, y_partial)
    cpu_seconds = time.process_time() - start
    Z_train, Z_test = itl.transform(data.X_train), itl.transform(data.X_test)
    mlp = MLPClassifier((100,), max_iter=500, random_state=0)
    mlp.fit(Z_train[lab], data.y_train[lab])
    pca = PCA(50, random_state=0).fit(data.X_train)
    pca_svc = svc().fit(pca.transform(data.X_train[lab]), data.y_train[lab])

    def argmax(Z):
        return itl.classes_[Z[:, :10].argmax(axis=1)]

    def error(pred, y):
        return round(float(np.mean(pred != y)), 5)

    y_pool = data.y_train[pool]
    row = dict(
        tag=args.tag,
        params=args.params,
        dataset=args.dataset,
        n_labels=args.n_labels,
        draw=args.draw,
        pool_argmax=error(argmax(Z_train[pool]), y_pool),
        pool_mlp=error(mlp.predict(Z_train[pool]), y_pool),
        pool_pca_svc=error(pca_svc.predict(pca.transform(data.X_train[pool])), y_pool),
        test_argmax=error(argmax(Z_test), data.y_test),
        test_mlp=error(mlp.predict(Z_test), data.y_test),
        test_pca_svc=error(pca_svc.predict(pca.transform(data.X_test)), data.y_test),
        fit_cpu_seconds=round(cpu_seconds, 1),
    )
    print(json.dumps(row), flush=True)
    path = RESULTS / f"{args.output}.csv"
    # one row per candidate and draw: a repeated command replaces its row
    update_table(path, [row], ["tag", "dataset", "n_labels", "draw"])


if __name__ == "__main__":
    main()
