"""Exceptions and warnings raised by skae estimators.

Data problems have their own exceptions in :mod:`skae.datasets`
(:class:`~skae.datasets.DatasetNotFoundError`, :class:`~skae.datasets.DatasetFileError`)
and the study runner in :mod:`skae.study`.
"""

from __future__ import annotations

__all__ = [
    "InconsistentVersionWarning",
    "OutputRangeWarning",
    "StopTraining",
    "TrainingDivergedError",
]


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss (NaN or infinity) and was stopped.

    Raised by ``fit`` of every skae estimator instead of returning a model whose codes
    are NaN. The message names the epoch and the loss term that went non-finite and
    suggests a lower learning rate. Inside :class:`~sklearn.model_selection.GridSearchCV`
    the candidate fails and gets ``error_score``, as any failed fit does.
    """


class StopTraining(KeyboardInterrupt):
    """Raised by a skorch callback to end training early and keep the model.

    skorch ends training when a callback raises ``KeyboardInterrupt``, but skae
    estimators raise a ``KeyboardInterrupt`` (Ctrl-C) to the caller and keep their
    previous state, so that an abort never passes for a result. A callback that means
    to stop training (after a budget of steps, say) raises ``StopTraining`` instead:
    ``fit`` then ends as after its last epoch and returns the model. skorch's
    ``EarlyStopping`` is recognised and stops training as before.
    """


class OutputRangeWarning(UserWarning):
    """The data lie outside the range the model's output activation can produce.

    Raised by ``fit`` when ``output_activation='sigmoid'`` meets inputs outside
    [0, 1]: training runs, but no reconstruction can reach those values. Scale the
    data to [0, 1] or use a linear output.
    """


class InconsistentVersionWarning(UserWarning):
    """A model pickled by one skae version was loaded by another.

    Parameters
    ----------
    estimator_name : str
        The class of the unpickled estimator.
    current_skae_version : str
        The skae version doing the loading.
    original_skae_version : str
        The skae version that pickled the estimator (``'unknown'`` for pickles made
        before skae stamped its version).
    """

    def __init__(self, *, estimator_name, current_skae_version, original_skae_version):
        self.estimator_name = estimator_name
        self.current_skae_version = current_skae_version
        self.original_skae_version = original_skae_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skae version "
            f"{self.original_skae_version} when using version {self.current_skae_version}. "
            "This might lead to breaking code or invalid results. Use at your own risk."
        )
