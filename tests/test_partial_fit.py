"""partial_fit: incremental training block by block (and inside dask-ml's Incremental)."""

import numpy as np
import pytest

from skae import AutoencoderTransformer, ITLAutoencoder, VAETransformer

SMALL = dict(latent_dim=2, hidden_layer_sizes=(8,), batch_size=64, random_state=0)


def weights(estimator):
    return [p.detach().clone() for p in estimator.module_.parameters()]


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        assert x.shape == y.shape
        assert bool((x == y).all())


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer, ITLAutoencoder])
def test_chain_of_calls_is_reproducible(digits, cls):
    X, _ = digits
    blocks = np.array_split(X, 4)
    a, b = cls(**SMALL), cls(**SMALL)
    for block in blocks:
        a.partial_fit(block)
    for block in blocks:
        b.partial_fit(block)
    assert_same_weights(a, b)
    assert a.n_features_in_ == X.shape[1]
    assert a.n_epochs_ == len(a.history_) == 4
    assert a.transform(X).shape == (len(X), 2)


def test_calls_keep_training_the_same_network(digits):
    """Each call is one epoch that continues from the previous weights and optimizer."""
    X, _ = digits
    ae = AutoencoderTransformer(**SMALL).partial_fit(X)
    before = weights(ae)
    optimizer = ae.net_.optimizer_
    ae.partial_fit(X)
    assert ae.net_.optimizer_ is optimizer
    # Adam's state (step counts) carries over: two calls, two epochs' steps.
    steps = [s["step"] for s in optimizer.state.values()]
    assert all(int(s) == 2 * int(np.ceil(len(X) / 64)) for s in steps)
    assert any(not bool((w0 == w1).all()) for w0, w1 in zip(before, weights(ae)))
    losses = ae.history_["train_loss"].to_numpy()
    assert len(losses) == 2 and losses[1] < losses[0]


def test_feature_count_mismatch_is_an_error(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**SMALL).partial_fit(X)
    with pytest.raises(ValueError, match="X has 10 features, but AutoencoderTransformer"):
        ae.partial_fit(X[:, :10])


def test_fit_starts_over(digits):
    X, _ = digits
    params = dict(SMALL, max_epochs=2)
    ae = AutoencoderTransformer(**params)
    for block in np.array_split(X, 3):
        ae.partial_fit(block)
    ae.fit(X)
    assert ae.n_epochs_ == 2
    assert_same_weights(ae, AutoencoderTransformer(**params).fit(X))


def test_partial_fit_after_fit_continues(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**dict(SMALL, max_epochs=2, early_stopping=True)).fit(X)
    ae.partial_fit(X)
    assert ae.n_epochs_ == len(ae.history_) == 3


def test_incremental_on_dask_array_matches_calls_by_hand(digits):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, _ = digits
    dX = da.from_array(X, chunks=(450, X.shape[1]))
    inc = wrappers.Incremental(AutoencoderTransformer(**SMALL), shuffle_blocks=False).fit(dX)
    by_hand = AutoencoderTransformer(**SMALL)
    for start in range(0, len(X), 450):
        by_hand.partial_fit(X[start : start + 450])
    assert inc.estimator_.n_epochs_ == dX.numblocks[0]
    assert_same_weights(inc.estimator_, by_hand)

    # Transforming a Dask array block by block gives each block's codes exactly, and
    # the in-memory codes to float32 precision: torch's matrix products round a row
    # in a block of 450 and in the whole array differently on some CPUs (3 of 3,594
    # codes differed by 3e-8 on a 2-core AMD EPYC).
    per_block = np.vstack(
        [by_hand.transform(X[start : start + 450]) for start in range(0, len(X), 450)]
    )
    in_memory = by_hand.transform(X)
    codes = inc.transform(dX)
    assert isinstance(codes, da.Array)
    codes = codes.compute()
    np.testing.assert_array_equal(codes, per_block)
    np.testing.assert_allclose(codes, in_memory, rtol=1e-5, atol=1e-6)
    post = wrappers.ParallelPostFit(by_hand).transform(dX)
    np.testing.assert_array_equal(post.compute(), per_block)


