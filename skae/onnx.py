"""ONNX export of skae models through skl2onnx.

Importing this module registers a converter for every skae transformer
(:class:`~skae.AutoencoderTransformer`, :class:`~skae.VAETransformer` dense and
convolutional, :class:`~skae.ITLAutoencoder`, :class:`~skae.KAutoencoderTransformer`),
for :class:`~skae.EncoderClassifier` and for :class:`~skae.AutoencoderOutlierDetector`
with skl2onnx, so that :func:`skl2onnx.to_onnx` converts a fitted skae model, or a
pipeline containing one, into a single ONNX graph that onnxruntime serves without
Python, torch or skae::

    import skae.onnx  # registers the converters (needs skl2onnx)
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X[:1].astype(np.float32))

skae itself does not depend on skl2onnx: install the ``onnx`` extra
(``pip install skae[onnx]``) to use this module.

What is exported is what ``transform`` (or ``predict``/``predict_proba``) computes:
the encoder, in inference mode. The graph is built layer by layer from the trained
torch modules (``Linear`` to ``Gemm``; ``ReLU``, ``Sigmoid``, ``Tanh``, ``ELU``,
``LeakyReLU`` to the ONNX operators of the same name; ``Conv2d`` to ``Conv``;
``Unflatten``/``Flatten`` to ``Reshape``/``Flatten``; ``BatchNorm`` with its running
statistics; ``Dropout`` and ``Identity`` to nothing), so no torch exporter is
involved and any target opset from 10 up works. :func:`decoder_to_onnx` exports
``inverse_transform`` (the decoder) as a model of its own. The graph computes in float32, as
skae does: double inputs are cast to float32 and the codes cast back, which is what
``transform`` does with float64 input.

- VAE: the posterior mean (``transform_mode='mean'``), or means and
  log-variances side by side (``'mean_logvar'``); ``'sample'`` draws random codes
  and cannot be exported.
- k-autoencoder: the members' codes concatenated.
- EncoderClassifier: a label and class probabilities (softmax of the logits), like
  any skl2onnx classifier; the ``zipmap`` option works as for scikit-learn
  classifiers (``options={id(model): {"zipmap": False}}`` gives a probability
  tensor instead of a list of dictionaries), and so does ``nocl`` (class indices
  as labels).
- AutoencoderOutlierDetector: ``label`` (``predict``: +1 or -1) and ``scores``
  (``decision_function``), like skl2onnx's ``IsolationForest``; ``anomaly_score='elbo'``
  draws random codes and cannot be exported.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

try:
    from onnx import TensorProto
    from onnx import checker as onnx_checker
    from onnx import defs as onnx_defs
    from onnx import helper as onnx_helper
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import _parse_sklearn_classifier, _parse_sklearn_simple_model
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skae.onnx needs skl2onnx (and onnx); install them with `pip install skae[onnx]`."
    ) from exc

from ._base import BaseAutoencoder
from ._conv import Crop
from ._encoder_classifier import EncoderClassifier
from ._k_autoencoder import KAutoencoderTransformer
from ._vae import VAETransformer

__all__ = ["decoder_to_onnx", "register_converters"]

#: the aliases under which the skae models are registered with skl2onnx
ALIASES = {
    "AutoencoderTransformer": "SkaeAutoencoderTransformer",
    "VAETransformer": "SkaeVAETransformer",
    "ITLAutoencoder": "SkaeITLAutoencoder",
    "KAutoencoderTransformer": "SkaeKAutoencoderTransformer",
    "EncoderClassifier": "SkaeEncoderClassifier",
    "AutoencoderOutlierDetector": "SkaeAutoencoderOutlierDetector",
}

#: the first ONNX opset the graphs are valid in: from opset 10, ``Slice`` takes its
#: bounds as inputs, the form the VAE and k-autoencoder graphs use
MIN_OPSET = 10

_ACTIVATION_OPS = {
    nn.ReLU: "Relu",
    nn.Sigmoid: "Sigmoid",
    nn.Tanh: "Tanh",
}


# --------------------------------------------------------------------------- checks
def _check_fitted(estimator) -> None:
    """A ``NotFittedError`` naming ``estimator`` unless it is fitted.

    Run before skl2onnx reads the model: an unfitted one otherwise fails inside
    skl2onnx with a message that does not say the model needs fitting.
    """
    check_is_fitted(
        estimator,
        msg="This %(name)s instance is not fitted yet: call 'fit' before exporting it to ONNX.",
    )


def _fitted_first(parser):
    """skl2onnx's ``parser``, run after :func:`_check_fitted` on the model it parses."""

    def parse(scope, model, inputs, custom_parsers=None):
        _check_fitted(model)
        return parser(scope, model, inputs, custom_parsers=custom_parsers)

    return parse


