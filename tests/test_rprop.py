"""skae.optim.RProp: the four variants against hand-computed steps and the papers' pseudocode,
torch.optim.Rprop bit for bit, bad input, persistence, and training through skae and skorch."""

import copy
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from skorch import NeuralNetClassifier

from skae import AutoencoderTransformer
from skae.optim import VARIANTS, RProp

from .conftest import requires_cuda

ETAS = (0.5, 1.2)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: waking a second thread costs more than the arithmetic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ scripted problems
def run_scripted(grads, losses=None, foreach=None, **kwargs):
    """Step an RProp over scripted gradients (and losses); return the weights after each step.

    ``grads[t]`` is the gradient handed to step ``t``; for iRprop+ the closure returns
    ``losses[t]``, the loss at the weights step ``t`` starts from.
    """
    w = torch.zeros(len(grads[0]), dtype=torch.float64, requires_grad=True)
    opt = RProp([w], foreach=foreach, **kwargs)
    trajectory = []
    for t, g in enumerate(grads):

        def closure(t=t, g=g):
            w.grad = torch.tensor(g, dtype=torch.float64)
            return torch.tensor(losses[t]) if losses is not None else None

        if losses is None:
            closure()
            opt.step()
        else:
            opt.step(closure)
        trajectory.append(w.detach().clone().tolist())
    return np.array(trajectory)


# weight a: the sign flips at step 3 (and back at step 4 for Rprop-, which keeps the
# stored gradient); weight b: a zero gradient at step 2 and a sign flip at step 4.
GRADS = [(1.0, -2.0), (1.0, 0.0), (-1.0, -1.0), (1.0, 3.0), (1.0, 0.5)]
# Hand-computed with lr (the initial step) 0.1 and etas (0.5, 1.2): columns a, b.
EXPECTED = {
    # a: 0.1, 0.12 forward; flip: step 0.06 backwards (a += 0.06); flip again: 0.03
    #    back (a -= 0.03); then 0.036. b: +0.1; g = 0 does not move; +0.1; flip:
    #    step 0.05 in the new direction; then 0.06.
    "rprop-": [(-0.1, 0.1), (-0.22, 0.1), (-0.16, 0.2), (-0.19, 0.15), (-0.226, 0.09)],
    # a: flip at step 3: no move, g := 0; step 4 product 0 keeps 0.06; step 5 grows to
    #    0.072. b: flip at step 4: no move; step 5 moves 0.05.
    "irprop-": [(-0.1, 0.1), (-0.22, 0.1), (-0.22, 0.2), (-0.28, 0.2), (-0.352, 0.15)],
    # a: flip at step 3 reverts the last update (+0.12), g := 0; then -0.06, -0.072.
    # b: flip at step 4 reverts the last update (-0.1); then -0.05.
    "rprop+": [(-0.1, 0.1), (-0.22, 0.1), (-0.10, 0.2), (-0.16, 0.1), (-0.232, 0.05)],
}
# iRprop+ reverts a (flip at step 3, where the loss went up 4 -> 4.5) like Rprop+, but
# not b (flip at step 4, where the loss went down 4.5 -> 4), which moves like iRprop-.
MIXED_LOSSES = [5.0, 4.0, 4.5, 4.0, 3.0]
EXPECTED["irprop+"] = [(a, b) for (a, _), (_, b) in zip(EXPECTED["rprop+"], EXPECTED["irprop-"])]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_hand_computed_trajectories(variant, foreach):
    losses = MIXED_LOSSES if variant == "irprop+" else None
    got = run_scripted(GRADS, losses, foreach=foreach, lr=0.1, variant=variant)
    np.testing.assert_allclose(got, EXPECTED[variant], rtol=0, atol=1e-12)


def test_irprop_plus_follows_the_loss():
    # Loss always up: every flip reverts, as in Rprop+; always down: never, as iRprop-.
    up = run_scripted(GRADS, [1.0, 2.0, 3.0, 4.0, 5.0], lr=0.1, variant="irprop+")
    down = run_scripted(GRADS, [5.0, 4.0, 3.0, 2.0, 1.0], lr=0.1, variant="irprop+")
    np.testing.assert_allclose(up, EXPECTED["rprop+"], atol=1e-12)
    np.testing.assert_allclose(down, EXPECTED["irprop-"], atol=1e-12)


