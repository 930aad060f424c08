"""ONNX export of :class:`~skae.AutoencoderOutlierDetector` (registered by ``skae.onnx``).

The graph computes what :meth:`~skae.AutoencoderOutlierDetector.predict` and
:meth:`~skae.AutoencoderOutlierDetector.decision_function` compute, as skl2onnx's
outlier detectors do (``IsolationForest``, ``OneClassSVM``): two outputs, ``label``
(``+1`` inlier, ``-1`` outlier, int64 of shape ``(N,)``) and ``scores``
(``decision_function``, shape ``(N, 1)``). ``score_samples`` is ``scores + offset_``.

Every step is written with operators that exist unchanged from opset 10 on
(``MatMul`` for sums over columns rather than ``ReduceSum``, whose axes moved from an
attribute to an input in opset 13), so that the detector exports to every opset the skae
transformers export to.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ._outlier import _TINY, AutoencoderOutlierDetector
from .onnx import (
    _add_codes,
    _add_decoded,
    _as_float,
    _check_container_opset,
    _check_fitted,
    _Graph,
    _write_output,
)


def _column_mean(graph: _Graph, values: str, n_columns: int, hint: str) -> str:
    """``(N, 1)`` row means of ``values`` ``(N, n_columns)``, as a product with a column."""
    weights = graph.constant(f"{hint}_mean", np.full((n_columns, 1), 1.0 / n_columns))
    return graph.node("MatMul", [values, weights], hint)


def _add_reconstruction(graph: _Graph, detector, x: str, codes: str, relative: bool) -> str:
    """The log of the per-sample (relative) reconstruction error, ``(N, 1)``."""
    x_hat = _add_decoded(graph, detector.estimator_, codes)
    n_features = detector.n_features_in_
    tiny = graph.constant("tiny", np.float32(_TINY))
    diff = graph.node("Sub", [x, x_hat], "diff")
    errors = _column_mean(graph, graph.node("Mul", [diff, diff], "squares"), n_features, "mse")
    if relative:
        norms = _column_mean(graph, graph.node("Mul", [x, x], "x_squares"), n_features, "norm")
        norms = graph.node("Max", [norms, tiny], "positive_norm")
        errors = graph.node("Div", [errors, norms], "relative")
    return graph.node("Log", [graph.node("Max", [errors, tiny], "positive")], "log_error")


def _add_mahalanobis(graph: _Graph, detector, codes: str) -> str:
    """Squared Mahalanobis distance of the codes to the training codes, ``(N, 1)``."""
    centred = graph.node(
        "Sub", [codes, graph.constant("code_mean", detector.code_mean_)], "centred"
    )
    projected = graph.node(
        "MatMul", [centred, graph.constant("precision", detector.code_precision_)], "projected"
    )
    products = graph.node("Mul", [projected, centred], "products")
    n_codes = len(detector.code_mean_)
    ones = graph.constant("ones", np.ones((n_codes, 1)))
    return graph.node("MatMul", [products, ones], "mahalanobis")


def _add_local_outlier_factor(graph: _Graph, detector, codes: str) -> str:
    """The log of the codes' local outlier factor among the training codes, ``(N, 1)``.

    What :meth:`sklearn.neighbors.LocalOutlierFactor.score_samples` computes, from
    the fitted model's training codes, their k-distances and local reachability
    densities: the distances to every training code (from the expansion
    ``|z|^2 - 2 z.f + |f|^2``), the ``k`` nearest by ``TopK``, then
    ``LOF = mean(lrd of the neighbours) * (mean reachability distance + 1e-10)``.
    """
    lof = detector.code_lof_
    train = np.asarray(lof._fit_X, dtype=np.float64)
    k = lof.n_neighbors_
    n_codes = train.shape[1]
    squares = graph.node("Mul", [codes, codes], "code_squares")
    norms = graph.node(
        "MatMul", [squares, graph.constant("code_ones", np.ones((n_codes, 1)))], "norms"
    )
    cross = graph.node("MatMul", [codes, graph.constant("train_codes_t", train.T)], "cross")
    twice = graph.node("Mul", [cross, graph.constant("two_f", np.float32(2.0))], "twice")
    squared = graph.node(
        "Add",
        [
            graph.node("Sub", [norms, twice], "partial"),
            graph.constant("train_norms", np.sum(train**2, axis=1)[None, :]),
        ],
        "squared_distances",
    )
    # Rounding can take the expansion slightly below zero for a code's own copy.
    squared = graph.node("Max", [squared, graph.constant("zero_f", np.float32(0.0))], "clamped")
    distances = graph.node("Sqrt", [squared], "distances")
    negated, indices = graph.name("nearest"), graph.name("neighbours")
    graph.container.add_node(
        "TopK",
        [graph.node("Neg", [distances], "negated"), graph.constant("k", [k])],
        [negated, indices],
        name=graph.scope.get_unique_operator_name(f"{graph.prefix}_TopK"),
        axis=1,
    )
    nearest = graph.node("Neg", [negated], "nearest_distances")
    k_distances = graph.constant("k_distances", lof._distances_fit_X_[:, k - 1])
    reach = graph.node(
        "Max",
        [nearest, graph.node("Gather", [k_distances, indices], "neighbour_k_distances")],
        "reach",
    )
    neighbour_lrd = graph.node("Gather", [graph.constant("lrd", lof._lrd), indices], "nb_lrd")
    factor = graph.node(
        "Mul",
        [
            _column_mean(graph, neighbour_lrd, k, "mean_lrd"),
            graph.node(
                "Add",
                [
                    _column_mean(graph, reach, k, "mean_reach"),
                    graph.constant("lrd_eps", np.float32(1e-10)),
                ],
                "reach_eps",
            ),
        ],
        "lof",
    )
    return graph.node("Log", [factor], "log_lof")


def outlier_detector_shape_calculator(operator):
    """Outputs of the detector: ``label`` int64 ``(N,)``, ``scores`` ``(N, 1)``."""
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type.shape = [n]
    operator.outputs[1].type.shape = [n, 1]


def outlier_detector_converter(scope, operator, container):
    """Graph of ``predict`` and ``decision_function`` of a fitted detector."""
    detector = operator.raw_operator
    _check_fitted(detector)
    _check_container_opset(container)
    if detector.anomaly_score_ == "elbo":
        raise NotImplementedError(
            "anomaly_score='elbo' draws a random code per sample and cannot be exported; use "
            "another anomaly_score."
        )
    graph = _Graph(scope, operator, container)
    x = _as_float(graph, operator)
    codes = _add_codes(graph, detector.estimator_, x)
    columns = []
    for name in detector.components_:
        if name in ("reconstruction", "relative_reconstruction"):
            relative = name == "relative_reconstruction"
            columns.append(_add_reconstruction(graph, detector, x, codes, relative))
        elif name == "local_outlier_factor":
            columns.append(_add_local_outlier_factor(graph, detector, codes))
        else:
            columns.append(_add_mahalanobis(graph, detector, codes))
    raw = columns[0] if len(columns) == 1 else graph.node("Concat", columns, "components", axis=1)
    # -sum_j w_j (a_j - center_j) / scale_j - offset_, as one product and one shift
    weights = -detector.weights_ / detector.scale_
    shift = float(np.sum(detector.weights_ * detector.center_ / detector.scale_) - detector.offset_)
    decision = graph.node(
        "Add",
        [
            graph.node("MatMul", [raw, graph.constant("weights", weights.reshape(-1, 1))], "w"),
            graph.constant("shift", np.float32(shift)),
        ],
        "decision",
    )
    _write_output(graph, decision, operator.outputs[1])

    # label = 1 - 2 * (decision < 0), flattened to (N,)
    outlier = graph.node("Less", [decision, graph.constant("zero", np.float32(0.0))], "less")
    outlier = graph.node("Cast", [outlier], "outlier", to=TensorProto.INT64)
    doubled = graph.node("Mul", [outlier, graph.constant("two", np.int64(2))], "doubled")
    labels = graph.node("Sub", [graph.constant("one_int", np.int64(1)), doubled], "labels")
    container.add_node(
        "Reshape",
        [labels, graph.constant("flat", [-1])],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name(f"{graph.prefix}_Reshape"),
    )


__all__ = [
    "AutoencoderOutlierDetector",
    "outlier_detector_converter",
    "outlier_detector_shape_calculator",
]
