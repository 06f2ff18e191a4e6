"""Many gradient-descent runs of one teacher-student network, compiled, on threads, with
certified early termination (private; the public entry is :func:`descent_runs`).

Each run is plain gradient descent ``W <- W - step grad J(W)`` with the stopping rules of
:func:`dynsys.integrate.flow` for ``method="gradient_descent"`` and ``converge_block = d``
(converged when ``max_j |dJ/dw_j| <= gradient_tol``). A run is one call of the compiled loop
(:mod:`._protocol_kernels`) that releases the GIL, so two threads keep two cores busy without
spawning processes (nothing to re-import, nothing to pickle); the pool of threads is started
once per process and reused by every call.

Certified early termination: when a run's largest unit gradient first falls below
``certify_below`` (and then every factor of ten below that), the loop pauses and the
:func:`~._certificate.certify_descent` certificate is tried: Newton from the iterate to a
critical point ``W~``, and a ball around it on which the descent map provably contracts (positive
definite Hessian, ``step < 2 / lambda_max``, a bound on the Hessian's variation over the ball).
If the iterate is inside the ball, the run's limit is the unique minimum in the ball and the run
stops with ``Status.CERTIFIED``; if not, the compiled loop is told the ball and pauses again as
soon as the iterate enters it. The dataset records each certificate (centre, radius, contraction
factor, spectral bounds, the iteration it was issued at). A run that is never certified runs the
protocol to its end. End points are labelled in the threads as they finish: the certified centre
(or the converged iterate) is matched to the families found so far, up to the symmetry group.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..._status import Status, status_attrs
from ...errors import InputError
from ._certificate import certify_descent

__all__ = ["descent_runs"]

_POOLS: dict[int, cf.ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> cf.ThreadPoolExecutor:
    """The process-wide pool of ``workers`` threads (started on first use, then reused)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = cf.ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="dynsys-descent"
            )
        return pool


@dataclass(frozen=True)
class _Teacher:
    """The teacher and output weights in the layout the compiled loop reads."""

    W_star: np.ndarray
    a: np.ndarray
    a_star: np.ndarray
    T: np.ndarray
    TU: np.ndarray
    b_t: np.ndarray
    beta_t: np.ndarray
    identity: bool

    @classmethod
    def make(cls, W_star: np.ndarray, a: np.ndarray, a_star: np.ndarray) -> _Teacher:
        norms = np.linalg.norm(W_star, axis=1)
        TU = W_star / np.where(norms > 0, norms, 1.0)[:, None]
        identity = W_star.shape[0] == W_star.shape[1] and np.array_equal(
            W_star, np.eye(W_star.shape[1])
        )
        return cls(
            W_star,
            a,
            a_star,
            np.ascontiguousarray(W_star),
            np.ascontiguousarray(TU),
            np.ascontiguousarray(-a_star),
            np.ascontiguousarray(-a_star * norms),
            bool(identity),
        )


class _Families:
    """End points grouped into families (one per minimum up to the symmetry), shared by the
    threads."""

    def __init__(self, symmetry, match_tol: float, loss_tol: float) -> None:
        self.symmetry = symmetry
        self.match_tol = match_tol
        self.loss_tol = loss_tol
        self.points: list[np.ndarray] = []
        self.losses: list[float] = []
        self.lock = threading.Lock()

    def label(self, x: np.ndarray, J: float) -> int:
        """The family of end point ``x`` (flattened) with loss ``J``; a new one if none
        matches."""
        with self.lock:
            for f, (p, Jf) in enumerate(zip(self.points, self.losses, strict=True)):
                if abs(J - Jf) > self.loss_tol * max(abs(J), abs(Jf)) + 1e-14:
                    continue
                if self._same(x, p):
                    return f
            self.points.append(x.copy())
            self.losses.append(J)
            return len(self.points) - 1

    def _same(self, x: np.ndarray, p: np.ndarray) -> bool:
        if self.symmetry is None:
            scale = max(1.0, float(np.abs(p).max()))
            return float(np.linalg.norm(x - p)) <= self.match_tol * scale
        return bool(self.symmetry.match(x, p, tol=self.match_tol)[0])


_INT_FIELDS = ("iterations", "certified_at", "family", "certificate_attempts")
_FLOAT_FIELDS = (
    "loss_final",
    "gradient_final",
    "certificate_radius",
    "certificate_distance",
    "certificate_contraction",
    "certificate_mu",
    "certificate_lambda_max",
    "certificate_variation",
)