def test_itl_fitted_with_labels_keeps_training_with_them():
    from sklearn.datasets import load_digits

    from skae import ITLAutoencoder

    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    itl = ITLAutoencoder(
        latent_dim=2,
        hidden_layer_sizes=(8,),
        regularizer="csd+adversarial",
        discriminator_hidden_layer_sizes=(4,),
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    assert itl.partial_fit(X, y).n_epochs_ == 2  # the net built for labels goes on
    with pytest.raises(ValueError, match="was fitted with labels"):
        itl.partial_fit(X)
    with pytest.raises(ValueError, match="labels not seen in fit"):
        itl.partial_fit(X[:5], np.array([0, 1, 2, 3, 99]))


@pytest.mark.parametrize("max_epochs", ["auto", 1, 2])
def test_cosine_schedule_trains_on_every_call(digits, max_epochs):
    """lr_schedule='cosine' (the default) anneals to a floor and holds it: no call is idle."""
    X, _ = digits
    ae = AutoencoderTransformer(**dict(SMALL, max_epochs=max_epochs))
    ae.partial_fit(X[:300])
    for _ in range(5):
        before = weights(ae)
        ae.partial_fit(X[:300])
        assert any(not bool((w0 == w1).all()) for w0, w1 in zip(before, weights(ae)))
    lrs = ae.history_["event_lr"].to_numpy()
    assert lrs[0] == pytest.approx(ae.lr) and (lrs > 0).all()
    assert (np.diff(lrs) <= 0).all()  # never climbs back as a cosine cycle would
    if max_epochs != "auto":  # T_max calls done: held at the floor, a tenth of lr
        np.testing.assert_allclose(lrs[max_epochs:], 0.1 * ae.lr)


def test_partial_fit_after_fit_holds_the_floor_and_fit_keeps_its_schedule(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**dict(SMALL, max_epochs=3)).fit(X)
    fit_lrs = ae.history_["event_lr"].to_numpy()
    np.testing.assert_allclose(fit_lrs, ae.lr * (1 + np.cos(np.pi * np.arange(3) / 3)) / 2)
    ae.partial_fit(X).partial_fit(X)
    np.testing.assert_allclose(ae.history_["event_lr"].to_numpy()[3:], 0.1 * ae.lr)
    # fit starts over with its own schedule, annealing to 0.
    np.testing.assert_array_equal(ae.fit(X).history_["event_lr"].to_numpy(), fit_lrs)


def test_plateau_schedule_after_early_stopping_watches_the_training_loss(digits):
    X, _ = digits
    params = dict(SMALL, max_epochs=2, early_stopping=True, lr_schedule="plateau")
    ae = AutoencoderTransformer(**params).fit(X)
    ae.partial_fit(X)  # no validation loss here
    assert ae.n_epochs_ == 3 and ae.history_["event_lr"].notna().all()
    schedule = dict(ae.net_.callbacks_)["lr_schedule"]
    assert schedule.monitor == "train_loss"


def test_plateau_schedule_counts_epochs_across_partial_fit_calls():
    """One call is one epoch: the plateau schedule must remember the calls before."""
    X = np.random.default_rng(0).random((200, 8))
    # tol=1: no epoch counts as an improvement, so the rate halves after 4 calls.
    ae = AutoencoderTransformer(
        latent_dim=2, hidden_layer_sizes=(4,), lr_schedule="plateau", tol=1.0, random_state=0
    )
    for _ in range(7):
        ae.partial_fit(X)
    rates = ae.history_["event_lr"].tolist()
    assert rates[:5] == [1e-3] * 5
    assert rates[5:] == [5e-4] * 2
