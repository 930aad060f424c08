"""Dense autoencoder as a scikit-learn transformer."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ._base import BaseAutoencoder
from ._nn import ACTIVATIONS, DenseAutoencoderModule
from ._parameters import shares_parameters
from ._regularizers import AUTOENCODER_PARAMETERS


@shares_parameters(
    AUTOENCODER_PARAMETERS,
    defaults={"max_epochs": "auto", "noise": "gaussian", "lr_schedule": "cosine"},
    notes={
        "batch_size": """\
            Smaller batches give better codes for about the same fit time, since more
            steps of smaller batches cost about as much (see "Choosing a
            representation" in the user guide).""",
        "noise": """\
            The default, Gaussian noise of standard deviation 0.2, makes the default
            model's codes beat ``PCA(latent_dim)`` ahead of more classifiers and code
            sizes than training without noise, at the same fit time (see "Choosing a
            representation" in the user guide).""",
    },
)
class AutoencoderTransformer(BaseAutoencoder):
    """Dense autoencoder whose code is the transformed representation.

    The encoder maps ``n_features -> hidden_layer_sizes -> latent_dim`` (a linear code
    layer unless ``latent_activation`` says otherwise); the decoder mirrors it back to
    ``n_features``. Training runs through a skorch net held in ``net_`` (callbacks,
    history, early stopping, progress bar, device), fed whole-tensor batches rather
    than per-sample collation.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the code returned by :meth:`transform`.
    hidden_layer_sizes : int or tuple of int, default=(1024, 256)
        Hidden sizes of the encoder; the decoder uses them in reverse. ``()`` gives a
        single linear map each way (with ``activation='linear'``, a PCA-like model).
        The default came out of a search over depth, width, activation, batch size
        and regularisers at a fixed cost (see "Choosing a representation" in the user
        guide): a wide first layer keeps the neighbourhoods that nearest-neighbour
        and kernel classifiers use, which narrower and deeper stacks trained as long
        lose on small data sets, and the second layer keeps codes of 2 units useful.
    activation : {'linear', 'sigmoid', 'relu', 'elu', 'tanh', 'leaky_relu'}, \
            default='elu'
        Activation of the hidden layers. ELU codes keep more of the neighbourhoods
        that nearest-neighbour classifiers use than ReLU codes at the same cost (see
        "Choosing a representation" in the user guide).
    latent_activation : {'linear', 'sigmoid', 'relu', 'elu', 'tanh', 'leaky_relu'}, \
            default='linear'
        Activation of the code layer. With ``hidden_layer_sizes=()`` and
        ``latent_activation='sigmoid'`` the model is the classic one-hidden-layer
        autoencoder (e.g. 784-200-784 with sigmoid units) whose encoder
        :class:`skae.EncoderClassifier` can reuse as a hidden layer.
    output_activation : {'auto', 'linear', 'sigmoid'}, default='auto'
        Activation of the decoder's last layer. ``'auto'`` chooses ``'sigmoid'`` when
        the training data lie in [0, 1] (images scaled by 1/255, min-max scaled
        columns) and ``'linear'`` otherwise (e.g. standardised columns); the choice
        is stored in ``output_activation_``.
    loss : {'auto', 'mse', 'bce'}, default='auto'
        Reconstruction loss: mean squared error, or binary cross-entropy (needs a
        sigmoid output and inputs in [0, 1]). ``'auto'`` chooses ``'bce'`` for a
        sigmoid output on data in [0, 1] and ``'mse'`` otherwise (stored in
        ``loss_``).
    %(shared_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net.
    module_ : torch.nn.Module
        The trained autoencoder module (``encoder_``/``decoder_`` for its parts).
    history_ : pandas.DataFrame
        Per-epoch training record, indexed by epoch: ``train_loss`` (the weighted sum
        of the terms), ``train_recon`` and one column per active regulariser
        (``train_sparsity``, ``train_contractive``, ``train_weight_decay``,
        ``train_supervised``), their ``valid_`` twins with early stopping, ``event_lr``
        with a schedule, ``dur``.
    output_activation_ : str
        The output activation used (``output_activation`` with ``'auto'`` resolved).
    loss_ : str
        The reconstruction loss used (``loss`` with ``'auto'`` resolved).
    classes_ : ndarray of shape (n_classes,)
        The labelled classes, only with ``supervised_weight_ > 0``.
    supervised_weight_, consistency_weight_ : float
        The supervised and consistency terms' weights (``'auto'`` resolved from
        the labels of ``fit``).
    n_epochs_ : int
        Epochs actually run.
    max_epochs_ : int
        ``max_epochs`` with ``'auto'`` resolved for the training set's size.
    device_ : torch.device
        Device the module lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : The linear baseline.
    skae.VAETransformer : Variational autoencoder.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skae import AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> ae = AutoencoderTransformer(
    ...     latent_dim=8, hidden_layer_sizes=(64,), max_epochs=10, random_state=0
    ... )
    >>> ae.fit_transform(X).shape
    (1797, 8)
    >>> pipe = make_pipeline(ae, LogisticRegression(max_iter=500)).fit(X, y)
    >>> round(pipe.score(X, y), 1) > 0.5
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "latent_activation": [StrOptions(set(ACTIVATIONS))],
    }

    # The model's own parameters; shares_parameters appends AUTOENCODER_PARAMETERS
    # (optimizer, lr, batch_size, ..., the regularisers, n_threads).
    def __init__(
        self,
        latent_dim=10,
        hidden_layer_sizes=(1024, 256),
        activation="elu",
        latent_activation="linear",
        output_activation="auto",
        loss="auto",
    ):
        self.latent_dim = latent_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.latent_activation = latent_activation
        self.output_activation = output_activation
        self.loss = loss

    def _build_module(self, n_features):
        return DenseAutoencoderModule(
            n_features,
            self._hidden_sizes(),
            self.latent_dim,
            activation=self.activation,
            output_activation=self.output_activation_,
            latent_activation=self.latent_activation,
            dropout=self.dropout,
        )
