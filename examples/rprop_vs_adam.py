"""Full-batch RProp against mini-batch Adam on the same autoencoder.

RProp adapts one step size per weight from the sign of the gradient only, so it
needs the exact (full-batch) gradient; Adam works on mini-batches. Both train the
same architecture for the same number of epochs on the digits.
"""

# requires: AutoencoderTransformer, optim

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X / 16.0, random_state=0)

common = dict(latent_dim=10, hidden_layer_sizes=(64,), max_epochs=100, random_state=0)
models = {
    "adam (batch 128)": AutoencoderTransformer(optimizer="adam", batch_size=128, **common),
    "irprop+ (full batch)": AutoencoderTransformer(
        optimizer="rprop", lr=1e-2, batch_size="full", **common
    ),
    "irprop- (full batch)": AutoencoderTransformer(
        optimizer="rprop",
        optimizer_kwargs={"variant": "irprop-"},
        lr=1e-2,
        batch_size="full",
        **common,
    ),
}
for name, model in models.items():
    model.fit(X_train)
    seconds = model.history_["dur"].sum()
    error = model.reconstruction_error(X_test).mean()
    print(f"{name:22s} test MSE {error:.4f}   train time {seconds:.1f} s")
