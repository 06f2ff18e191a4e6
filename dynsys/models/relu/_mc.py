"""Monte-Carlo estimates of teacher-student losses and gradients from sampled Gaussian inputs.

For the two-layer network (:func:`monte_carlo`) and the CNN of Du et al. (:func:`conv_monte_carlo`).

Samples are drawn in chunks (a bounded number of floats per temporary array), so that ``10^7``
samples and more fit in memory; means and variances are merged chunk by chunk (Chan, Golub and
LeVeque's pairwise update), and the standard error of each mean is ``sqrt(var / N)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ._core import network

__all__ = [
    "MonteCarloEstimate",
    "RunningMoments",
    "chunk_rows",
    "conv_monte_carlo",
    "monte_carlo",
]

_CHUNK_FLOATS = 1 << 22  # about 32 MB per temporary array


def chunk_rows(n_samples: int, floats_per_sample: int, chunk_size: int | None) -> int:
    """Samples per chunk: ``chunk_size`` if given, else what fits the memory budget."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise InputError(f"`chunk_size` must be a positive integer; got {chunk_size!r}.")
        return min(int(chunk_size), n_samples)
    return max(1, min(n_samples, _CHUNK_FLOATS // max(1, floats_per_sample)))


def check_samples(n_samples) -> int:
    """``n_samples`` as an int >= 2 (a standard error needs two samples)."""
    n = int(n_samples)
    if n != n_samples or n < 2:
        raise InputError(f"`n_samples` must be an integer >= 2; got {n_samples!r}.")
    return n


class RunningMoments:
    """Running mean and sum of squared deviations of vectors of length ``m``, merged by chunks."""

    def __init__(self, m: int) -> None:
        self.count = 0
        self.mean = np.zeros(m)
        self.m2 = np.zeros(m)

    def add_sums(self, count: int, total: np.ndarray, total_sq: np.ndarray) -> None:
        """Merge a chunk given by its count, sum and sum of squares."""
        mean = total / count
        m2 = np.maximum(total_sq - count * mean * mean, 0.0)
        self._merge(count, mean, m2)

    def add_samples(self, values: np.ndarray) -> None:
        """Merge a chunk of samples, shape ``(count, m)``."""
        mean = values.mean(axis=0)
        m2 = ((values - mean) ** 2).sum(axis=0)
        self._merge(values.shape[0], mean, m2)

    def _merge(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * count / total)
        self.count = total

    def standard_error(self) -> np.ndarray:
        """Standard error of the mean, ``sqrt(var / N)`` with the unbiased variance."""
        return np.sqrt(self.m2 / (self.count - 1) / self.count)


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A sampled loss and gradient with their standard errors.

    Attributes
    ----------
    loss, loss_se : float
        Mean of ``(g - g*)^2 / 2`` over the samples and its standard error.
    gradient, gradient_se : ndarray, shape ``(n,)``
        Mean per-sample gradient in the state layout and the standard error of each entry.
    n_samples : int
        Number of Gaussian inputs drawn.
    """

    loss: float
    loss_se: float
    gradient: np.ndarray
    gradient_se: np.ndarray
    n_samples: int


def monte_carlo(
    W,
    W_star,
    a=None,
    a_star=None,
    *,
    n_samples: int,
    rng,
    train_a: bool = False,
    chunk_size: int | None = None,
) -> MonteCarloEstimate:
    """Estimate the loss and its gradient for one network from sampled inputs ``x ~ N(0, I_d)``.

    Per sample, with ``r = g(x) - g*(x)``: loss ``r^2 / 2``, gradient
    ``r a_j 1(w_j . x > 0) x`` for ``w_j`` and ``r relu(w_j . x)`` for ``a_j`` (the ReLU
    derivative at 0 is taken as 0, a zero-probability event unless ``w_j = 0``).

    Parameters
    ----------
    W : array_like, shape ``(K, d)``
        The student's first layer.
    W_star : array_like, shape ``(K*, d)``
        The teacher's first layer.
    a, a_star : array_like, optional
        Output weights (ones by default).
    n_samples : int
        Number of Gaussian inputs (at least 2).
    rng : numpy.random.Generator or int
        Source of randomness (an int seeds a new Generator).
    train_a : bool
        Also estimate the derivatives with respect to ``a`` (appended, as in the state layout).
    chunk_size : int, optional
        Samples per chunk; by default as many as fit in about 32 MB per array.

    Returns
    -------
    MonteCarloEstimate

    Examples
    --------
    >>> est = monte_carlo(np.eye(2), 0.5 * np.eye(2), n_samples=20_000, rng=0)
    >>> exact = 0.5 * 0.25 * (1 + 1 / np.pi)  # here L = (1 + 1/pi) / 8
    >>> bool(abs(est.loss - exact) < 5 * est.loss_se)
    True
    """
    W, W_star, a, a_star = network(W, W_star, a, a_star)
    if W.ndim != 2:
        raise InputError(
            f"`monte_carlo` estimates one network at a time; got a batch of shape {W.shape[:-2]}."
        )
    n_samples = check_samples(n_samples)
    rng = np.random.default_rng(rng)
    K, d = W.shape
    n_state = K * d + (K if train_a else 0)
    rows = chunk_rows(n_samples, max(n_state, d + K + W_star.shape[0]), chunk_size)
    loss_acc = RunningMoments(1)
    grad_acc = RunningMoments(n_state)
    done = 0
    while done < n_samples:
        m = min(rows, n_samples - done)
        X = rng.standard_normal((m, d))
        Z = X @ W.T
        act = np.maximum(Z, 0.0)
        r = act @ a - np.maximum(X @ W_star.T, 0.0) @ a_star
        loss_samples = 0.5 * r * r
        loss_acc.add_sums(m, loss_samples.sum(keepdims=True), (loss_samples**2).sum(keepdims=True))
        C = (r[:, None] * a) * (Z > 0.0)  # per-sample gradient of w_j is C[:, j] * x
        total = [(C.T @ X).ravel()]
        total_sq = [((C * C).T @ (X * X)).ravel()]
        if train_a:
            ga = r[:, None] * act
            total.append(ga.sum(axis=0))
            total_sq.append((ga * ga).sum(axis=0))
        grad_acc.add_sums(m, np.concatenate(total), np.concatenate(total_sq))
        done += m
    return MonteCarloEstimate(
        loss=float(loss_acc.mean[0]),
        loss_se=float(loss_acc.standard_error()[0]),
        gradient=grad_acc.mean,
        gradient_se=grad_acc.standard_error(),
        n_samples=n_samples,
    )


def conv_monte_carlo(
    w, a, w_star, a_star, *, n_samples: int, rng, weight_norm: bool = False, chunk_size=None
) -> MonteCarloEstimate:
    """Estimate the CNN loss and gradient of one network from patches ``Z_j ~ N(0, I_p)``.

    Per sample, with ``r = f(Z) - f*(Z)``: loss ``r^2 / 2``, gradient
    ``r sum_j a_j 1(w . Z_j > 0) Z_j`` for the filter (projected and divided by ``|v|`` with
    ``weight_norm``) and ``r relu(w . Z_j)`` for ``a_j``. Arguments as for
    :func:`dynsys.models.cnn.gradient` (one network) and :func:`monte_carlo`.

    Examples
    --------
    >>> from dynsys.models import cnn
    >>> net = ([1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0])  # w, a, w_star, a_star
    >>> est = conv_monte_carlo(*net, n_samples=10_000, rng=0)
    >>> bool(abs(est.loss - float(cnn.loss(*net))) < 5 * est.loss_se)
    True
    """
    w, a, w_star, a_star = (np.asarray(x, dtype=float) for x in (w, a, w_star, a_star))
    if any(x.ndim != 1 for x in (w, a, w_star, a_star)):
        raise InputError("`w`, `a`, `w_star`, `a_star` must be vectors (one network).")
    if w.size != w_star.size or a.size != a_star.size:
        raise InputError("student and teacher must have the same filter size and patch count.")
    r = float(np.linalg.norm(w))
    if r == 0.0:
        raise InputError("`w` must be nonzero (the loss is not differentiable at a zero filter).")
    n_samples = check_samples(n_samples)
    rng = np.random.default_rng(rng)
    p, k = w.size, a.size
    filt = w / r if weight_norm else w
    jac = (np.eye(p) - np.outer(filt, filt)) / r if weight_norm else np.eye(p)
    rows = chunk_rows(n_samples, k * p + p + k, chunk_size)
    loss_acc, grad_acc = RunningMoments(1), RunningMoments(p + k)
    done = 0
    while done < n_samples:
        m = min(rows, n_samples - done)
        Z = rng.standard_normal((m, k, p))
        pre = Z @ filt
        act = np.maximum(pre, 0.0)
        res = act @ a - np.maximum(Z @ w_star, 0.0) @ a_star
        loss_acc.add_samples(0.5 * (res * res)[:, None])
        g_w = res[:, None] * np.einsum("mj,mjp->mp", a * (pre > 0.0), Z)
        grad_acc.add_samples(np.concatenate([g_w @ jac, res[:, None] * act], axis=-1))
        done += m
    return MonteCarloEstimate(
        loss=float(loss_acc.mean[0]),
        loss_se=float(loss_acc.standard_error()[0]),
        gradient=grad_acc.mean,
        gradient_se=grad_acc.standard_error(),
        n_samples=n_samples,
    )
