"""Estimator parameters declared once: constraints, default and documentation.

A :class:`Parameter` holds what scikit-learn and the reader need of one estimator
parameter: the constraints checked when ``fit`` starts, its default and its numpydoc
entry. The parameters that several estimators take (the training options, the
regularisers) are declared here or by their loss term, and
:func:`shares_parameters` gives them to an estimator: it appends them to the
estimator's own ``__init__`` and documents them in its docstring, so that a new
estimator inherits them instead of copying them, and the documentation cannot drift
from the code.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from numbers import Integral, Real

from sklearn.utils._param_validation import Options, StrOptions

from ._validation import NonBoolInterval

#: the placeholder, alone on its line, that :func:`shares_parameters` replaces
SHARED_PARAMETERS_PLACEHOLDER = "%(shared_parameters)s"

#: the lines of a docstring's numpydoc entries: ``name : type`` then the description
_HEADER_INDENT = " " * 4
_BODY_INDENT = " " * 8


@dataclass(frozen=True)
class Parameter:
    """One estimator parameter: constraints, default and documentation.

    Parameters
    ----------
    name : str
        The keyword of ``__init__``.
    type : str
        The numpydoc type, e.g. ``"float"`` or ``"{'l1', 'kl'}"``.
    default : object
        The default, unless an estimator gives its own.
    constraints : tuple
        scikit-learn's parameter constraints (see ``_parameter_constraints``).
    doc : str
        The description of the numpydoc entry, wrapped, without indentation.
    """

    name: str
    type: str
    default: object
    constraints: tuple
    doc: str

    def entry(self, default=inspect.Parameter.empty, note: str = "") -> str:
        """The numpydoc entry, indented for a class docstring.

        Parameters
        ----------
        default : object, optional
            The default the estimator uses, if not the declared one.
        note : str, default=''
            A paragraph the estimator adds to the shared description.
        """
        default = self.default if default is inspect.Parameter.empty else default
        body = textwrap.dedent(self.doc).strip()
        if note:
            body += "\n" + textwrap.dedent(note).strip()
        header = f"{_HEADER_INDENT}{self.name} : {self.type}, default={format_default(default)}"
        return header + "\n" + textwrap.indent(body, _BODY_INDENT)


def format_default(value) -> str:
    """A default as the documentation shows it: ``1e-3`` rather than ``0.001``."""
    if isinstance(value, float) and 0 < abs(value) < 0.01:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return repr(value)


def constraints_of(parameters) -> dict:
    """scikit-learn's ``_parameter_constraints`` entries of ``parameters``."""
    return {parameter.name: list(parameter.constraints) for parameter in parameters}


def shares_parameters(parameters, *, defaults=None, notes=None):
    """Class decorator: give an estimator the shared ``parameters`` after its own.

    The class's own ``__init__`` declares and stores its own parameters, as
    scikit-learn asks. The decorated ``__init__`` takes those, then ``parameters`` in
    their order (positional or keyword, as before), and stores every one of them
    unchanged: its signature, which ``get_params`` and ``clone`` read, is explicit.
    The line ``%(shared_parameters)s`` of the class docstring becomes the numpydoc
    entries of ``parameters``.

    Parameters
    ----------
    parameters : sequence of Parameter
        The shared parameters, in signature order.
    defaults : dict, default=None
        The estimator's own default of some of them.
    notes : dict, default=None
        A paragraph the estimator adds to the entry of some of them.
    """
    defaults = dict(defaults or {})
    notes = dict(notes or {})
    names = [parameter.name for parameter in parameters]
    unknown = (set(defaults) | set(notes)) - set(names)
    if unknown:
        raise ValueError(f"defaults or notes for parameters not shared: {sorted(unknown)}")

    def decorate(cls):
        own_init = cls.__init__
        own = inspect.signature(own_init)
        own_names = [name for name in own.parameters if name != "self"]
        shared = [
            inspect.Parameter(
                parameter.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=defaults.get(parameter.name, parameter.default),
            )
            for parameter in parameters
        ]
        signature = own.replace(parameters=[*own.parameters.values(), *shared])

        def __init__(self, *args, **kwargs):
            arguments = signature.bind(self, *args, **kwargs)
            arguments.apply_defaults()
            values = dict(arguments.arguments)
            del values["self"]
            own_init(self, **{name: values.pop(name) for name in own_names})
            for name, value in values.items():
                setattr(self, name, value)

        __init__.__signature__ = signature
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__module__ = cls.__module__
        __init__.__doc__ = own_init.__doc__
        cls.__init__ = __init__
        cls.__doc__ = _document(cls.__doc__, parameters, defaults, notes)
        return cls

    return decorate