def test_step_sizes_are_bounded():
    # A constant gradient grows the step to its maximum; an alternating one (Rprop-
    # keeps every flip) shrinks it to its minimum.
    for grads, bound in (([(1.0,)] * 30, 0.5), ([((-1.0) ** t,) for t in range(40)], 1e-3)):
        w = torch.zeros(1, requires_grad=True)
        opt = RProp([w], lr=0.1, step_sizes=(1e-3, 0.5), variant="rprop-")
        for g in grads:
            w.grad = torch.tensor(g)
            opt.step()
        assert opt.state[w]["step_size"].item() == pytest.approx(bound)
        assert opt.state[w]["step"].item() == len(grads)


# ------------------------------------------------------------------ the papers, literally
def paper_rprop(grads, losses, variant, lr=0.1, etas=ETAS, step_sizes=(1e-6, 50.0)):
    """Igel & Hüsken (2000), figures 1-4, one weight at a time in plain Python floats."""
    eta_minus, eta_plus = etas
    n = len(grads[0])
    w, delta, g_prev, dw_prev = [0.0] * n, [lr] * n, [0.0] * n, [0.0] * n
    E_prev = math.inf
    trajectory = []
    for g_t, E in zip(grads, losses):
        for i in range(n):
            g = g_t[i]
            sign_g = (g > 0) - (g < 0)
            if g_prev[i] * g > 0:
                delta[i] = min(delta[i] * eta_plus, step_sizes[1])
                dw_prev[i] = -sign_g * delta[i]
                w[i] += dw_prev[i]
            elif g_prev[i] * g < 0:
                delta[i] = max(delta[i] * eta_minus, step_sizes[0])
                if variant == "rprop+" or (variant == "irprop+" and E_prev < E):
                    w[i] -= dw_prev[i]
                    dw_prev[i] = -dw_prev[i]
                elif variant == "rprop-":
                    dw_prev[i] = -sign_g * delta[i]
                    w[i] += dw_prev[i]
                else:
                    dw_prev[i] = 0.0
                if variant != "rprop-":
                    g = 0.0
            else:
                dw_prev[i] = -sign_g * delta[i]
                w[i] += dw_prev[i]
            g_prev[i] = g
        E_prev = E
        trajectory.append(list(w))
    return np.array(trajectory)


@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_paper_pseudocode_on_random_sequences(variant):
    rng = np.random.default_rng(1)
    # small integers: frequent sign changes and exact zeros
    grads = [tuple(float(v) for v in rng.integers(-2, 3, size=7)) for _ in range(60)]
    losses = [float(v) for v in rng.random(60)]
    expected = paper_rprop(grads, losses, variant)
    for foreach in (False, True):
        got = run_scripted(grads, losses, foreach=foreach, lr=0.1, variant=variant)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ torch.optim.Rprop
def _small_net(dtype=torch.float32):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    return net.to(dtype)


def _train(net, optimizer, X, Y, steps, maximize=False, closure=False):
    """``steps`` steps on the MSE (its negative when maximising), with or without a closure."""

    def objective():
        optimizer.zero_grad()
        loss = torch.mean((net(X) - Y) ** 2)
        loss = -loss if maximize else loss
        loss.backward()
        return loss

    for _ in range(steps):
        if closure:
            optimizer.step(objective)
        else:
            objective()
            optimizer.step()


