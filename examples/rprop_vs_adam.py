"""Full-batch and mini-batch RProp against mini-batch Adam on the same autoencoder.

RProp adapts one step size per weight from the sign of the gradient only. Full batch,
it follows the exact gradient with one step per epoch; on mini-batches ("batch
RProp") it takes more steps, but sampling noise flips signs and shrinks the step sizes,
so the median step size is printed too. All models train the same architecture for
the same number of epochs on the digits.
"""

# requires: AutoencoderTransformer, optim

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X / 16.0, random_state=0)

common = dict(latent_dim=10, hidden_layer_sizes=(64,), max_epochs=40, random_state=0)
models = {
    "adam (batch 256)": AutoencoderTransformer(optimizer="adam", batch_size=256, **common),
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
    "irprop+ (batch 256)": AutoencoderTransformer(
        optimizer="rprop", lr=1e-2, batch_size=256, **common
    ),
}
for name, model in models.items():
    model.fit(X_train)
    seconds = model.history_["dur"].sum()
    error = model.reconstruction_error(X_test).mean()
    line = f"{name:22s} test MSE {error:.4f}   train time {seconds:.1f} s"
    optimizer = model.net_.optimizer_
    if "step_size" in next(iter(optimizer.state.values()), {}):
        steps = np.concatenate([s["step_size"].ravel().numpy() for s in optimizer.state.values()])
        line += f"   median step size {np.median(steps):.1e}"
    print(line)