def _check_target_opset(target_opset) -> int:
    """``target_opset`` as an int, if skae can write graphs for it.

    Parameters
    ----------
    target_opset : int
        The ONNX opset asked for.

    Returns
    -------
    target_opset : int

    Raises
    ------
    TypeError
        If ``target_opset`` is not an int.
    ValueError
        If it is outside ``[MIN_OPSET, newest opset of the installed onnx package]``.
    """
    newest = onnx_defs.onnx_opset_version()
    if isinstance(target_opset, bool) or not isinstance(target_opset, Integral):
        raise TypeError(
            f"target_opset must be an int from {MIN_OPSET} to {newest}, got {target_opset!r}."
        )
    if not MIN_OPSET <= target_opset <= newest:
        raise ValueError(
            f"target_opset={target_opset} is outside the opsets skae.onnx can write: from "
            f"{MIN_OPSET} (older opsets lack the operators its graphs use) to {newest} "
            "(the newest the installed onnx package knows)."
        )
    return int(target_opset)


def _check_container_opset(container) -> None:
    """A ``ValueError`` naming ``target_opset`` if skl2onnx targets an opset below 10.

    skl2onnx checks the upper bound itself; older opsets would give an invalid graph.
    """
    opset = getattr(container, "target_opset", None)
    if isinstance(opset, Integral) and opset < MIN_OPSET:
        raise ValueError(
            f"target_opset={opset} is too old for skae models: their graphs need opset "
            f"{MIN_OPSET} or later."
        )


# --------------------------------------------------------------------------- graph
class _Graph:
    """Adds the nodes of one skae model to a skl2onnx container, with unique names."""

    def __init__(self, scope, operator, container):
        self.scope = scope
        self.container = container
        self.prefix = getattr(operator, "full_name", operator)

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(f"{self.prefix}_{hint}")

    def node(self, op_type: str, inputs, hint: str, **attrs) -> str:
        out = self.name(hint)
        self.container.add_node(
            op_type,
            inputs,
            out,
            name=self.scope.get_unique_operator_name(f"{self.prefix}_{op_type}"),
            **attrs,
        )
        return out

    def constant(self, hint: str, value) -> str:
        """A float32 (or int64) initializer holding ``value``."""
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array, proto = array.astype(np.float32), TensorProto.FLOAT
        else:
            array, proto = array.astype(np.int64), TensorProto.INT64
        name = self.name(hint)
        self.container.add_initializer(name, proto, list(array.shape), array.ravel().tolist())
        return name

    def weights(self, hint: str, tensor: torch.Tensor) -> str:
        return self.constant(hint, tensor.detach().cpu().float().numpy())


def _add_module(graph: _Graph, module: nn.Module, x: str) -> str:
    """Append the inference-mode computation of ``module`` on ``x``; return its output.

    Covers the layers skae builds (dense and convolutional encoders, heads with
    dropout). Anything else raises ``NotImplementedError`` naming the layer, rather
    than exporting a graph that computes something else.
    """
    if isinstance(module, nn.Sequential):
        for layer in module:
            x = _add_module(graph, layer, x)
        return x
    if isinstance(module, (nn.Identity, nn.modules.dropout._DropoutNd)):
        # Dropout is the identity in inference mode.
        return x
    if isinstance(module, nn.Linear):
        inputs = [x, graph.weights("W", module.weight)]
        if module.bias is not None:
            inputs.append(graph.weights("B", module.bias))
        return graph.node("Gemm", inputs, "gemm", transB=1)
    op = _ACTIVATION_OPS.get(type(module))
    if op is not None:
        return graph.node(op, [x], op.lower())
    if isinstance(module, nn.ELU):
        return graph.node("Elu", [x], "elu", alpha=float(module.alpha))
    if isinstance(module, nn.LeakyReLU):
        return graph.node("LeakyRelu", [x], "leakyrelu", alpha=float(module.negative_slope))
    if isinstance(module, nn.Unflatten):
        if module.dim != 1:
            raise NotImplementedError(f"Unflatten(dim={module.dim}) has no ONNX converter.")
        shape = graph.constant("shape", [-1, *module.unflattened_size])
        return graph.node("Reshape", [x, shape], "reshape")
    if isinstance(module, nn.Flatten):
        if module.start_dim != 1 or module.end_dim != -1:
            raise NotImplementedError("Only Flatten(start_dim=1, end_dim=-1) is exported.")
        return graph.node("Flatten", [x], "flatten", axis=1)
    if isinstance(module, nn.Conv2d):
        return _add_conv(graph, module, x)
    if isinstance(module, nn.ConvTranspose2d):
        return _add_conv_transpose(graph, module, x)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return _add_batch_norm(graph, module, x)
    if isinstance(module, Crop):
        starts = graph.constant("starts", [0, 0])
        ends = graph.constant("ends", [module.height, module.width])
        axes = graph.constant("axes", [2, 3])
        return graph.node("Slice", [x, starts, ends, axes], "crop")
    raise NotImplementedError(
        f"skae.onnx cannot export the torch layer {type(module).__name__}; "
        "supported: Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, ReLU, Sigmoid, Tanh, "
        "ELU, LeakyReLU, Identity, Dropout, Flatten, Unflatten."
    )