@pytest.mark.parametrize(
    "dtype, maximize, foreach",
    [(torch.float32, False, False), (torch.float32, False, True), (torch.float64, True, True)],
)
def test_irprop_minus_equals_torch_rprop_bit_for_bit(dtype, maximize, foreach):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 6, generator=gen, dtype=dtype)
    Y = torch.randn(64, 3, generator=gen, dtype=dtype)
    ours, theirs = _small_net(dtype), _small_net(dtype)
    settings = dict(lr=0.03, etas=(0.4, 1.3), step_sizes=(1e-5, 0.5), maximize=maximize)
    opt_ours = RProp(ours.parameters(), variant="irprop-", foreach=foreach, **settings)
    opt_theirs = torch.optim.Rprop(theirs.parameters(), foreach=foreach, **settings)
    for _ in range(120):
        _train(ours, opt_ours, X, Y, 1, maximize)
        _train(theirs, opt_theirs, X, Y, 1, maximize)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert torch.equal(p, q)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(opt_ours.state[p]["step_size"], opt_theirs.state[q]["step_size"])


def test_complex_parameters_match_torch():
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(5, dtype=torch.complex64, generator=gen)
    ws = [torch.zeros(5, dtype=torch.complex64, requires_grad=True) for _ in range(2)]
    opts = [RProp([ws[0]], variant="irprop-"), torch.optim.Rprop([ws[1]])]
    for _ in range(30):
        for w, opt in zip(ws, opts):
            opt.zero_grad()
            (w - target).abs().pow(2).sum().backward()
            opt.step()
    assert torch.equal(ws[0], ws[1])


@pytest.mark.parametrize("variant", VARIANTS)
def test_foreach_and_loop_agree_and_maximize_mirrors(variant):
    # Both code paths give the same bits; maximising f is minimising -f.
    gen = torch.Generator().manual_seed(0)
    X, Y = torch.randn(32, 6, generator=gen), torch.randn(32, 3, generator=gen)
    runs = []
    for foreach, maximize in ((False, False), (True, False), (False, True)):
        net = _small_net()
        opt = RProp(net.parameters(), variant=variant, foreach=foreach, maximize=maximize)
        _train(net, opt, X, Y, 40, maximize=maximize, closure=True)
        runs.append([p.detach().clone() for p in net.parameters()])
    for other in runs[1:]:
        assert all(torch.equal(p, q) for p, q in zip(runs[0], other))


def test_param_groups_with_different_variants():
    gen = torch.Generator().manual_seed(0)
    X, Y = torch.randn(32, 6, generator=gen), torch.randn(32, 3, generator=gen)
    net = _small_net()
    first, second = net[0].parameters(), net[2].parameters()
    opt = RProp([{"params": first}, {"params": second, "variant": "rprop-", "lr": 0.05}])
    assert [g["variant"] for g in opt.param_groups] == ["irprop+", "rprop-"]
    _train(net, opt, X, Y, 10, closure=True)
    assert (
        "prev_update" in opt.state[net[0].weight] and "prev_update" not in opt.state[net[2].weight]
    )


def test_state_dict_round_trip():
    gen = torch.Generator().manual_seed(0)
    X, Y = torch.randn(32, 6, generator=gen), torch.randn(32, 3, generator=gen)
    net = _small_net()
    opt = RProp(net.parameters(), variant="irprop+")
    _train(net, opt, X, Y, 10, closure=True)
    saved_net, saved_opt = copy.deepcopy(net.state_dict()), copy.deepcopy(opt.state_dict())
    _train(net, opt, X, Y, 10, closure=True)

    restored = _small_net()
    restored.load_state_dict(saved_net)
    opt2 = RProp(restored.parameters(), variant="irprop+")
    opt2.load_state_dict(saved_opt)
    assert set(opt2.state[restored[0].weight]) == {
        "step",
        "prev",
        "step_size",
        "prev_update",
        "prev_loss",
    }
    _train(restored, opt2, X, Y, 10, closure=True)
    for p, q in zip(net.parameters(), restored.parameters()):
        assert torch.equal(p, q)


