"""Studies: compare representations, latent sizes and classifiers in one call.

:func:`run_study` fits every representation (PCA and the skae autoencoders) at every
latent size and seed, trains scikit-learn classifiers on the codes and returns one
pandas row per combination: accuracy, macro precision and recall, reconstruction
error, timings and parameter counts; with ``few_labels``, also a table of classifiers
trained on a few labels per class. With an ``output_dir`` it writes the tables as CSV
and Markdown plus figures, row by row, so that an interrupted study resumes where it
stopped. The console command ``skae study`` (or ``python -m skae study``) runs the
same thing; see the user guide page "Running a study".
"""

from ._cell import n_trainable_parameters
from ._data import DATASETS, StudyData, load_study_data
from ._errors import StudyError, StudyInterrupted
from ._figures import plot_study
from ._folder import load_predictions
from ._registry import CLASSIFIERS, representation_names
from ._runner import run_study

__all__ = [
    "StudyData",
    "StudyError",
    "StudyInterrupted",
    "classifier_names",
    "dataset_names",
    "load_predictions",
    "load_study_data",
    "n_trainable_parameters",
    "plot_study",
    "representation_names",
    "run_study",
]


def dataset_names() -> list[str]:
    """Names accepted by ``run_study(dataset=...)``.

    Examples
    --------
    >>> from skae.study import dataset_names
    >>> dataset_names()
    ['digits', 'mnist', 'fashion-mnist', 'kmnist', 'kmnist-test']
    """
    return list(DATASETS)


def classifier_names() -> list[str]:
    """Names accepted by ``run_study(classifiers=...)``.

    Examples
    --------
    >>> from skae.study import classifier_names
    >>> classifier_names()
    ['logreg', 'svc', 'knn', 'mlp', 'mlp-sigmoid']
    """
    return list(CLASSIFIERS)