def _conv_inputs(graph: _Graph, conv, x: str) -> tuple[list[str], dict]:
    """Inputs and the attributes that ``Conv`` and ``ConvTranspose`` share."""
    inputs = [x, graph.weights("W", conv.weight)]
    if conv.bias is not None:
        inputs.append(graph.weights("B", conv.bias))
    pad_h, pad_w = conv.padding
    attributes = dict(
        kernel_shape=list(conv.kernel_size),
        strides=list(conv.stride),
        pads=[pad_h, pad_w, pad_h, pad_w],
        dilations=list(conv.dilation),
        group=conv.groups,
    )
    return inputs, attributes


def _add_conv(graph: _Graph, conv: nn.Conv2d, x: str) -> str:
    if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise NotImplementedError("Conv2d is exported with explicit zero padding only.")
    inputs, attributes = _conv_inputs(graph, conv, x)
    return graph.node("Conv", inputs, "conv", **attributes)


def _add_conv_transpose(graph: _Graph, conv: nn.ConvTranspose2d, x: str) -> str:
    if conv.padding_mode != "zeros":
        raise NotImplementedError("ConvTranspose2d is exported with zero padding only.")
    inputs, attributes = _conv_inputs(graph, conv, x)
    output_padding = list(conv.output_padding)
    return graph.node(
        "ConvTranspose", inputs, "convtranspose", output_padding=output_padding, **attributes
    )


def _add_batch_norm(graph: _Graph, bn, x: str) -> str:
    if bn.running_mean is None:
        raise NotImplementedError("BatchNorm without running statistics cannot be exported.")
    n = bn.num_features
    scale = bn.weight if bn.affine else torch.ones(n)
    bias = bn.bias if bn.affine else torch.zeros(n)
    inputs = [
        x,
        graph.weights("scale", scale),
        graph.weights("bias", bias),
        graph.weights("mean", bn.running_mean),
        graph.weights("var", bn.running_var),
    ]
    return graph.node("BatchNormalization", inputs, "batchnorm", epsilon=float(bn.eps))


def _slice_columns(graph: _Graph, x: str, stop: int) -> str:
    """Columns ``[0, stop)`` of a 2-D tensor."""
    starts = graph.constant("starts", [0])
    ends = graph.constant("ends", [stop])
    axes = graph.constant("axes", [1])
    return graph.node("Slice", [x, starts, ends, axes], "slice")


def _add_codes(graph: _Graph, estimator, x: str) -> str:
    """Append what ``estimator.transform`` computes on float32 ``x``; return the codes."""
    if isinstance(estimator, KAutoencoderTransformer):
        codes = [_add_codes(graph, member, x) for member in estimator.estimators_]
        return codes[0] if len(codes) == 1 else graph.node("Concat", codes, "concat", axis=1)
    if not isinstance(estimator, BaseAutoencoder):
        raise NotImplementedError(
            f"skae.onnx exports skae autoencoders, not {type(estimator).__name__}."
        )
    codes = _add_module(graph, estimator.encoder_, x)
    if isinstance(estimator, VAETransformer):
        mode = estimator.transform_mode
        if mode == "sample":
            raise NotImplementedError(
                "VAETransformer(transform_mode='sample') draws random codes and cannot be "
                "exported; use transform_mode='mean' (or 'mean_logvar')."
            )
        if mode == "mean":
            # The encoder outputs means then log-variances; transform keeps the means.
            codes = _slice_columns(graph, codes, estimator.latent_dim)
    return codes


def _as_float(graph: _Graph, operator) -> str:
    """The operator's input as float32 (skae computes in float32 whatever the input)."""
    x = operator.inputs[0].full_name
    if isinstance(operator.inputs[0].type, FloatTensorType):
        return x
    return graph.node("Cast", [x], "cast", to=TensorProto.FLOAT)