class _Runs:
    """Per-run arrays filled by the threads (each run writes its own rows)."""

    def __init__(self, X0: np.ndarray) -> None:
        N = len(X0)
        self.X0 = X0
        self.X = X0.copy()
        self.limit = np.full_like(X0, np.nan)
        self.status = np.full(N, int(Status.RUNNING), dtype=np.int8)
        self.ints = {k: np.full(N, -1, dtype=np.int64) for k in _INT_FIELDS}
        self.floats = {k: np.full(N, np.nan) for k in _FLOAT_FIELDS}


@dataclass(frozen=True)
class _Settings:
    step: float
    tol_sq: float
    esc_sq: float
    max_steps: int
    certify: bool
    first_pause_sq: float


def _run_one(i: int, runs: _Runs, teacher: _Teacher, s: _Settings, families: _Families):
    """Run ``i`` to its end (compiled loop, certificates at its pauses), then label it."""
    from ._protocol_kernels import PAUSE_BALL, PAUSE_GRADIENT, descend
    from ._core import loss_core

    W = runs.X[i]
    K, d = W.shape
    center = np.zeros((K, d))
    radius_sq = -1.0
    pause_sq = s.first_pause_sq if s.certify else 0.0
    cert = None
    attempts = 0
    k = 0
    args = (teacher.a, teacher.T, teacher.TU, teacher.b_t, teacher.beta_t, teacher.identity)
    while True:
        k, code, block_sq, _ = descend(
            W, k, s.step, s.tol_sq, s.esc_sq, s.max_steps + 1, s.max_steps, pause_sq, center,
            radius_sq, *args
        )  # fmt: skip
        if code not in (PAUSE_GRADIENT, PAUSE_BALL):
            break
        if code == PAUSE_GRADIENT:
            pause_sq = block_sq * 1e-2  # next attempt once the gradient is ten times smaller
            attempts += 1
            trial = certify_descent(W, teacher.W_star, s.step, teacher.a, teacher.a_star)
            if trial.valid:
                cert = trial
                center = np.ascontiguousarray(cert.center.reshape(K, d))
                # the loop's test, slightly inside; the decision is cert.contains below
                radius_sq = (cert.radius * (1.0 - 1e-9)) ** 2
        if cert is not None and cert.contains(W):
            code = int(Status.CERTIFIED)
            break
        if code == PAUSE_BALL:  # rounding put it on the edge: look again after the next pause
            radius_sq = -1.0
    runs.status[i] = code
    runs.ints["iterations"][i] = k
    runs.ints["certificate_attempts"][i] = attempts
    if code == Status.CERTIFIED:
        limit = cert.center.reshape(K, d)
        runs.ints["certified_at"][i] = k
        runs.floats["certificate_radius"][i] = cert.radius
        runs.floats["certificate_distance"][i] = float(np.linalg.norm(W - limit))
        runs.floats["certificate_contraction"][i] = cert.contraction
        runs.floats["certificate_mu"][i] = cert.mu_lower
        runs.floats["certificate_lambda_max"][i] = cert.L_upper
        runs.floats["certificate_variation"][i] = cert.variation
    else:
        limit = W
    runs.limit[i] = limit
    grad = _unit_gradient_norms(W, teacher)
    runs.floats["gradient_final"][i] = float(np.max(grad)) if grad is not None else np.nan
    if code in (Status.CONVERGED, Status.CERTIFIED, Status.MAX_STEPS):
        J = float(loss_core(limit[None], teacher.W_star, teacher.a, teacher.a_star)[0])
        runs.floats["loss_final"][i] = J
        if code != Status.MAX_STEPS:
            runs.ints["family"][i] = families.label(limit.ravel(), J)


def _unit_gradient_norms(W: np.ndarray, teacher: _Teacher) -> np.ndarray | None:
    from ._protocol_kernels import gradient_into, workspace

    K, d = W.shape
    g = np.empty((K, d))
    ws = workspace(K, d, teacher.b_t.size)
    args = (teacher.a, teacher.T, teacher.TU, teacher.b_t, teacher.beta_t, teacher.identity)
    if not gradient_into(np.ascontiguousarray(W), *args, ws, g):
        return None
    return np.linalg.norm(g, axis=1)


