"""Reuse a trained encoder as the first layers of a classifier.

``EncoderClassifier`` pre-trains an autoencoder on the inputs (no labels), then puts
a softmax layer on its encoder and fine-tunes the whole network on the labels.
"""

# requires: EncoderClassifier

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import EncoderClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, stratify=y, random_state=0)

clf = EncoderClassifier(latent_dim=16, max_epochs=30, random_state=0)
clf.fit(X_train, y_train)
print("test accuracy:", round(clf.score(X_test, y_test), 3))
