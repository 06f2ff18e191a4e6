"""Classical test systems: the test bed for every capability of dynsys.

Each function returns a :class:`~dynsys.System` (or :class:`~dynsys.GradientSystem`) with analytic
Jacobian (Hessian) and parameter derivatives.

References
----------
K. Mueller and L. D. Brown, Theor. Chim. Acta 53, 75 (1979) (the Mueller-Brown potential).
E. N. Lorenz, J. Atmos. Sci. 20, 130 (1963).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._trapping import TrapGeometry, TrappingRegions
from ..errors import InputError
from ..system import CompiledField, GradientSystem, System, model
from ._arrays import matrix as _matrix
from ._arrays import stack as _stack

__all__ = [
    "bratu",
    "bratu_2d",
    "brusselator",
    "double_well",
    "duffing",
    "fold_normal_form",
    "lorenz",
    "mueller_brown",
    "pitchfork_normal_form",
    "stiff_manifold",
]


# ---------------------------------------------------------------------------- double well
@model
def double_well() -> GradientSystem:
    """The double well ``V = (x^2 - 1)^2 / 4 + y^2 / 2``.

    Minima at ``(+-1, 0)`` with ``V = 0``, an index-1 saddle at the origin with ``V = 1/4``.

    Examples
    --------
    >>> float(double_well().potential([0.0, 0.0]))
    0.25
    """

    def V(x, p):
        return 0.25 * (x[..., 0] ** 2 - 1.0) ** 2 + 0.5 * x[..., 1] ** 2

    def grad(x, p):
        return _stack(x[..., 0] ** 3 - x[..., 0], x[..., 1])

    def hess(x, p):
        zero = np.zeros_like(x[..., 0])
        return _matrix([[3.0 * x[..., 0] ** 2 - 1.0, zero], [zero, zero + 1.0]])

    return GradientSystem(V, ["x", "y"], grad=grad, hess=hess, name="double_well")


# ---------------------------------------------------------------------------- Duffing
@model
def duffing(delta: float = 0.25, alpha: float = -1.0, beta: float = 1.0) -> System:
    """The damped, unforced Duffing oscillator ``x'' + delta x' + alpha x + beta x^3 = 0``.

    As a first-order system in ``(x, v)``. With the defaults (``alpha = -1``, ``beta = 1``) it has
    sinks at ``(+-1, 0)`` and a saddle at the origin.

    Examples
    --------
    >>> duffing().f([1.0, 0.0]).tolist()
    [0.0, 0.0]
    """

    def f(x, p):
        q, v = x[..., 0], x[..., 1]
        return _stack(v, -p["delta"] * v - p["alpha"] * q - p["beta"] * (q * q * q))

    def jac(x, p):
        q = x[..., 0]
        zero = np.zeros_like(q)
        return _matrix(
            [[zero, zero + 1.0], [-p["alpha"] - 3.0 * p["beta"] * q**2, zero - p["delta"]]]
        )

    def dfdp(x, p, name):
        q, v = x[..., 0], x[..., 1]
        zero = np.zeros_like(q)
        second = {"delta": -v, "alpha": -q, "beta": -(q**3)}[name]
        return _stack(zero, second)

    return (
        System(
            f,
            ["x", "v"],
            {"delta": delta, "alpha": alpha, "beta": beta},
            jac=jac,
            dfdp=dfdp,
            name="duffing",
        )
        .with_compiled_field(
            CompiledField(
                "dynsys.models._compiled_fields:duffing",
                ("delta", "alpha", "beta"),
                lanes="dynsys.models._compiled_fields:duffing_lanes",
            )
        )
        .with_trapping_regions(_DUFFING_TRAPS)
    )


def duffing_energy(x, p) -> np.ndarray:
    """The energy ``E = v^2/2 + alpha x^2/2 + beta x^4/4`` of :func:`duffing` at states
    ``(..., 2)``, ``p = (delta, alpha, beta)``. Along orbits ``dE/dt = -delta v^2``.

    Examples
    --------
    >>> float(duffing_energy(np.array([1.0, 0.0]), np.array([0.25, -1.0, 1.0])))
    -0.25
    """
    q, v = x[..., 0], x[..., 1]
    return 0.5 * (v * v) + 0.5 * p[1] * (q * q) + 0.25 * p[2] * (q * q * q * q)


def duffing_traps(p) -> TrapGeometry | str:
    """The two lobes ``{E < 0, x > 0}`` and ``{E < 0, x < 0}`` of :func:`duffing` with
    ``delta > 0``, ``alpha < 0 < beta`` (see :data:`_DUFFING_TRAPS`), or why there are none.

    Examples
    --------
    >>> len(duffing_traps(np.array([0.25, -1.0, 1.0])))
    2
    >>> duffing_traps(np.array([0.0, -1.0, 1.0]))
    'delta = 0 is not > 0: the energy is conserved, orbits need not converge'
    """
    delta, alpha, beta = (float(v) for v in p)
    if not delta > 0:
        return f"delta = {delta:g} is not > 0: the energy is conserved, orbits need not converge"
    if not (alpha < 0 < beta):
        return f"alpha = {alpha:g}, beta = {beta:g}: not a double well (needs alpha < 0 < beta)"
    return TrapGeometry(np.zeros(2), np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2))


_DUFFING_TRAPS = TrappingRegions(
    "dynsys.models.classic:duffing_energy",
    "dynsys.models._compiled_fields:duffing_energy",
    "dynsys.models.classic:duffing_traps",
    ("delta", "alpha", "beta"),
    "E = v^2/2 + alpha x^2/2 + beta x^4/4 has dE/dt = -delta v^2 <= 0; E = v^2/2 >= 0 on x = 0, "
    "so each half of {E < 0} is invariant; it holds one equilibrium (x = +-sqrt(-alpha/beta), "
    "v = 0), and by LaSalle (delta > 0) every orbit in it converges there.",
    lanes="dynsys.models._compiled_fields:duffing_energy_lanes",
)


# ---------------------------------------------------------------------------- Lorenz
@model
def lorenz(sigma: float = 10.0, r: float = 28.0, beta: float = 8.0 / 3.0) -> System:
    """The Lorenz system ``x' = sigma (y - x), y' = r x - y - x z, z' = x y - beta z``.

    Examples
    --------
    >>> lorenz().f([0.0, 0.0, 0.0]).tolist()
    [0.0, 0.0, 0.0]
    """

    def f(s, p):
        x, y, z = s[..., 0], s[..., 1], s[..., 2]
        return _stack(p["sigma"] * (y - x), p["r"] * x - y - x * z, x * y - p["beta"] * z)

    def jac(s, p):
        x, y, z = s[..., 0], s[..., 1], s[..., 2]
        zero = np.zeros_like(x)
        sig = zero + p["sigma"]
        return _matrix(
            [
                [-sig, sig, zero],
                [p["r"] - z, zero - 1.0, -x],
                [y, x, zero - p["beta"]],
            ]
        )

    def dfdp(s, p, name):
        x, y, z = s[..., 0], s[..., 1], s[..., 2]
        zero = np.zeros_like(x)
        if name == "sigma":
            return _stack(y - x, zero, zero)
        if name == "r":
            return _stack(zero, x, zero)
        return _stack(zero, zero, -z)

    return System(
        f,
        ["x", "y", "z"],
        {"sigma": sigma, "r": r, "beta": beta},
        jac=jac,
        dfdp=dfdp,
        name="lorenz",
    ).with_compiled_derivatives(
        CompiledField(
            "dynsys.models._compiled_fields:lorenz",
            ("sigma", "r", "beta"),
            jacobian="dynsys.models._compiled_fields:lorenz_jacobian",
            param_derivative="dynsys.models._compiled_fields:lorenz_param_derivative",
        )
    )


@model
def stiff_manifold(eps: float = 1e-6) -> System:
    """A stiff system with a slow manifold: ``x' = -x + y``, ``y' = -(y - x^2) / eps``.

    Fast collapse (rate ``1/eps``) onto the parabola ``y = x^2``, then slow motion along it: a
    sink at ``(0, 0)``, a saddle at ``(1, 1)``. Explicit methods need steps of order ``eps``;
    a linearly implicit one (``FlowOptions(method="rosenbrock23")``) does not.

    Examples
    --------
    >>> system = stiff_manifold()
    >>> system.f([[0.0, 0.0], [1.0, 1.0]]).tolist()
    [[0.0, -0.0], [0.0, -0.0]]
    """

    def f(x, p):
        u, v = x[..., 0], x[..., 1]
        return _stack(-u + v, -(v - u**2) / p["eps"])

    def jac(x, p):
        one = np.ones_like(x[..., 0])
        return _matrix([[-one, one], [2.0 * x[..., 0] / p["eps"], -one / p["eps"]]])

    return System(f, ["x", "y"], {"eps": eps}, jac=jac, name="stiff_manifold")


# ---------------------------------------------------------------------------- normal forms
@model
def fold_normal_form(mu: float = 1.0) -> System:
    """The saddle-node (fold) normal form ``x' = mu - x^2``; fold at ``mu = 0``.

    Examples
    --------
    >>> fold_normal_form(mu=4.0).f([2.0]).tolist()
    [0.0]
    """
    return System(
        lambda x, p: p["mu"] - x**2,
        ["x"],
        {"mu": mu},
        jac=lambda x, p: -2.0 * x[..., None],
        dfdp=lambda x, p, name: np.ones_like(x),
        name="fold_normal_form",
    )


@model
def pitchfork_normal_form(mu: float = 1.0) -> System:
    """The supercritical pitchfork normal form ``x' = mu x - x^3``; branch point at ``mu = 0``.

    Examples
    --------
    >>> pitchfork_normal_form(mu=4.0).f([2.0]).tolist()
    [0.0]
    """
    return System(
        lambda x, p: p["mu"] * x - x**3,
        ["x"],
        {"mu": mu},
        jac=lambda x, p: (p["mu"] - 3.0 * x**2)[..., None],
        dfdp=lambda x, p, name: np.array(x, dtype=float, copy=True),
        name="pitchfork_normal_form",
    )


# ---------------------------------------------------------------------------- Brusselator
@model
def brusselator(a: float = 1.0, b: float = 1.5) -> System:
    """The Brusselator ``x' = a - (b + 1) x + x^2 y, y' = b x - x^2 y``.

    Its one equilibrium ``(a, b / a)`` loses stability in a Hopf bifurcation at ``b = 1 + a^2``.

    Examples
    --------
    >>> brusselator(a=2.0, b=3.0).f([2.0, 1.5]).tolist()
    [0.0, 0.0]
    """

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        return _stack(p["a"] - (p["b"] + 1.0) * x + x**2 * y, p["b"] * x - x**2 * y)

    def jac(s, p):
        x, y = s[..., 0], s[..., 1]
        return _matrix([[-(p["b"] + 1.0) + 2 * x * y, x**2], [p["b"] - 2 * x * y, -(x**2)]])

    def dfdp(s, p, name):
        x = s[..., 0]
        zero = np.zeros_like(x)
        return _stack(zero + 1.0, zero) if name == "a" else _stack(-x, x)

    return System(f, ["x", "y"], {"a": a, "b": b}, jac=jac, dfdp=dfdp, name="brusselator")


# ---------------------------------------------------------------------------- Mueller-Brown
_MB_A = np.array([-200.0, -100.0, -170.0, 15.0])
_MB_a = np.array([-1.0, -1.0, -6.5, 0.7])
_MB_b = np.array([0.0, 0.0, 11.0, 0.6])
_MB_c = np.array([-10.0, -10.0, -6.5, 0.7])
_MB_X0 = np.array([1.0, 0.0, -0.5, -1.0])
_MB_Y0 = np.array([0.0, 0.5, 1.5, 1.0])


@model
def mueller_brown() -> GradientSystem:
    """The Mueller-Brown potential, a standard two-dimensional energy landscape.

    ``V = sum_k A_k exp(a_k dx^2 + b_k dx dy + c_k dy^2)`` with ``dx = x - x0_k``,
    ``dy = y - y0_k``. Three minima, near (-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467), and
    two saddles, near (-0.822, 0.624) and (0.212, 0.293).

    Examples
    --------
    >>> round(float(mueller_brown().potential([-0.558, 1.442])), 2)
    -146.7
    """

    def terms(s):
        dx = s[..., 0, None] - _MB_X0
        dy = s[..., 1, None] - _MB_Y0
        e = _MB_A * np.exp(_MB_a * dx**2 + _MB_b * dx * dy + _MB_c * dy**2)
        gx = 2 * _MB_a * dx + _MB_b * dy
        gy = _MB_b * dx + 2 * _MB_c * dy
        return e, gx, gy

    def V(s, p):
        return terms(s)[0].sum(-1)

    def grad(s, p):
        e, gx, gy = terms(s)
        return _stack((e * gx).sum(-1), (e * gy).sum(-1))

    def hess(s, p):
        e, gx, gy = terms(s)
        hxx = (e * (gx**2 + 2 * _MB_a)).sum(-1)
        hxy = (e * (gx * gy + _MB_b)).sum(-1)
        hyy = (e * (gy**2 + 2 * _MB_c)).sum(-1)
        return _matrix([[hxx, hxy], [hxy, hyy]])

    return GradientSystem(
        V, ["x", "y"], grad=grad, hess=hess, name="mueller_brown", probe=[-0.3, 0.8]
    )


# ---------------------------------------------------------------------------- Bratu
def _bratu_jacobian(lap_matrix: sp.csr_matrix, sparse: bool):
    """The Jacobian ``L + lam diag(exp(u))`` of a Bratu problem with discrete Laplacian ``L``:
    CSR for one state when ``sparse``, else dense ``(..., n, n)``."""
    n = lap_matrix.shape[0]

    def jac(u, p):
        diag = p["lam"] * np.exp(u)
        if sparse and u.ndim == 1:
            return (lap_matrix + sp.diags(diag)).tocsr()
        J = np.broadcast_to(lap_matrix.toarray(), (*u.shape[:-1], n, n)).copy()
        idx = np.arange(n)
        J[..., idx, idx] += diag
        return J

    return jac


@model
def bratu(n: int = 20, lam: float = 1.0, *, sparse: bool = False) -> System:
    """The Bratu problem ``u'' + lam exp(u) = 0``, ``u(0) = u(1) = 0``, by finite differences.

    The state is ``u`` at ``n`` interior points of a uniform grid with spacing ``h = 1/(n+1)``;
    ``f_i = (u_{i-1} - 2 u_i + u_{i+1}) / h^2 + lam exp(u_i)``. Equilibria of ``u' = f(u)`` are the
    discrete Bratu solutions; the lower branch folds near ``lam = 3.51`` (3.51383 in the continuum
    limit). With ``sparse=True`` the Jacobian of one state is a ``scipy.sparse`` CSR matrix.

    Examples
    --------
    >>> s = bratu(n=5)
    >>> s.f([0.0] * 5).round(12).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    n = int(n)
    if n < 1:
        raise InputError(f"`n` must be a positive number of interior points; got {n}.")
    h2 = 1.0 / (n + 1) ** 2

    def f(u, p):
        padded = np.concatenate([np.zeros_like(u[..., :1]), u, np.zeros_like(u[..., :1])], axis=-1)
        lap = (padded[..., :-2] - 2.0 * u + padded[..., 2:]) / h2
        return lap + p["lam"] * np.exp(u)

    lap_matrix = (
        sp.diags([np.ones(n - 1), -2.0 * np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr") / h2
    )

    jac = _bratu_jacobian(lap_matrix, sparse)

    return System(
        f,
        [f"u{i}" for i in range(1, n + 1)],
        {"lam": lam},
        jac=jac,
        dfdp=lambda u, p, name: np.exp(u),
        name=f"bratu_n{n}",
        probe=np.full(n, 0.1),
    )


@model
def bratu_2d(m: int = 31, lam: float = 1.0, *, sparse: bool = True) -> System:
    """The 2-D Bratu problem ``Lap u + lam exp(u) = 0`` on the unit square, ``u = 0`` on its
    boundary, by the 5-point finite-difference Laplacian.

    The state is ``u`` at the ``n = m^2`` interior points of a uniform ``m x m`` grid with
    spacing ``h = 1/(m+1)``, in row-major order (``u[i m + j]`` at ``x = (j+1) h``,
    ``y = (i+1) h``); ``f = (u_W + u_E + u_S + u_N - 4 u) / h^2 + lam exp(u)``. Equilibria of
    ``u' = f(u)`` are the discrete Bratu solutions; the lower branch (from ``u = 0`` at
    ``lam = 0``) folds at a ``lam`` that converges as ``O(h^2)`` to the continuum value
    6.808124423. With ``sparse=True`` (the default: this model is meant for large ``m``) the
    Jacobian of one state is a ``scipy.sparse`` CSR matrix with at most ``5 n`` entries; with
    ``sparse=False`` it is a dense ``(..., n, n)`` array (small ``m`` only).

    Examples
    --------
    >>> s = bratu_2d(m=3, lam=0.0)
    >>> s.n, s.jacobian_is_sparse
    (9, True)
    >>> float(s.jac([0.0] * 9).diagonal()[4])  # -4 / h^2 with h = 1/4
    -64.0
    """
    m = int(m)
    if m < 1:
        raise InputError(f"`m` must be a positive number of interior points per side; got {m}.")
    n = m * m
    h2 = 1.0 / (m + 1) ** 2

    def f(u, p):
        grid = u.reshape(*u.shape[:-1], m, m)
        padded = np.zeros((*grid.shape[:-2], m + 2, m + 2))
        padded[..., 1:-1, 1:-1] = grid
        lap = (
            padded[..., :-2, 1:-1]
            + padded[..., 2:, 1:-1]
            + padded[..., 1:-1, :-2]
            + padded[..., 1:-1, 2:]
            - 4.0 * grid
        ) / h2
        return (lap + p["lam"] * np.exp(grid)).reshape(u.shape)

    second = sp.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]) / h2
    eye = sp.identity(m)
    lap_matrix = (sp.kron(eye, second) + sp.kron(second, eye)).tocsr()

    jac = _bratu_jacobian(lap_matrix, sparse)

    return System(
        f,
        [f"u{i}_{j}" for i in range(1, m + 1) for j in range(1, m + 1)],
        {"lam": lam},
        jac=jac,
        dfdp=lambda u, p, name: np.exp(u),
        name=f"bratu_2d_m{m}",
        probe=np.full(n, 0.1),
    )
