"""The gallery's numpy code: datasets, linear regression, MLP."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gallery import lib


def test_datasets_are_deterministic_for_a_seed() -> None:
    synthetic = lib("synthetic")
    a = synthetic.make_regression(n_samples=50, n_features=4, n_informative=2, noise=0.1, seed=3)
    b = synthetic.make_regression(n_samples=50, n_features=4, n_informative=2, noise=0.1, seed=3)
    c = synthetic.make_regression(n_samples=50, n_features=4, n_informative=2, noise=0.1, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])
    assert np.count_nonzero(a[2]) == 2  # n_informative
    x1, y1 = synthetic.make_classification(n_samples=60, n_features=3, n_classes=4,
                                           class_sep=1.0, seed=9)
    x2, y2 = synthetic.make_classification(n_samples=60, n_features=3, n_classes=4,
                                           class_sep=1.0, seed=9)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert set(y1.tolist()) == {0, 1, 2, 3}


@pytest.mark.parametrize("make", ["make_regression", "make_classification"])
def test_datasets_over_1_gb_are_refused_before_allocating(make: str) -> None:
    synthetic = lib("synthetic")
    extra = ({"n_informative": 1, "noise": 0.1} if make == "make_regression"
             else {"n_classes": 2, "class_sep": 1.0})
    with pytest.raises(ValueError, match=r"dataset of 20000000 x 10 float64 values needs "
                       r"1\.8 GB, over the 1 GB limit; lower n_samples or n_features"):
        getattr(synthetic, make)(n_samples=20_000_000, n_features=10, seed=0, **extra)
    assert synthetic.check_size(n_samples=10_000_000, n_features=10) < 10**9


def test_near_singular_regression_warns_with_the_condition_number() -> None:
    linreg = lib("linreg")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    x = np.hstack([x, x[:, :1]])  # a duplicated column: X^T X is singular
    y = x[:, 0] + 2 * x[:, 1]
    with pytest.warns(RuntimeWarning, match=r"condition number \d\.\d+e\+\d+"):
        model = linreg.fit_closed_form(x, y, l2=0.0)
    assert linreg.r2_score(y, model.predict(x)) > 0.999  # the pseudoinverse still fits
    # L2 makes the system well conditioned again: no warning
    with np.testing.assert_no_warnings():
        linreg.fit_closed_form(x, y, l2=1.0)


def test_gradient_descent_approaches_the_closed_form() -> None:
    linreg, synthetic = lib("linreg"), lib("synthetic")
    x, y, _ = synthetic.make_regression(n_samples=300, n_features=5, n_informative=5,
                                        noise=0.1, seed=1)
    exact = linreg.fit_closed_form(x, y)
    model = linreg.LinearModel(weights=np.zeros(5))
    for _ in range(300):
        linreg.gradient_step(model, x, y, lrate=0.1)
    assert np.allclose(model.weights, exact.weights, atol=1e-3)


def test_mlp_gradients_match_finite_differences() -> None:
    mlp = lib("mlp")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.integers(3, size=8)
    for activation in ("relu", "tanh", "sigmoid"):
        params = mlp.init_params([3, 5, 4, 3], init="xavier", rng=rng)
        for key in ("b0", "b1", "b2"):  # zero biases put relu inputs on its kink
            params[key] = rng.normal(scale=0.5, size=params[key].shape)
        model = mlp.MLP(params, activation=activation)
        _, grads = model.loss_and_grads(x, y)
        for key in ("W0", "b1", "W2"):
            param = model.params[key]
            index = tuple(0 for _ in param.shape)
            old = param[index]
            param[index] = old + 1e-6
            up = model.loss_and_grads(x, y)[0]
            param[index] = old - 1e-6
            down = model.loss_and_grads(x, y)[0]
            param[index] = old
            assert grads[key][index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-7)


def test_gradient_clipping_bounds_the_global_norm() -> None:
    mlp = lib("mlp")
    grads = {"a": np.full(4, 3.0), "b": np.full(4, 4.0)}  # global norm 10
    clipped, norm = mlp.clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(10.0)
    total = np.sqrt(sum(float(np.sum(g * g)) for g in clipped.values()))
    assert total == pytest.approx(1.0)
    assert mlp.clip_by_global_norm(grads, None)[0] is grads


@pytest.mark.parametrize(("optimizer", "activation", "init"), [
    ("sgd", "tanh", "xavier"), ("adam", "relu", "he"), ("adam", "sigmoid", "xavier")])
def test_each_optimizer_and_activation_learns_separable_clusters(
        optimizer: str, activation: str, init: str) -> None:
    mlp, synthetic = lib("mlp"), lib("synthetic")
    x, y = synthetic.make_classification(n_samples=400, n_features=4, n_classes=3,
                                         class_sep=3.0, seed=5)
    rng = np.random.default_rng(0)
    model = mlp.MLP(mlp.init_params([4, 16, 3], init=init, rng=rng), activation=activation)
    opt = mlp.make_optimizer(optimizer, lrate=0.05 if optimizer == "sgd" else 0.01,
                             momentum=0.9)
    for _ in range(15):
        mlp.train_epoch(model, opt, x, y, batch_size=32, clip_norm=5.0, rng=rng)
    assert mlp.accuracy(model, x, y) > 0.9


def test_bad_model_settings_are_refused() -> None:
    mlp = lib("mlp")
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="init must be 'he' or 'xavier'"):
        mlp.init_params([2, 2], init="zeros", rng=rng)
    with pytest.raises(ValueError, match="activation must be one of relu, tanh, sigmoid"):
        mlp.MLP({}, activation="gelu")
    with pytest.raises(ValueError, match="optimizer must be 'sgd' or 'adam'"):
        mlp.make_optimizer("rmsprop", lrate=0.1)
