"""Stack the codes of k autoencoders and classify them with an SVC.

``KAutoencoderTransformer`` trains several autoencoders and concatenates their codes;
an ``SVC`` on that representation is compared with an ``SVC`` on PCA of the same size.
"""

# requires: KAutoencoderTransformer

from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC

from skae import KAutoencoderTransformer

X, y = load_digits(return_X_y=True)

ensemble = make_pipeline(
    MinMaxScaler(),
    KAutoencoderTransformer(latent_dim=8, max_epochs=20, random_state=0),
    SVC(),
)
scores = cross_val_score(ensemble, X, y, cv=3)
print("k-autoencoder + SVC:", scores.mean().round(3))

code_size = ensemble.fit(X, y)[1].transform(MinMaxScaler().fit_transform(X)).shape[1]
baseline = make_pipeline(MinMaxScaler(), PCA(n_components=code_size), SVC())
print(f"PCA({code_size}) + SVC:", cross_val_score(baseline, X, y, cv=3).mean().round(3))
