"""
============================================
Full-batch and mini-batch RProp against Adam
============================================

RProp adapts one step size per weight from the sign of the gradient only. Full batch,
it follows the exact gradient with one step per epoch; on mini-batches ("batch
RProp") it takes more steps, but sampling noise flips signs and shrinks the step sizes,
so the median step size is printed too. All models train the same architecture for
the same number of epochs on the digits. See :doc:`/user_guide/rprop`.
"""

# requires: AutoencoderTransformer, optim, matplotlib

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X / 16.0, random_state=0)

# %%
# Four optimizers, one autoencoder
# --------------------------------
# ``optimizer='rprop'`` selects :class:`skae.optim.RProp` (iRprop+ by default);
# ``optimizer_kwargs`` passes the variant. ``lr`` is RProp's initial step size.

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

# %%
# Test reconstruction error and step sizes
# ----------------------------------------
# When most step sizes sit at the lower bound (1e-6), RProp has stopped moving.

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

# %%
# The training loss per epoch (the binary cross-entropy that ``loss='auto'`` chose
# for pixels in [0, 1]). The two full-batch variants differ only when the loss goes
# up, where iRprop+ undoes its last step; where their curves coincide, it never did.

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, model in models.items():
    ax.plot(model.history_["train_loss"].to_numpy(), label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