def _write_output(graph: _Graph, value: str, variable) -> None:
    """Copy ``value`` (float32) to the output ``variable``, cast to its declared type."""
    to = TensorProto.DOUBLE if isinstance(variable.type, DoubleTensorType) else TensorProto.FLOAT
    graph.container.add_node(
        "Cast",
        [value],
        variable.full_name,
        name=graph.scope.get_unique_operator_name(f"{graph.prefix}_Cast"),
        to=to,
    )


# --------------------------------------------------------------------------- transformers
def _n_codes(estimator) -> int:
    return len(estimator.get_feature_names_out())


def skae_transformer_shape_calculator(operator):
    """Output of a skae transformer: ``(N, n_codes)`` codes, double for double input."""
    input_type = operator.inputs[0].type
    out_type = DoubleTensorType if isinstance(input_type, DoubleTensorType) else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = out_type([n, _n_codes(operator.raw_operator)])


def skae_transformer_converter(scope, operator, container):
    """Encoder graph of a skae autoencoder or k-autoencoder (what ``transform`` computes)."""
    _check_fitted(operator.raw_operator)
    _check_container_opset(container)
    graph = _Graph(scope, operator, container)
    codes = _add_codes(graph, operator.raw_operator, _as_float(graph, operator))
    _write_output(graph, codes, operator.outputs[0])


# --------------------------------------------------------------------------- classifier
def skae_classifier_converter(scope, operator, container):
    """Label and probabilities of an :class:`~skae.EncoderClassifier`."""
    model = operator.raw_operator
    _check_fitted(model)
    _check_container_opset(container)
    graph = _Graph(scope, operator, container)
    module = model.module_
    logits = _add_module(graph, module.input_dropout, _as_float(graph, operator))
    logits = _add_module(graph, module.encoder, logits)
    logits = _add_module(graph, module.head, logits)
    proba = graph.node("Softmax", [logits], "proba", axis=1)
    _write_output(graph, proba, operator.outputs[1])

    index = graph.node("ArgMax", [logits], "argmax", axis=1, keepdims=0)
    classes = np.asarray(model.classes_)
    if container.get_options(model, dict(nocl=False))["nocl"]:
        # skl2onnx's ``nocl`` option: labels are class indices, not the class values.
        classes = np.arange(len(classes))
    if classes.dtype.kind in "biuf":
        # skl2onnx types numeric labels as int64 (calculate_linear_classifier_output_shapes).
        labels = graph.constant("classes", classes.astype(np.int64))
    else:
        labels = graph.name("classes")
        values = [str(c).encode("utf-8") for c in classes]
        container.add_initializer(labels, TensorProto.STRING, [len(values)], values)
    container.add_node(
        "Gather",
        [labels, index],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name(f"{graph.prefix}_Gather"),
        axis=0,
    )


