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
    are left out. When several representations compete, a last line counts the cells
    (classifier and latent size) each one won.

    Parameters
    ----------
    frame : pandas.DataFrame
        A study's results (:func:`~skae.study.run_study`).

    Returns
    -------
    lines : list of str
        A title, then one line per (classifier, latent size) and the count of cells
        won; empty when no row has scores.

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
    cells won: pca 1, ae-relu 1 (of 2)
    """
    scored = succeeded(frame)
    if scored.empty:
        return []
    mean = scored.groupby(["classifier", "latent_dim", "representation"], sort=False)[
        "accuracy"
    ].mean()
    entries = []
    # cells won per representation, in table order; a tied cell is nobody's
    wins = dict.fromkeys(mean.index.get_level_values(2), 0)
    n_tied = 0
    for (classifier, latent_dim), accuracy in mean.groupby(level=[0, 1], sort=False):
        ranked = accuracy.droplevel([0, 1]).sort_values(ascending=False, kind="stable")
        best, score = ranked.index[0], ranked.iloc[0]
        if len(ranked) == 1:
            margin = "(the only one)"
        elif ranked.iloc[1] == score:
            margin = f"tied with {ranked.index[1]}"
            n_tied += 1
        else:
            margin = f"+{score - ranked.iloc[1]:.4f} over {ranked.index[1]}"
            wins[best] += 1
        entries.append((classifier, f"m={latent_dim}", best, f"{score:.4f}", margin))
    entries.sort(key=lambda e: (list(mean.index.get_level_values(0)).index(e[0]), int(e[1][2:])))
    widths = [max(len(e[i]) for e in entries) for i in range(4)]
    lines = ["best representation per latent size (test accuracy, mean over seeds):"]
    for entry in entries:
        cells = [value.ljust(width) for value, width in zip(entry, widths)]
        lines.append("  " + "  ".join([*cells, entry[4]]))
    if len(wins) > 1:
        counts = sorted(wins.items(), key=lambda item: -item[1])  # stable: table order
        counts = [f"{name} {n}" for name, n in counts] + ([f"tied {n_tied}"] if n_tied else [])
        lines.append(f"cells won: {', '.join(counts)} (of {len(entries)})")
    return lines


def settings_lines(frame: pd.DataFrame) -> list[str]:
    """``representation: params`` once per representation, in table order."""
    params = dict(zip(frame["representation"], frame["params"].fillna("")))
    return [f"{name}: {value}" if value else name for name, value in params.items()]
