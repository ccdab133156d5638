"""A small multi-layer perceptron in numpy: softmax output, cross-entropy loss.

Hidden layers of any sizes with relu / tanh / sigmoid, He or Xavier init,
gradient clipping by global norm, SGD (with momentum) or Adam.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

Params = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


# activation(z) and its derivative written in terms of the activation's output a
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray],
                             Callable[[np.ndarray], np.ndarray]]] = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1.0 - a**2),
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
}


def init_params(sizes: Sequence[int], *, init: str, rng: np.random.Generator) -> Params:
    """Weights ``W<i>`` and biases ``b<i>`` for layer sizes ``[in, hidden..., out]``."""
    if init not in ("he", "xavier"):
        raise ValueError(f"init must be 'he' or 'xavier', got {init!r}")
    params: Params = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        scale = np.sqrt(2.0 / fan_in) if init == "he" else np.sqrt(2.0 / (fan_in + fan_out))
        params[f"W{i}"] = rng.normal(scale=scale, size=(fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return params


class MLP:
    """Forward pass, predictions and gradients for a parameter dict."""

    def __init__(self, params: Params, *, activation: str) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.params = params
        self.activation = activation
        self.depth = len(params) // 2

    def _forward(self, x: np.ndarray) -> list[np.ndarray]:
        act = ACTIVATIONS[self.activation][0]
        outputs = [x]
        for i in range(self.depth):
            z = outputs[-1] @ self.params[f"W{i}"] + self.params[f"b{i}"]
            outputs.append(act(z) if i < self.depth - 1 else softmax(z))
        return outputs

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per sample."""
        return self._forward(x)[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Most probable class of each row."""
        return np.argmax(self.predict_proba(x), axis=1)

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Mean cross-entropy and its gradient for every parameter."""
        outputs = self._forward(x)
        probs = outputs[-1]
        loss = float(-np.mean(np.log(probs[np.arange(len(y)), y] + 1e-12)))
        delta = probs.copy()
        delta[np.arange(len(y)), y] -= 1.0
        delta /= len(y)
        derivative = ACTIVATIONS[self.activation][1]
        grads: Params = {}
        for i in reversed(range(self.depth)):
            grads[f"W{i}"] = outputs[i].T @ delta
            grads[f"b{i}"] = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ self.params[f"W{i}"].T) * derivative(outputs[i])
        return loss, grads


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def clip_by_global_norm(grads: Params, max_norm: float | None) -> tuple[Params, float]:
    """Scale all gradients down together when their joint norm exceeds ``max_norm``."""
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    if max_norm is None or norm <= max_norm:
        return grads, norm
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


class SGD:
    """Plain SGD, with optional momentum."""

    def __init__(self, *, lrate: float, momentum: float = 0.0) -> None:
        self.lrate = lrate
        self.momentum = momentum
        self.velocity: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        """Update ``params`` in place."""
        for key, grad in grads.items():
            v = self.momentum * self.velocity.get(key, 0.0) - self.lrate * grad
            self.velocity[key] = v
            params[key] += v


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction."""

    def __init__(self, *, lrate: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lrate, self.beta1, self.beta2, self.eps = lrate, beta1, beta2, eps
        self.m: Params = {}
        self.v: Params = {}
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        """Update ``params`` in place."""
        self.t += 1
        for key, grad in grads.items():
            self.m[key] = self.beta1 * self.m.get(key, 0.0) + (1 - self.beta1) * grad
            self.v[key] = self.beta2 * self.v.get(key, 0.0) + (1 - self.beta2) * grad**2
            m_hat = self.m[key] / (1 - self.beta1**self.t)
            v_hat = self.v[key] / (1 - self.beta2**self.t)
            params[key] -= self.lrate * m_hat / (np.sqrt(v_hat) + self.eps)


def make_optimizer(name: str, *, lrate: float, momentum: float = 0.0) -> SGD | Adam:
    """``sgd`` or ``adam``."""
    if name == "sgd":
        return SGD(lrate=lrate, momentum=momentum)
    if name == "adam":
        return Adam(lrate=lrate)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def train_epoch(model: MLP, optimizer: SGD | Adam, x: np.ndarray, y: np.ndarray, *,
                batch_size: int, clip_norm: float | None,
                rng: np.random.Generator) -> tuple[float, float]:
    """One pass over shuffled minibatches; returns (mean loss, largest gradient norm)."""
    order = rng.permutation(len(x))
    losses, largest = [], 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        loss, grads = model.loss_and_grads(x[batch], y[batch])
        grads, norm = clip_by_global_norm(grads, clip_norm)
        optimizer.step(model.params, grads)
        losses.append(loss)
        largest = max(largest, norm)
    return float(np.mean(losses)), largest


def accuracy(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows classified correctly."""
    return float(np.mean(model.predict(x) == y))
