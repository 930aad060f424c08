"""What a study's table says, in a few lines: the best representation per latent size."""

from __future__ import annotations

import pandas as pd


def succeeded(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that have scores (failed rows, with an ``error``, have none)."""
    if "error" not in frame:
        return frame
    return frame[frame["error"].fillna("") == ""]


def summary_lines(frame: pd.DataFrame) -> list[str]:
    """For each classifier and latent size, the representation with the best accuracy.

    Accuracy is the mean over seeds; the margin is over the runner-up. Failed rows
    are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        A study's results (:func:`~skae.study.run_study`).

    Returns
    -------
    lines : list of str
        A title, then one line per (classifier, latent size); empty when no row has
        scores.

    Examples
    --------
    >>> import pandas as pd
    >>> from skae.study._summary import summary_lines
    >>> frame = pd.DataFrame({
    ...     "representation": ["pca", "ae-relu", "pca", "ae-relu"],
    ...     "latent_dim": [2, 2, 8, 8], "classifier": ["logreg"] * 4, "seed": [0] * 4,
    ...     "accuracy": [0.59, 0.71, 0.91, 0.90], "error": [""] * 4,
    ... })
    >>> for line in summary_lines(frame):
    ...     print(line)
    best representation per latent size (test accuracy, mean over seeds):
      logreg  m=2  ae-relu  0.7100  +0.1200 over pca
      logreg  m=8  pca      0.9100  +0.0100 over ae-relu
    """
    scored = succeeded(frame)
    if scored.empty:
        return []
    mean = scored.groupby(["classifier", "latent_dim", "representation"], sort=False)[
        "accuracy"
    ].mean()
    entries = []
    for (classifier, latent_dim), accuracy in mean.groupby(level=[0, 1], sort=False):
        ranked = accuracy.droplevel([0, 1]).sort_values(ascending=False, kind="stable")
        best, score = ranked.index[0], ranked.iloc[0]
        if len(ranked) == 1:
            margin = "(the only one)"
        elif ranked.iloc[1] == score:
            margin = f"tied with {ranked.index[1]}"
        else:
            margin = f"+{score - ranked.iloc[1]:.4f} over {ranked.index[1]}"
        entries.append((classifier, f"m={latent_dim}", best, f"{score:.4f}", margin))
    entries.sort(key=lambda e: (list(mean.index.get_level_values(0)).index(e[0]), int(e[1][2:])))
    widths = [max(len(e[i]) for e in entries) for i in range(4)]
    lines = ["best representation per latent size (test accuracy, mean over seeds):"]
    for entry in entries:
        cells = [value.ljust(width) for value, width in zip(entry, widths)]
        lines.append("  " + "  ".join([*cells, entry[4]]))
    return lines


def settings_lines(frame: pd.DataFrame) -> list[str]:
    """``representation: params`` once per representation, in table order."""
    params = dict(zip(frame["representation"], frame["params"].fillna("")))
    return [f"{name}: {value}" if value else name for name, value in params.items()]