@requires_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
def test_cuda_matches_cpu(variant):
    gen = torch.Generator().manual_seed(0)
    X, Y = torch.randn(32, 6, generator=gen), torch.randn(32, 3, generator=gen)
    results = []
    for device in ("cpu", "cuda"):
        net = _small_net().to(device)
        opt = RProp(net.parameters(), variant=variant)
        _train(net, opt, X.to(device), Y.to(device), 20, closure=True)
        results.append([p.detach().cpu() for p in net.parameters()])
    for p, q in zip(*results):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variant": "rprop"}, "Unknown RProp variant 'rprop'"),
        ({"variant": None}, "Unknown RProp variant"),
        ({"etas": (1.5, 1.2)}, r"eta_minus.*\(0, 1\)"),
        ({"etas": (0.0, 1.2)}, r"eta_minus.*\(0, 1\)"),
        ({"etas": (0.5, 1.0)}, r"eta_plus.*\(1, inf\)"),
        ({"etas": (0.5, math.inf)}, r"eta_plus.*\(1, inf\)"),
        ({"etas": 0.5}, "etas must be a pair"),
        ({"step_sizes": (50, 1e-6)}, r"min <= max.*inverted"),
        ({"step_sizes": (-1.0, 1.0)}, "0 <= min"),
        ({"step_sizes": (1e-6,)}, "step_sizes must be a pair"),
        ({"lr": -0.01}, "lr .* must be a positive number"),
        ({"lr": 0.0}, "lr .* must be a positive number"),
        ({"maximize": "yes"}, "maximize must be a bool"),
        ({"foreach": "auto"}, "foreach must be"),
        ({"foreach": 1}, "foreach must be"),
        ({"lr": True}, "lr .* must be a positive number"),
        ({"etas": (0.5, True)}, "etas must be a pair of numbers"),
        ({"step_sizes": (0, True)}, "step_sizes must be a pair of numbers"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        RProp([w], **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 1e308},
        {"lr": math.inf},
        {"lr": 100.0},
        {"lr": 1e-7},
        {"lr": 0.5, "step_sizes": (1e-6, 0.1)},
        {"lr": 1e-3, "step_sizes": (1e-2, 1.0)},
    ],
)
def test_initial_step_size_must_lie_within_the_step_size_bounds(kwargs):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"lr=.* must lie within step_sizes"):
        RProp([w], **kwargs)


@pytest.mark.parametrize(
    "dtype, kwargs, match",
    [
        (torch.float32, {"lr": 1.0, "step_sizes": (1e-6, 1e39)}, r"step_sizes\[1\]=1e\+39"),
        (torch.float16, {"step_sizes": (1e-6, 1e5)}, r"largest torch.float16"),
        (torch.complex64, {"step_sizes": (1e-6, 1e39)}, r"largest torch.complex64"),
        (torch.float32, {"etas": (0.5, 1e39)}, r"etas\[1\]=1e\+39"),
    ],
)
def test_step_size_bounds_must_fit_the_parameters_dtype(dtype, kwargs, match):
    w = torch.zeros(2, dtype=dtype, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        RProp([w], variant="irprop-", **kwargs)


def test_large_bounds_step_in_float64():
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = RProp([w], lr=1e30, step_sizes=(1e-6, 1e300), variant="irprop-")
    w.grad = torch.ones_like(w)
    opt.step()
    assert torch.equal(w.detach(), torch.full_like(w, -1e30))


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"variant": "fast"}, "Unknown RProp variant 'fast'"),
        ({"etas": "a"}, "etas must be a pair"),
        ({"lr": 1e308}, "must lie within step_sizes"),
        ({"step_sizes": (1e-6, 1e39)}, "largest torch.float32"),
    ],
)
def test_bad_param_group_is_not_added(settings, match):
    w, v = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = RProp([w], variant="irprop-")
    group = {"params": [v], **settings}
    given = dict(group)
    with pytest.raises(ValueError, match=match):
        opt.add_param_group(group)
    assert len(opt.param_groups) == 1 and group == given
    # the optimizer steps its own group as if nothing had been asked
    w.grad, v.grad = torch.ones(2), torch.ones(2)
    opt.step()
    assert torch.equal(w.detach(), torch.full((2,), -0.01)) and torch.equal(v, torch.zeros(2))


