"""Dense autoencoder as a scikit-learn transformer."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ._base import BaseAutoencoder
from ._nn import ACTIVATIONS, DenseAutoencoderModule
from ._regularization import SUPERVISED_PARAMETER_CONSTRAINTS, fill_parameter_docs


@fill_parameter_docs
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
    optimizer : str or torch.optim.Optimizer subclass, default='adam'
        One of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'lbfgs', 'rprop'
        (:class:`skae.optim.RProp`), 'torch_rprop' (:class:`torch.optim.Rprop`), or an
        optimizer class.
    optimizer_kwargs : dict, default=None
        Keyword arguments for the optimizer besides ``lr``, e.g. ``{'momentum': 0.9}``.
        Each entry is also a parameter named ``optimizer__<key>``, as in skorch:
        ``set_params(optimizer__momentum=0.9)`` and parameter grids such as
        ``{'optimizer__momentum': [0.5, 0.9]}`` work. Adam, AdamW, SGD and Adagrad
        run torch's fused update (``fused=True``) where torch has it for the
        device, unless these keywords set ``fused``, ``foreach`` or
        ``differentiable`` (the same for every skae estimator).
    lr : float, default=1e-3
        Learning rate (the initial step size for RProp).
    batch_size : int, -1 or 'full', default=128
        Samples per gradient step; ``-1`` or ``'full'`` uses the whole training set.
        Smaller batches give better codes for about the same fit time, since more
        steps of smaller batches cost about as much (see "Choosing a representation"
        in the user guide).
    max_epochs : int or 'auto', default='auto'
        Number of passes over the training data. ``'auto'`` gives about 3,750
        gradient steps (within 8 to 500 epochs): 8 epochs of 60,000 rows in batches
        of 128, 60 epochs of 8,000, so that a small data set is not under-trained;
        the value used is ``max_epochs_``. A small data set thus costs about as much
        as a large one (scikit-learn's 1,797 digits get 250 epochs): set
        ``max_epochs`` for quick fits.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the validation loss
        has not improved by ``tol`` for ``patience`` epochs; the best weights are kept.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    patience : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum absolute improvement of the validation loss.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (e.g. ``LRScheduler``, ``Checkpoint``).
    verbose : int, default=0
        0 is silent, 1 prints skorch's per-epoch table, 2 adds a progress bar.
    device : str, default='cpu'
        'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise and the validation split; an int
        makes results reproducible on the CPU.
    %(regularization_parameters)s
    %(supervised_parameters)s
    %(threads_parameters)s

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
        The labelled classes, only with ``supervised_weight > 0``.
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

    # appended to the shared ``noise`` entry by ``fill_parameter_docs``
    _noise_default_reason = """
        The default, Gaussian noise of standard deviation 0.2, makes the default
        model's codes beat ``PCA(latent_dim)`` ahead of more classifiers and code
        sizes than training without noise, at the same fit time (see "Choosing a
        representation" in the user guide)."""

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "latent_activation": [StrOptions(set(ACTIVATIONS))],
        **SUPERVISED_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        latent_dim=10,
        hidden_layer_sizes=(1024, 256),
        activation="elu",
        latent_activation="linear",
        output_activation="auto",
        loss="auto",
        optimizer="adam",
        optimizer_kwargs=None,
        lr=1e-3,
        batch_size=128,
        max_epochs="auto",
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        device="cpu",
        random_state=None,
        noise="gaussian",
        noise_level=0.2,
        sparsity="l1",
        sparsity_weight=0.0,
        sparsity_target=0.05,
        contractive_weight=0.0,
        dropout=0.0,
        weight_decay=0.0,
        lr_schedule="cosine",
        supervised_weight=0.0,
        consistency_weight=0.0,
        consistency_radius=2.0,
        n_threads=None,
    ):
        self.latent_dim = latent_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.latent_activation = latent_activation
        self.output_activation = output_activation
        self.loss = loss
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.callbacks = callbacks
        self.verbose = verbose
        self.device = device
        self.random_state = random_state
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.supervised_weight = supervised_weight
        self.consistency_weight = consistency_weight
        self.consistency_radius = consistency_radius
        self.n_threads = n_threads

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
