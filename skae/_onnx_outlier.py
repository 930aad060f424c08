"""ONNX export of :class:`~skae.AutoencoderOutlierDetector` (registered by ``skae.onnx``).

The graph computes what :meth:`~skae.AutoencoderOutlierDetector.predict` and
:meth:`~skae.AutoencoderOutlierDetector.decision_function` compute, as skl2onnx's
outlier detectors do (``IsolationForest``, ``OneClassSVM``): two outputs, ``label``
(``+1`` inlier, ``-1`` outlier, int64 of shape ``(N,)``) and ``scores``
(``decision_function``, shape ``(N, 1)``). ``score_samples`` is ``scores + offset_``.

Every step is written with operators that exist unchanged from opset 10 on
(``Gemm``/``MatMul`` for sums over columns rather than ``ReduceSum``, whose axes moved
from an attribute to an input in opset 13; ``Max``/``Min`` rather than ``Clip``, whose
bounds moved in opset 11), so that the detector exports to every opset the skae
transformers export to.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ._outlier import BCE_EPS, AutoencoderOutlierDetector
from .onnx import (
    _add_codes,
    _add_decoded,
    _as_float,
    _check_container_opset,
    _check_fitted,
    _Graph,
    _write_output,
)

#: the smallest positive float32: the log of an exact reconstruction stays finite
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _column_mean(graph: _Graph, values: str, n_columns: int, hint: str) -> str:
    """``(N, 1)`` row means of ``values`` ``(N, n_columns)``, as a product with a column."""
    weights = graph.constant(f"{hint}_mean", np.full((n_columns, 1), 1.0 / n_columns))
    return graph.node("MatMul", [values, weights], hint)


def _add_reconstruction(graph: _Graph, detector, x: str, codes: str) -> str:
    """The log of the per-sample reconstruction error, ``(N, 1)``."""
    x_hat = _add_decoded(graph, detector.estimator_, codes)
    n_features = detector.n_features_in_
    if detector.reconstruction_loss_ == "bce":
        low = graph.constant("eps", np.float32(BCE_EPS))
        high = graph.constant("one_minus_eps", np.float32(1 - BCE_EPS))
        one = graph.constant("one", np.float32(1.0))
        x_hat = graph.node("Min", [graph.node("Max", [x_hat, low], "clip_low"), high], "clip")
        log_p = graph.node("Log", [x_hat], "log_p")
        log_q = graph.node("Log", [graph.node("Sub", [one, x_hat], "q")], "log_q")
        x_q = graph.node("Sub", [one, x], "one_minus_x")
        likelihood = graph.node(
            "Add",
            [graph.node("Mul", [x, log_p], "x_log_p"), graph.node("Mul", [x_q, log_q], "q_log_q")],
            "log_likelihood",
        )
        errors = graph.node("Neg", [_column_mean(graph, likelihood, n_features, "bce")], "bce")
    else:
        diff = graph.node("Sub", [x, x_hat], "diff")
        squares = graph.node("Mul", [diff, diff], "squares")
        errors = _column_mean(graph, squares, n_features, "mse")
    tiny = graph.constant("tiny", np.float32(_FLOAT32_TINY))
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
            "anomaly_score='reconstruction', 'mahalanobis' or 'combined'."
        )
    graph = _Graph(scope, operator, container)
    x = _as_float(graph, operator)
    codes = _add_codes(graph, detector.estimator_, x)
    columns = []
    for name in detector.components_:
        if name == "reconstruction":
            columns.append(_add_reconstruction(graph, detector, x, codes))
        else:
            columns.append(_add_mahalanobis(graph, detector, codes))
    raw = columns[0] if len(columns) == 1 else graph.node("Concat", columns, "components", axis=1)
    # -sum_j (a_j - center_j) / scale_j - offset_, as one product and one shift
    weights = -1.0 / detector.scale_
    shift = float(np.sum(detector.center_ / detector.scale_) - detector.offset_)
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