def _document(docstring, parameters, defaults, notes) -> str | None:
    """``docstring`` with its placeholder line replaced by the entries of ``parameters``."""
    if docstring is None:
        return None
    entries = "\n".join(
        parameter.entry(
            defaults.get(parameter.name, inspect.Parameter.empty),
            notes.get(parameter.name, ""),
        )
        for parameter in parameters
    )
    lines = docstring.split("\n")
    placeholder = [
        i for i, line in enumerate(lines) if line.strip() == SHARED_PARAMETERS_PLACEHOLDER
    ]
    if len(placeholder) != 1:
        raise ValueError(f"the docstring needs one line {SHARED_PARAMETERS_PLACEHOLDER!r}")
    lines[placeholder[0]] = entries
    return "\n".join(lines)


def document_parameters(*parameters):
    """Class decorator: replace ``%(<name>)s`` lines of the docstring by the entries of
    ``parameters`` with the defaults of the class's ``__init__``.

    For an estimator whose signature is written out by hand but shares some entries
    with the others; a test checks that its defaults agree with the declarations.
    """

    def decorate(cls):
        signature = inspect.signature(cls.__init__).parameters
        lines = (cls.__doc__ or "").split("\n")
        for parameter in parameters:
            placeholder = f"%({parameter.name})s"
            found = [i for i, line in enumerate(lines) if line.strip() == placeholder]
            if len(found) != 1:
                raise ValueError(f"{cls.__name__}'s docstring needs one line {placeholder!r}")
            lines[found[0]] = parameter.entry(signature[parameter.name].default)
        cls.__doc__ = "\n".join(lines)
        return cls

    return decorate


# --------------------------------------------------------------------- the declarations
OPTIMIZER = Parameter(
    "optimizer",
    "str or torch.optim.Optimizer subclass",
    "adam",
    (str, type),
    """\
    One of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'lbfgs', 'rprop'
    (:class:`skae.optim.RProp`), 'torch_rprop' (:class:`torch.optim.Rprop`), or an
    optimizer class.""",
)
OPTIMIZER_KWARGS = Parameter(
    "optimizer_kwargs",
    "dict",
    None,
    (dict, None),
    """\
    Keyword arguments for the optimizer besides ``lr``, e.g. ``{'momentum': 0.9}``.
    Each entry is also a parameter named ``optimizer__<key>``, as in skorch:
    ``set_params(optimizer__momentum=0.9)`` and parameter grids such as
    ``{'optimizer__momentum': [0.5, 0.9]}`` work. Adam, AdamW, SGD and Adagrad
    run torch's fused update (``fused=True``) where torch has it for the
    device, unless these keywords set ``fused``, ``foreach`` or
    ``differentiable`` (the same for every skae estimator).""",
)
LR = Parameter(
    "lr",
    "float",
    1e-3,
    (NonBoolInterval(Real, 0, None, closed="neither"),),
    "Learning rate (the initial step size for RProp).",
)
BATCH_SIZE = Parameter(
    "batch_size",
    "int, -1 or 'full'",
    128,
    (
        NonBoolInterval(Integral, 1, None, closed="left"),
        Options(Integral, {-1}),
        StrOptions({"full"}),
    ),
    "Samples per gradient step; ``-1`` or ``'full'`` uses the whole training set.",
)
MAX_EPOCHS = Parameter(
    "max_epochs",
    "int or 'auto'",
    50,
    (NonBoolInterval(Integral, 0, None, closed="left"), StrOptions({"auto"})),
    """\
    Number of passes over the training data. ``'auto'`` gives about 3,750
    gradient steps (within 8 to 500 epochs): 8 epochs of 60,000 rows in batches
    of 128, 60 epochs of 8,000, so that a small data set is not under-trained;
    the value used is ``max_epochs_``. A small data set thus costs about as much
    as a large one (scikit-learn's 1,797 digits get 250 epochs): set
    ``max_epochs`` for quick fits.""",
)
EARLY_STOPPING = Parameter(
    "early_stopping",
    "bool",
    False,
    ("boolean",),
    """\
    Hold out ``validation_fraction`` of the data and stop when the validation loss
    has not improved by ``tol`` for ``patience`` epochs; the best weights are kept.""",
)
VALIDATION_FRACTION = Parameter(
    "validation_fraction",
    "float",
    0.1,
    (NonBoolInterval(Real, 0, 1, closed="neither"),),
    "Fraction held out for early stopping.",
)
PATIENCE = Parameter(
    "patience",
    "int",
    10,
    (NonBoolInterval(Integral, 1, None, closed="left"),),
    "Epochs without improvement before stopping.",
)
TOL = Parameter(
    "tol",
    "float",
    1e-4,
    (NonBoolInterval(Real, 0, None, closed="left"),),
    "Minimum absolute improvement of the validation loss.",
)
CALLBACKS = Parameter(
    "callbacks",
    "list of skorch callbacks",
    None,
    (list, None),
    "Extra skorch callbacks (e.g. ``LRScheduler``, ``Checkpoint``).",
)
VERBOSE = Parameter(
    "verbose",
    "int",
    0,
    ("verbose",),
    "0 is silent, 1 prints skorch's per-epoch table, 2 adds a progress bar.",
)
DEVICE = Parameter(
    "device",
    "str",
    "cpu",
    (str,),
    "'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available).",
)
RANDOM_STATE = Parameter(
    "random_state",
    "int, RandomState instance or None",
    None,
    ("random_state",),
    """\
    Seeds weight initialisation, shuffling, noise and the validation split; an int
    makes results reproducible on the CPU.""",
)

