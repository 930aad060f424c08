"""
=====================================================
Choose a latent size with a Pipeline and GridSearchCV
=====================================================

An autoencoder feeds its code to a logistic regression; ``GridSearchCV`` picks the
latent size (and learning rate) by cross-validated accuracy on scikit-learn's digits.
See :doc:`/user_guide/latent_size`.
"""

# requires: AutoencoderTransformer, matplotlib

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# The pipeline and the grid
# -------------------------
# Parameters of a pipeline step are addressed as ``<step>__<parameter>``. A small
# network (one hidden layer of 64 units) keeps the 18 fits of the search short.

pipe = Pipeline(
    [
        ("scale", MinMaxScaler()),
        ("ae", AutoencoderTransformer(hidden_layer_sizes=(64,), max_epochs=20, random_state=0)),
        ("standardise", StandardScaler()),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
param_grid = {"ae__latent_dim": [2, 8, 16], "ae__lr": [1e-3, 1e-2]}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
search.fit(X_train, y_train)

# %%
# The results
# -----------
# The score of each candidate, the best one, and the refitted best pipeline on the
# held-out test set:

results = pd.DataFrame(search.cv_results_)
print(results[["param_ae__latent_dim", "param_ae__lr", "mean_test_score"]].round(3))
print("best:", search.best_params_, "cv accuracy", round(search.best_score_, 3))
print("held-out accuracy:", round(search.score(X_test, y_test), 3))

fig, ax = plt.subplots(figsize=(5, 3.5))
for lr, group in results.groupby("param_ae__lr"):
    ax.errorbar(
        group["param_ae__latent_dim"].astype(int),
        group["mean_test_score"],
        yerr=group["std_test_score"],
        marker="o",
        capsize=3,
        label=f"lr={lr:g}",
    )
ax.set_xlabel("latent size")
ax.set_ylabel("cross-validated accuracy")
ax.legend()
fig.tight_layout()
plt.show()
