"""Choose a latent size with a Pipeline and GridSearchCV.

An autoencoder feeds its code to a logistic regression; ``GridSearchCV`` picks the
latent size (and learning rate) by cross-validated accuracy on scikit-learn's digits.
"""

# requires: AutoencoderTransformer

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = Pipeline(
    [
        ("scale", MinMaxScaler()),
        ("ae", AutoencoderTransformer(max_epochs=20, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
param_grid = {"ae__latent_dim": [2, 8, 16], "ae__lr": [1e-3, 1e-2]}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
search.fit(X_train, y_train)

results = pd.DataFrame(search.cv_results_)
print(results[["param_ae__latent_dim", "param_ae__lr", "mean_test_score"]].round(3))
print("best:", search.best_params_, "cv accuracy", round(search.best_score_, 3))
print("held-out accuracy:", round(search.score(X_test, y_test), 3))