# --------------------------------------------------------------------------- decoder
class _ModelBuilder:
    """Just enough of skl2onnx's scope and container to build a standalone graph."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self._names: set[str] = set()

    def get_unique_variable_name(self, hint: str) -> str:
        name, i = hint, 0
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    get_unique_operator_name = get_unique_variable_name

    def add_node(self, op_type, inputs, outputs, name=None, **attrs):
        outputs = [outputs] if isinstance(outputs, str) else outputs
        self.nodes.append(onnx_helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def add_initializer(self, name, onnx_type, shape, content):
        self.initializers.append(onnx_helper.make_tensor(name, onnx_type, shape, content))


def _add_decoded(graph: _Graph, estimator, z: str) -> str:
    """Append what ``estimator.inverse_transform`` computes on float32 codes ``z``."""
    if isinstance(estimator, KAutoencoderTransformer):
        # Each member decodes its own columns; the reconstruction is their mean.
        parts, start = [], 0
        for member, width in zip(estimator.estimators_, estimator.latent_dims_):
            starts = graph.constant("starts", [start])
            ends = graph.constant("ends", [start + width])
            axes = graph.constant("axes", [1])
            columns = graph.node("Slice", [z, starts, ends, axes], "slice")
            parts.append(_add_decoded(graph, member, columns))
            start += width
        total = parts[0] if len(parts) == 1 else graph.node("Sum", parts, "sum")
        scale = graph.constant("scale", np.float32(1.0 / len(parts)))
        return graph.node("Mul", [total, scale], "mean")
    if not isinstance(estimator, BaseAutoencoder):
        raise NotImplementedError(
            f"skae.onnx exports skae autoencoders, not {type(estimator).__name__}."
        )
    if isinstance(estimator, VAETransformer) and estimator.transform_mode == "mean_logvar":
        # inverse_transform decodes the means of [means, log-variances] codes.
        z = _slice_columns(graph, z, estimator.latent_dim)
    module = estimator.module_
    x = _add_module(graph, estimator.decoder_, z)
    return _add_module(graph, module.output_activation, x)


def decoder_to_onnx(estimator, *, target_opset=17):
    """An ONNX model of ``estimator.inverse_transform``: codes to reconstructions.

    skl2onnx pipelines run forwards only, so the decoder is exported on its own: one
    float32 input ``codes`` of shape ``(N, n_codes)`` and one output
    ``reconstruction`` of shape ``(N, n_features_in_)``.

    Parameters
    ----------
    estimator : fitted skae autoencoder or KAutoencoderTransformer
        The model whose decoder to export (for a VAE with
        ``transform_mode='mean_logvar'``, codes of ``2 * latent_dim`` columns of which
        the means are decoded, as ``inverse_transform`` does).
    target_opset : int, default=17
        ONNX opset of the model, from 10 to the newest opset the installed onnx
        package knows.

    Returns
    -------
    model : onnx.ModelProto
        Serve it with ``onnxruntime.InferenceSession(model.SerializeToString())``.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skae import AutoencoderTransformer
    >>> from skae.onnx import decoder_to_onnx
    >>> X = np.random.default_rng(0).random((100, 8)).astype(np.float32)
    >>> ae = AutoencoderTransformer(latent_dim=2, max_epochs=2, random_state=0).fit(X)
    >>> session = ort.InferenceSession(decoder_to_onnx(ae).SerializeToString(),
    ...                                providers=["CPUExecutionProvider"])
    >>> Z = ae.transform(X)
    >>> X_hat = session.run(None, {"codes": Z})[0]
    >>> bool(np.allclose(X_hat, ae.inverse_transform(Z), atol=1e-5))
    True
    """
    _check_fitted(estimator)
    target_opset = _check_target_opset(target_opset)
    builder = _ModelBuilder()
    graph = _Graph(builder, "decoder", builder)
    builder._names.update({"codes", "reconstruction"})
    out = _add_decoded(graph, estimator, "codes")
    builder.add_node("Identity", [out], "reconstruction", name="output")
    n_codes = _n_codes(estimator)
    n_features = estimator.n_features_in_
    model = onnx_helper.make_model(
        onnx_helper.make_graph(
            builder.nodes,
            f"{type(estimator).__name__}_decoder",
            [onnx_helper.make_tensor_value_info("codes", TensorProto.FLOAT, [None, n_codes])],
            [
                onnx_helper.make_tensor_value_info(
                    "reconstruction", TensorProto.FLOAT, [None, n_features]
                )
            ],
            builder.initializers,
        ),
        opset_imports=[onnx_helper.make_opsetid("", target_opset)],
    )
    onnx_checker.check_model(model)
    return model


# --------------------------------------------------------------------------- registry
def register_converters() -> None:
    """Register the skae converters with skl2onnx (done once, on ``import skae.onnx``).

    Calling it again is harmless; it is public for code that resets skl2onnx's
    registry.

    Examples
    --------
    >>> import skae.onnx
    >>> skae.onnx.register_converters()
    """
    from ._autoencoder import AutoencoderTransformer
    from ._itl import ITLAutoencoder

    for cls in (AutoencoderTransformer, VAETransformer, ITLAutoencoder, KAutoencoderTransformer):
        update_registered_converter(
            cls,
            ALIASES[cls.__name__],
            skae_transformer_shape_calculator,
            skae_transformer_converter,
            parser=_fitted_first(_parse_sklearn_simple_model),
        )
    update_registered_converter(
        EncoderClassifier,
        ALIASES["EncoderClassifier"],
        calculate_linear_classifier_output_shapes,
        skae_classifier_converter,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
        parser=_fitted_first(_parse_sklearn_classifier),
    )
    # Its converter reads the helpers above, so it is imported once they exist.
    from ._onnx_outlier import (
        AutoencoderOutlierDetector,
        outlier_detector_converter,
        outlier_detector_shape_calculator,
    )

    update_registered_converter(
        AutoencoderOutlierDetector,
        ALIASES["AutoencoderOutlierDetector"],
        outlier_detector_shape_calculator,
        outlier_detector_converter,
        parser=_fitted_first(_parse_sklearn_simple_model),
    )


register_converters()
