"""Distributions of initial states for basin probabilities.

A sampler is a small frozen dataclass with ``sample(rng, size, n) -> (size, n)``: it draws
``size`` initial states of an ``n``-state system from a ``numpy.random.Generator``. Samplers hold
only numbers, so they pickle and travel to worker processes; each chunk of a run draws from its
own generator (see :func:`dynsys._montecarlo.chunk_rng`). A parameter sweep may vary a sampler
field (``dataclasses.replace``): the draws of one seed then change smoothly with the field (common
random numbers), e.g. the radius of a :class:`SmallBall` only rescales the same points.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["Gaussian", "NetworkInit", "Sampler", "SmallBall", "UniformBox", "describe_sampler"]


def _floats(value, name: str, owner: str) -> tuple[float, ...]:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError(
            f"{owner}: `{name}` must be a finite number or a 1-D sequence of them; got {value!r}."
        )
    return tuple(arr.tolist())


def _broadcast(values: tuple[float, ...], n: int, name: str, owner: str) -> np.ndarray:
    if len(values) not in (1, n):
        raise InputError(
            f"{owner}: `{name}` has {len(values)} values; the system has {n} states. Give one "
            f"value (used for every state) or {n}."
        )
    return np.broadcast_to(np.asarray(values, dtype=float), (n,))


def _positive(value, name: str, owner: str) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise InputError(f"{owner}: `{name}` must be a finite positive number; got {value!r}.")
    return v


class Sampler:
    """Base of the samplers: ``sample(rng, size, n)`` returns ``size`` states of dimension n."""

    def sample(self, rng: np.random.Generator, size: int, n: int) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def check(self, n: int) -> None:
        """Raise ValueError if the sampler cannot draw states of dimension ``n``."""
        self.sample(np.random.default_rng(0), 1, n)


@dataclass(frozen=True)
class UniformBox(Sampler):
    """Uniform distribution on the box ``low <= x <= high`` (per state, or one bound for all).

    Examples
    --------
    >>> x = UniformBox(-1.0, [1.0, 3.0]).sample(np.random.default_rng(0), 1000, 2)
    >>> x.shape, bool((x[:, 1] > 1.0).any()), bool((x >= -1).all())
    ((1000, 2), True, True)
    """

    low: Any = -1.0
    high: Any = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _floats(self.low, "low", "UniformBox"))
        object.__setattr__(self, "high", _floats(self.high, "high", "UniformBox"))

    def sample(self, rng: np.random.Generator, size: int, n: int) -> np.ndarray:
        low = _broadcast(self.low, n, "low", "UniformBox")
        high = _broadcast(self.high, n, "high", "UniformBox")
        if np.any(high <= low):
            raise InputError(
                f"UniformBox: `high` must exceed `low` in every state; got low={low.tolist()}, "
                f"high={high.tolist()}."
            )
        return low + (high - low) * rng.random((size, n))


@dataclass(frozen=True)
class Gaussian(Sampler):
    """Independent normal coordinates ``x_i ~ N(mean_i, std_i^2)``.

    Examples
    --------
    >>> x = Gaussian(mean=1.0, std=0.5).sample(np.random.default_rng(0), 20000, 1)
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (1.0, 0.5)
    """

    mean: Any = 0.0
    std: Any = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _floats(self.mean, "mean", "Gaussian"))
        std = _floats(self.std, "std", "Gaussian")
        if min(std) <= 0:
            raise InputError(f"Gaussian: `std` must be positive; got {self.std!r}.")
        object.__setattr__(self, "std", std)

    def sample(self, rng: np.random.Generator, size: int, n: int) -> np.ndarray:
        mean = _broadcast(self.mean, n, "mean", "Gaussian")
        std = _broadcast(self.std, n, "std", "Gaussian")
        return mean + std * rng.standard_normal((size, n))


@dataclass(frozen=True)
class NetworkInit(Sampler):
    """Network initialisation: every weight independent ``N(0, sigma^2)``, centred.

    ``sigma = gain * sqrt(2 / (fan_in + fan_out))`` (Glorot and Bengio's "Xavier" normal) when
    ``fan_out`` is given, ``sigma = gain * sqrt(1 / fan_in)`` (LeCun) otherwise. For a layer of K
    hidden units on d inputs, ``fan_in = d``; ``NetworkInit(fan_in=d)`` draws the entries of ``W``
    from ``N(0, 1/d)``. With ``distribution="uniform"`` the weights are uniform on
    ``[-sqrt(3) sigma, sqrt(3) sigma]`` (same variance).

    Examples
    --------
    >>> s = NetworkInit(fan_in=20)
    >>> round(s.sigma, 4)
    0.2236
    >>> x = s.sample(np.random.default_rng(0), 500, 400)
    >>> round(float(x.var() * 20), 1)
    1.0
    """

    fan_in: int = 1
    fan_out: int | None = None
    gain: float = 1.0
    distribution: str = "normal"

    def __post_init__(self) -> None:
        for name in ("fan_in", "fan_out"):
            value = getattr(self, name)
            if value is None and name == "fan_out":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError(
                    f"NetworkInit: `{name}` must be a positive integer; got {value!r}."
                )
        object.__setattr__(self, "gain", _positive(self.gain, "gain", "NetworkInit"))
        if self.distribution not in ("normal", "uniform"):
            raise InputError(
                f"NetworkInit: `distribution` must be 'normal' or 'uniform'; got "
                f"{self.distribution!r}."
            )

    @property
    def sigma(self) -> float:
        """Standard deviation of every weight."""
        if self.fan_out is None:
            return self.gain * float(np.sqrt(1.0 / self.fan_in))
        return self.gain * float(np.sqrt(2.0 / (self.fan_in + self.fan_out)))

    def sample(self, rng: np.random.Generator, size: int, n: int) -> np.ndarray:
        if self.distribution == "uniform":
            bound = np.sqrt(3.0) * self.sigma
            return rng.uniform(-bound, bound, (size, n))
        return self.sigma * rng.standard_normal((size, n))


@dataclass(frozen=True)
class SmallBall(Sampler):
    """Uniform distribution in the ball ``|x - centre|_2 <= radius``.

    A point is ``centre + radius * u^(1/n) * z / |z|`` with ``z`` standard normal and ``u``
    uniform on (0, 1): the direction is uniform on the sphere and the radius has density
    proportional to ``r^(n-1)``. With one seed, balls of different radii hold the same points
    rescaled (common random numbers in a sweep over ``radius``).

    Examples
    --------
    >>> x = SmallBall(centre=[1.0, 0.0, 0.0], radius=0.1).sample(np.random.default_rng(0), 5000, 3)
    >>> r = np.linalg.norm(x - [1.0, 0.0, 0.0], axis=1)
    >>> bool(r.max() <= 0.1), round(float((r <= 0.05).mean()), 2)  # P(r <= R/2) = 1/8 in 3-D
    (True, 0.12)
    """

    centre: Any = 0.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "centre", _floats(self.centre, "centre", "SmallBall"))
        object.__setattr__(self, "radius", _positive(self.radius, "radius", "SmallBall"))

    def sample(self, rng: np.random.Generator, size: int, n: int) -> np.ndarray:
        centre = _broadcast(self.centre, n, "centre", "SmallBall")
        z = rng.standard_normal((size, n))
        u = rng.random(size)
        norm = np.sqrt((z * z).sum(axis=1))
        scale = self.radius * u ** (1.0 / n) / np.where(norm > 0, norm, 1.0)
        return centre + scale[:, None] * z


def describe_sampler(sampler: Sampler) -> dict[str, Any]:
    """Provenance attributes of a sampler: its class and fields (``sampler_<field>``).

    Examples
    --------
    >>> describe_sampler(SmallBall(radius=0.5))
    {'sampler': 'SmallBall', 'sampler_centre': [0.0], 'sampler_radius': 0.5}
    """
    out: dict[str, Any] = {"sampler": type(sampler).__name__}
    for field in fields(sampler):  # type: ignore[arg-type]
        value = getattr(sampler, field.name)
        if value is None:
            continue
        out[f"sampler_{field.name}"] = list(value) if isinstance(value, tuple) else value
    return out