def _default_symmetry(K: int, d: int, teacher: _Teacher):
    """Unit and input permutations when the teacher is a permutation matrix with equal output
    weights (then ``W -> P W Q^T`` leaves the loss unchanged), unit permutations when the
    student's output weights are equal, else None."""
    from ...symmetry import PermutationSymmetry, UnitInputSymmetry

    W = teacher.W_star
    equal_a = np.all(teacher.a == teacher.a[0])
    is_perm = (
        W.shape[0] == d
        and np.all((W == 0) | (W == 1))
        and np.all(W.sum(axis=0) == 1)
        and np.all(W.sum(axis=1) == 1)
    )
    if equal_a and is_perm and np.all(teacher.a_star == teacher.a_star[0]):
        return UnitInputSymmetry(K, d)
    return PermutationSymmetry(K, d) if equal_a else None


def descent_runs(
    W0,
    W_star,
    *,
    a=None,
    a_star=None,
    step: float = 0.1,
    gradient_tol: float = 1e-9 / (2 * np.pi),
    max_steps: int = 2_000_000,
    escape_radius: float = 1e8,
    certify: bool = True,
    certify_below: float = 1e-3,
    symmetry="auto",
    match_tol: float = 1e-4,
    workers: int | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Gradient descent from every initial network in ``W0``, with certified outcomes.

    Each run iterates ``W <- W - step grad J(W)`` on Tian's closed-form population loss until
    ``max_j |dJ/dw_j| <= gradient_tol`` (the protocol of the spurious-minimum experiments), or
    until its outcome is certified (see Notes), in a compiled loop; runs are spread over
    ``workers`` threads. End points are labelled with families: one per distinct minimum up to
    ``symmetry``.

    Parameters
    ----------
    W0 : array_like, shape ``(runs, K, d)``
        Initial first layers.
    W_star : array_like, shape ``(K*, d)``
        The teacher's first layer.
    a, a_star : array_like, optional
        Fixed output weights of student and teacher (ones by default).
    step : float
        The learning rate.
    gradient_tol : float
        Convergence test on the largest per-unit gradient norm.
    max_steps : int
        Iteration budget per run (``Status.MAX_STEPS`` beyond).
    escape_radius : float
        ``|W| > escape_radius`` stops a run as ``Status.ESCAPED``.
    certify : bool
        Try certificates (Notes); False runs every orbit to the convergence test.
    certify_below : float
        First certificate attempt when the largest unit gradient falls below this, then at every
        further factor of ten.
    symmetry : "auto", None or a symmetry group
        The group up to which end points are one family; "auto" takes unit and input
        permutations for a permutation-matrix teacher with equal output weights, unit
        permutations for equal student output weights, else none.
    match_tol : float
        Relative tolerance of the family match.
    workers : int, optional
        Threads (the number of CPUs by default).
    progress : bool
        A tqdm bar counting finished runs.

    Returns
    -------
    xarray.Dataset
        Over ``run``: ``w_initial``, ``w_final`` (the iterate the run stopped at), ``w_limit``
        (the certified minimum's centre for certified runs, else ``w_final``), ``status``
        (:class:`~dynsys.Status` flags: ``converged``, ``certified``, ``max_steps``, ...),
        ``iterations``, ``certified_at`` (-1 when not certified), the certificate
        (``certificate_radius``, ``certificate_distance`` of the iterate from the centre,
        ``certificate_contraction`` q, ``certificate_mu`` and ``certificate_lambda_max`` bounds on
        the Hessian's spectrum at the centre, ``certificate_variation`` bound on its variation
        over the ball), ``certificate_attempts``, ``loss_final`` (at ``w_limit``),
        ``gradient_final`` (at ``w_final``), ``family`` (-1: not labelled); over ``family``:
        ``family_w``, ``family_loss``, ``family_runs``.

    Notes
    -----
    The certificate (:func:`~dynsys.models.relu._certificate.certify_descent`): a ball
    ``B(W~, r)`` around a Newton-refined critical point ``W~`` with
    ``|I - step H(Y)| <= q < 1`` for every ``Y`` in it and ``step |grad J(W~)| <= (1 - q) r``.
    The descent map then sends the ball into itself and contracts on it, so a run whose iterate
    is in the ball converges to the one minimum in it: its end point, and so its family and its
    loss, are decided. ``w_limit`` is that centre (within ``step |grad J(W~)| / (1 - q)`` of the
    limit). The full protocol would stop within ``gradient_tol / mu`` of the same limit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W0 = rng.normal(size=(4, 3, 3)) / np.sqrt(3)
    >>> ds = descent_runs(W0, np.eye(3), workers=1)
    >>> sorted(set(ds.status_name.values.tolist()))
    ['certified']
    >>> bool(np.all(ds.certified_at.values <= ds.iterations.values))
    True
    """
    from ._core import as_rows, weights

    W0 = as_rows(W0, "W0")
    if W0.ndim != 3:
        raise InputError(f"`W0` has shape {W0.shape}; expected (runs, K, d): one network per run.")
    W_star = as_rows(W_star, "W_star")
    if W_star.ndim != 2 or W_star.shape[1] != W0.shape[2]:
        raise InputError(
            f"`W_star` has shape {W_star.shape}; expected (K*, {W0.shape[2]}) to match the "
            f"students' {W0.shape[2]} inputs."
        )
    if not np.all(np.isfinite(W0)) or not np.all(np.isfinite(W_star)):
        raise InputError("`W0` and `W_star` must be finite; remove the NaN or inf entries.")
    runs_n, K, d = W0.shape
    a = np.ascontiguousarray(weights(a, K, "a"), dtype=float)
    a_star = np.ascontiguousarray(weights(a_star, W_star.shape[0], "a_star"), dtype=float)
    for name, value in (("step", step), ("gradient_tol", gradient_tol)):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"`{name}` must be a positive number; got {value!r}.")
    if int(max_steps) < 1:
        raise InputError(f"`max_steps` must be at least 1; got {max_steps!r}.")
    if not (certify_below > 0):
        raise InputError(f"`certify_below` must be positive; got {certify_below!r}.")
    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise InputError(f"`workers` must be at least 1; got {workers!r}.")
    teacher = _Teacher.make(np.ascontiguousarray(W_star, dtype=float), a, a_star)
    if symmetry == "auto":
        symmetry = _default_symmetry(K, d, teacher)
    families = _Families(symmetry, match_tol, loss_tol=1e-7)
    settings = _Settings(
        step=float(step),
        tol_sq=float(gradient_tol) ** 2,
        esc_sq=float(escape_radius) ** 2 if np.isfinite(escape_radius) else np.inf,
        max_steps=int(max_steps),
        certify=bool(certify),
        first_pause_sq=float(certify_below) ** 2,
    )
    runs = _Runs(np.ascontiguousarray(W0, dtype=float))
    start = time.perf_counter()
    _run_all(runs, teacher, settings, families, workers, progress)
    seconds = time.perf_counter() - start
    return _dataset(runs, teacher, settings, families, symmetry, seconds, workers)


def _run_all(runs, teacher, settings, families, workers: int, progress: bool) -> None:
    order = itertools.count()
    lock = threading.Lock()
    n = len(runs.X)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="descent", unit="run")

    def worker() -> None:
        while True:
            with lock:
                i = next(order)
            if i >= n:
                return
            _run_one(i, runs, teacher, settings, families)
            if bar is not None:
                bar.update(1)

    try:
        if workers == 1:
            worker()
        else:
            pool = _pool(workers)
            for future in [pool.submit(worker) for _ in range(workers)]:
                future.result()
    finally:
        if bar is not None:
            bar.close()


def _dataset(runs, teacher, settings, families, symmetry, seconds, workers) -> xr.Dataset:
    from ..._status import status_names

    N, K, d = runs.X.shape
    w_dims = ("run", "unit", "input")
    labels = runs.ints["family"]
    F = len(families.points)
    family_w = np.array(families.points).reshape(F, K, d) if F else np.zeros((0, K, d))
    data = {
        "w_initial": (w_dims, runs.X0, {"long_name": "initial first layer"}),
        "w_final": (w_dims, runs.X, {"long_name": "iterate the run stopped at"}),
        "w_limit": (
            w_dims,
            runs.limit,
            {"long_name": "certified minimum (certified runs), else the final iterate"},
        ),
        "status": ("run", runs.status, status_attrs()),
        "status_name": ("run", status_names(runs.status).astype(str)),
        "family_w": (("family", "unit", "input"), family_w),
        "family_loss": ("family", np.array(families.losses, dtype=float)),
        "family_runs": ("family", np.bincount(labels[labels >= 0], minlength=F)),
        "teacher": (("teacher_unit", "input"), teacher.W_star),
    }
    for name, values in {**runs.ints, **runs.floats}.items():
        data[name] = ("run", values)
    return xr.Dataset(
        data,
        coords={"run": np.arange(N), "family": np.arange(F)},
        attrs={
            "step": settings.step,
            "gradient_tol": float(np.sqrt(settings.tol_sq)),
            "max_steps": settings.max_steps,
            "certify": int(settings.certify),
            "symmetry": type(symmetry).__name__ if symmetry is not None else "none",
            "match_tol": families.match_tol,
            "workers": workers,
            "seconds": seconds,
            "description": "gradient descent runs on the teacher-student ReLU loss "
            "(dynsys.models.relu.descent_runs)",
        },
    )