def test_added_param_group_is_checked_and_normalised():
    w, v = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = RProp([w], variant="irprop-")
    group = {"params": iter([v]), "variant": "RPROP-", "lr": 0.1}
    opt.add_param_group(group)
    added = opt.param_groups[-1]
    assert added["params"] == [v] and added["variant"] == "rprop-" and added["lr"] == 0.1
    assert added["etas"] == ETAS and group["variant"] == "RPROP-"
    opt.add_param_group({"params": torch.zeros(1, requires_grad=True)})
    assert len(opt.param_groups) == 3 and len(opt.param_groups[-1]["params"]) == 1


def test_irprop_plus_needs_a_closure():
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="needs a closure"):
        RProp([w]).step()
    with pytest.raises(ValueError, match="scalar loss"):
        RProp([w]).step(lambda: torch.ones(2))
    for variant in ("rprop+", "rprop-", "irprop-"):
        RProp([w], variant=variant).step()  # fine without a loss


def test_variant_is_case_insensitive():
    w = torch.zeros(2, requires_grad=True)
    assert RProp([w], variant="iRprop-").param_groups[0]["variant"] == "irprop-"


def test_sparse_gradients_rejected():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        RProp(emb.parameters(), variant="irprop-").step()


# ------------------------------------------------------------------ training through skae
@pytest.mark.parametrize("batch_size, epochs", [("full", 20), (600, 10)])
def test_autoencoder_with_rprop_learns_digits(digits, batch_size, epochs):
    X, _ = digits
    ae = AutoencoderTransformer(
        latent_dim=8,
        hidden_layer_sizes=(32,),
        # The model these bars were set for: squared error on a linear output (BCE's
        # floor is the data's entropy), no schedule (RProp adapts its own steps).
        output_activation="linear",
        loss="mse",
        lr_schedule=None,
        optimizer="rprop",
        lr=1e-2,
        batch_size=batch_size,
        max_epochs=epochs,
        random_state=0,
    ).fit(X)
    assert isinstance(ae.net_.optimizer_, RProp)
    assert ae.net_.optimizer_.param_groups[0]["variant"] == "irprop+"
    losses = ae.history_["train_loss"].to_numpy()
    assert losses[-1] < 0.3 * losses[0]
    # per-pixel MSE; predicting the mean image scores minus the mean variance, -0.073
    assert ae.score(X) > -0.06


def test_grid_search_over_variant(digits):
    X, _ = digits
    ae = AutoencoderTransformer(
        latent_dim=4,
        hidden_layer_sizes=(16,),
        optimizer="rprop",
        batch_size="full",
        max_epochs=3,
        random_state=0,
    )
    variants = ["irprop+", "irprop-", "rprop+"]
    grid = GridSearchCV(ae, {"optimizer__variant": variants}, cv=2, error_score="raise")
    grid.fit(X[:400])
    assert list(grid.cv_results_["param_optimizer__variant"]) == variants
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_estimator_
    assert (
        best.net_.optimizer_.param_groups[0]["variant"] == grid.best_params_["optimizer__variant"]
    )
    assert best.get_params()["optimizer__variant"] == grid.best_params_["optimizer__variant"]


def test_transformer_reports_bad_rprop_settings(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="Unknown RProp variant 'adam'"):
        AutoencoderTransformer(
            optimizer="rprop", optimizer_kwargs={"variant": "adam"}, max_epochs=1
        ).fit(X[:50])
    with pytest.raises(ValueError, match=r"RProp does not take \['momentum'\]"):
        AutoencoderTransformer(optimizer="rprop", optimizer_kwargs={"momentum": 0.9}).fit(X[:50])


def test_skorch_classifier_with_rprop():
    X, y = make_classification(500, 10, n_informative=6, random_state=0)
    X = X.astype(np.float32)
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2), torch.nn.Softmax(-1)
        ),
        optimizer=RProp,
        optimizer__variant="irprop+",
        lr=0.01,
        batch_size=-1,  # full batch: one step per epoch, the closure gives the loss
        max_epochs=40,
        train_split=None,
        verbose=0,
    )
    net.fit(X, y)
    assert isinstance(net.optimizer_, RProp)
    assert net.optimizer_.state[net.module_[0].weight]["step"].item() == 40
    losses = net.history[:, "train_loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert net.score(X, y) > 0.85