#: the training options of every skae estimator trained through skorch, in order
TRAINING_PARAMETERS = (
    OPTIMIZER,
    OPTIMIZER_KWARGS,
    LR,
    BATCH_SIZE,
    MAX_EPOCHS,
    EARLY_STOPPING,
    VALIDATION_FRACTION,
    PATIENCE,
    TOL,
    CALLBACKS,
    VERBOSE,
    DEVICE,
    RANDOM_STATE,
)

NOISE_TYPES = ("masking", "gaussian")
LR_SCHEDULES = ("cosine", "plateau")

NOISE = Parameter(
    "noise",
    "{'masking', 'gaussian'} or None",
    None,
    (StrOptions(set(NOISE_TYPES)), None),
    """\
    Denoising: corrupt the encoder's input during training and reconstruct the
    clean input. ``'masking'`` sets each input to 0 with probability
    ``noise_level``; ``'gaussian'`` adds Gaussian noise of standard deviation
    ``noise_level``; None trains on the clean input.
    :meth:`transform` never adds noise.""",
)
NOISE_LEVEL = Parameter(
    "noise_level",
    "float",
    0.2,
    (NonBoolInterval(Real, 0, None, closed="left"),),
    "Masking probability in [0, 1), or the Gaussian noise's standard deviation.",
)
DROPOUT = Parameter(
    "dropout",
    "float",
    0.0,
    (NonBoolInterval(Real, 0, 1, closed="left"),),
    """\
    Dropout probability after each hidden layer of the encoder and the decoder
    (training only).""",
)
LR_SCHEDULE = Parameter(
    "lr_schedule",
    "{'cosine', 'plateau'} or None",
    None,
    (StrOptions(set(LR_SCHEDULES)), None),
    """\
    Learning-rate schedule: ``'cosine'`` anneals the rate to 0 over
    ``max_epochs``; ``'plateau'`` halves it when the loss (the validation loss
    with early stopping) has not improved by ``tol`` for 3 epochs. The rate of
    each epoch is logged as ``event_lr``.""",
)
N_THREADS = Parameter(
    "n_threads",
    "int or None",
    None,
    # torch keeps the thread count in a C int
    (NonBoolInterval(Integral, 1, 2**31 - 1, closed="both"), None),
    """\
    torch threads during ``fit`` and ``transform`` (restored afterwards); None
    keeps torch's setting (one per core). On a machine where other work keeps
    cores busy, 1 avoids threads waiting on each other.""",
)


def check_noise_level(noise, noise_level) -> None:
    """A ``ValueError`` unless ``noise_level`` suits ``noise`` (masking needs [0, 1))."""
    if noise == "masking" and not 0 <= noise_level < 1:
        raise ValueError(
            "noise='masking' drops each input with probability noise_level, which must "
            f"lie in [0, 1); got noise_level={noise_level!r}."
        )
