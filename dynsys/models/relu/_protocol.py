"""Many gradient-descent runs of one teacher-student network, compiled, on threads, with
certified early termination (private; the public entry is :func:`descent_runs`).

Each run is plain gradient descent ``W <- W - step grad J(W)`` with the stopping rules of
:func:`dynsys.integrate.flow` for ``method="gradient_descent"`` and ``converge_block = d``
(converged when ``max_j |dJ/dw_j| <= gradient_tol``). For small networks (``K d <=
_LANES_UP_TO``) a run starts in a compiled loop that advances up to ``LANES`` runs together,
vectorised across runs (:mod:`._lane_kernels`): it returns to Python when one of its runs stops or
pauses (:class:`_Run` handles that, as for the one-run loop), and a lane whose run is done with
lanes takes the next fresh run. A run leaves the lanes for the one-run loop
(:mod:`._protocol_kernels`, BLAS products) when its largest unit gradient first falls below the
hand-off, ``certify_below / 10``, unless it has ended before. The hand-off is a property of the
run's own trajectory, and a lane's arithmetic reads only its own run, so every run's arithmetic,
and its end point, is the same whatever the lanes beside it, the thread or the timing. Once no
fresh run is left the lanes narrow to the busy runs (a call costs about the same for idle lanes)
while the other threads finish the runs past the hand-off. Larger networks use the one-run loop
throughout. The compiled loops release the GIL, so two threads keep two cores busy without
spawning processes (nothing to re-import, nothing to pickle); the pool of threads is started
once per process and reused by every call.

Certified early termination: when a run's largest unit gradient first falls below
``certify_below`` (and then at every further factor of ten), the loop pauses. If the run's loss is
close to that of a family with a certificate, the image of that family's ball next to the iterate
(descent is equivariant under the symmetry) is handed to the compiled loop, which pauses again as
soon as the iterate enters it. Otherwise :func:`~._certificate.certify_descent` is tried: Newton
from the iterate to a critical point ``W~``, and a ball around it on which the descent map provably
contracts (positive definite Hessian, ``step < 2 / lambda_max``, a bound on the Hessian's
variation over the ball). A run whose iterate is inside such a ball converges to the unique
minimum in it and stops with ``Status.CERTIFIED``. The dataset records each certificate (centre,
radius, contraction factor, spectral bounds, the iteration it was issued at). A run that is never
certified runs the protocol to its end. End points are labelled in the threads as they finish:
the certified centre (or the converged iterate) is matched to the families found so far, up to
the symmetry group.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..._status import Status, status_attrs
from ...errors import InputError
from ._certificate import _single_threaded_blas, certify_descent

if TYPE_CHECKING:
    import xarray as xr

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


def _align(x: np.ndarray, c: np.ndarray, kind: str) -> np.ndarray:
    """An image ``g c`` of ``c (K, d)`` under the symmetry close to ``x`` when ``x`` is close to
    some image (``kind``: "units_inputs", "units" or "none"): the input permutation from the
    assignment of sorted columns, then the unit permutation from the assignment of rows
    (``scipy.optimize.linear_sum_assignment``). Any image is a valid answer; a poor one only
    makes the distance test fail."""
    from scipy.optimize import linear_sum_assignment

    if kind == "none":
        return c
    if kind == "units_inputs":
        xs, cs = np.sort(x, axis=0), np.sort(c, axis=0)
        cost = np.einsum("kij->ij", (xs[:, :, None] - cs[:, None, :]) ** 2)
        _, cols = linear_sum_assignment(cost)
        c = c[:, cols]
    cost = np.einsum("ijk->ij", (x[:, None, :] - c[None, :, :]) ** 2)
    _, rows = linear_sum_assignment(cost)
    return c[rows]


@dataclass
class _Family:
    """One minimum up to the symmetry: a representative, its loss, its certificate if any."""

    point: np.ndarray  # (K, d)
    loss: float
    certificate: object | None = None


class _Families:
    """The families found so far, shared by the threads.

    Descent is equivariant under the symmetry (it permutes units and inputs and preserves
    distances), so a ball certified around a family's representative is certified around each
    of its images: a run is certified as soon as its iterate lies within the radius of the image
    :func:`_align` finds. Labels: a run's end point joins the family of an image within
    ``match_tol`` (relative); otherwise the exact ``symmetry.match`` decides against every family
    of equal loss; otherwise it starts a family.
    """

    def __init__(self, symmetry, kind: str, match_tol: float, loss_tol: float) -> None:
        self.symmetry = symmetry
        self.kind = kind
        self.match_tol = match_tol
        self.loss_tol = loss_tol
        self.items: list[_Family] = []
        self.lock = threading.Lock()

    def _close_in_loss(self, J: float) -> list[int]:
        tol = self.loss_tol
        return [
            f
            for f, fam in enumerate(self.items)
            if abs(J - fam.loss) <= tol * max(abs(J), abs(fam.loss)) + 1e-14
        ]

    def ball_for(self, W: np.ndarray, J: float, g: float):
        """``(family, image of its centre near W, certificate)`` for the certified family whose
        loss ``W`` approaches (``|J - J_f| <= 10 g^2 / mu_f``, ``g`` the gradient norm), or
        None."""
        with self.lock:
            items = list(enumerate(self.items))
        for f, fam in items:
            cert = fam.certificate
            if cert is None:
                continue
            if abs(J - fam.loss) > 10.0 * g * g / cert.mu_lower + 1e-14:
                continue
            return f, _align(W, fam.point, self.kind), cert
        return None

    def add_certified(self, cert, J: float) -> int:
        """The family of a new certificate's centre (a new family if it is no image of a known
        one); its certificate is kept when the family had none."""
        c = np.asarray(cert.center, dtype=float)
        with self.lock:
            for f in self._close_in_loss(J):
                fam = self.items[f]
                if self._same(c, fam.point, 1e-8):
                    if fam.certificate is None:
                        # keep the representative and its certificate together
                        fam.point, fam.loss, fam.certificate = c.copy(), J, cert
                    return f
            self.items.append(_Family(c.copy(), J, cert))
            return len(self.items) - 1

    def label(self, W: np.ndarray, J: float) -> int:
        """The family of end point ``W (K, d)`` with loss ``J``; a new one if none matches."""
        with self.lock:
            close = self._close_in_loss(J)
            for f in close:
                if self._same(W, self.items[f].point, self.match_tol):
                    return f
            if self.symmetry is not None:
                for f in close:
                    ref = self.items[f].point.ravel()
                    if self._match(W.ravel(), ref):
                        return f
            self.items.append(_Family(W.copy(), J))
            return len(self.items) - 1

    def _match(self, x: np.ndarray, ref: np.ndarray) -> bool:
        if self.kind == "units_inputs":
            return bool(self.symmetry.match(x, ref, tol=self.match_tol, closest=False)[0])
        return bool(self.symmetry.match(x, ref, tol=self.match_tol)[0])

    def _same(self, W: np.ndarray, p: np.ndarray, tol: float) -> bool:
        image = _align(W, p, self.kind)
        scale = max(1.0, float(np.abs(p).max()))
        return float(np.linalg.norm(W - image)) <= tol * scale


_INT_FIELDS = ("iterations", "certified_at", "label", "certificate_attempts")
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
    handoff_sq: float


class _Run:
    """One run's resumable state: its iterate (a view of its row of ``runs.X``), iteration,
    pause thresholds and certificate. Both compiled loops (one run, or ``L`` runs in lanes)
    return to :meth:`resume` at every stop or pause; :meth:`finish` records the end."""

    __slots__ = (
        "W", "attempts", "ball", "center", "code", "families", "i", "k", "pause_sq", "radius_sq",
        "runs", "s", "teacher",
    )  # fmt: skip

    def __init__(self, i: int, runs: _Runs, teacher: _Teacher, s: _Settings, families) -> None:
        self.i, self.runs, self.teacher, self.s, self.families = i, runs, teacher, s, families
        self.W = runs.X[i]
        K, d = self.W.shape
        self.k = 0
        self.code = int(Status.RUNNING)
        self.center = np.zeros((K, d))
        self.radius_sq = -1.0
        self.pause_sq = s.first_pause_sq if s.certify else 0.0
        self.ball = None  # (family, centre image, certificate) the run is heading for
        self.attempts = 0

    def _loss(self, X: np.ndarray) -> float:
        from ._core import loss_core

        t = self.teacher
        return float(loss_core(X, t.W_star, t.a, t.a_star))

    def resume(self, k: int, code: int, block_sq: float, g_sq: float) -> bool:
        """Take the compiled loop's return at iteration ``k`` (``self.W`` holds its iterate):
        True when the run has ended, else the thresholds are updated and it goes on."""
        from ._protocol_kernels import PAUSE_BALL, PAUSE_GRADIENT

        self.k = k
        self.code = code
        if code not in (PAUSE_GRADIENT, PAUSE_BALL):
            return True
        W, ball = self.W, self.ball
        K, d = W.shape
        if ball is not None and float(np.linalg.norm(W - ball[1])) <= ball[2].radius * (
            1.0 - 1e-12
        ):
            self.code = int(Status.CERTIFIED)
            return True
        if code == PAUSE_BALL:  # on the edge by rounding: wait for the next gradient pause
            self.radius_sq = -1.0
            return False
        self.pause_sq = block_sq * 1e-2  # the next look when the gradient is ten times smaller
        J = self._loss(W)
        families, t = self.families, self.teacher
        found = families.ball_for(W, J, float(np.sqrt(g_sq)))
        if found is None:
            self.attempts += 1
            cert = certify_descent(W, t.W_star, self.s.step, t.a, t.a_star)
            if cert.radius > 0:
                f = families.add_certified(cert, cert.loss)
                found = (f, np.asarray(cert.center, dtype=float).reshape(K, d), cert)
        if found is not None:
            self.ball = found
            self.center = np.ascontiguousarray(found[1])
            self.radius_sq = (found[2].radius * (1.0 - 1e-9)) ** 2
            if float(np.linalg.norm(W - self.center)) <= found[2].radius * (1.0 - 1e-12):
                self.code = int(Status.CERTIFIED)
                return True
        return False

    def finish(self) -> None:
        """Record the ended run in ``runs`` and label its end point."""
        runs, i, code, k, W = self.runs, self.i, self.code, self.k, self.W
        runs.status[i] = code
        runs.ints["iterations"][i] = k
        runs.ints["certificate_attempts"][i] = self.attempts
        if code == Status.CERTIFIED:
            f, limit, cert = self.ball
            runs.ints["certified_at"][i] = k
            runs.ints["label"][i] = f
            runs.floats["certificate_radius"][i] = cert.radius
            runs.floats["certificate_distance"][i] = float(np.linalg.norm(W - limit))
            runs.floats["certificate_contraction"][i] = cert.contraction
            runs.floats["certificate_mu"][i] = cert.mu_lower
            runs.floats["certificate_lambda_max"][i] = cert.L_upper
            runs.floats["certificate_variation"][i] = cert.hessian_variation
            runs.floats["loss_final"][i] = self.families.items[f].loss
        else:
            limit = W
            if code in (Status.CONVERGED, Status.MAX_STEPS):
                J = self._loss(W)
                runs.floats["loss_final"][i] = J
                if code == Status.CONVERGED:
                    runs.ints["label"][i] = self.families.label(W, J)
        runs.limit[i] = limit
        grad = _unit_gradient_norms(W, self.teacher)
        runs.floats["gradient_final"][i] = float(np.max(grad)) if grad is not None else np.nan


def _run_one(run: _Run) -> None:
    """Run ``run`` to its end in the one-run compiled loop (certificates at its pauses), from
    wherever it stands, then label it."""
    from ._protocol_kernels import descend

    s, t = run.s, run.teacher
    args = (t.a, t.T, t.TU, t.b_t, t.beta_t, t.identity)
    while True:
        k, code, block_sq, g_sq = descend(
            run.W, run.k, s.step, s.tol_sq, s.esc_sq, s.max_steps + 1, s.max_steps, run.pause_sq,
            run.center, run.radius_sq, *args
        )  # fmt: skip
        if run.resume(k, code, block_sq, g_sq):
            break
    run.finish()


class _Lanes:
    """``width`` runs advanced together by :func:`._lane_kernels.descend_lanes`: the lane
    arrays (runs innermost) and the :class:`_Run` of each lane (None: idle)."""

    def __init__(self, width: int, K: int, d: int, teacher: _Teacher, handoff_sq: float) -> None:
        from ._lane_kernels import lane_workspace

        self.width, self.teacher, self.handoff_sq = width, teacher, handoff_sq
        self.W = np.ones((K, d, width))  # idle lanes hold a harmless network and do not move
        self.W_prev = np.empty_like(self.W)
        self.g = np.empty_like(self.W)
        self.center = np.zeros((K, d, width))
        self.k = np.zeros(width, dtype=np.int64)
        self.active = np.zeros(width, dtype=np.bool_)
        self.code = np.zeros(width, dtype=np.int64)
        self.block = np.zeros(width)
        self.g_sq = np.zeros(width)
        self.pause_sq = np.zeros(width)
        self.radius_sq = np.full(width, -1.0)
        self.ws = lane_workspace(K, d, teacher.b_t.size, width)
        self.runs: list[_Run | None] = [None] * width

    def busy(self) -> np.ndarray:
        return np.flatnonzero(self.active)

    def put(self, v: int, run: _Run | None) -> None:
        """Give lane ``v`` to ``run`` at its current iterate (None: the lane goes idle)."""
        self.runs[v] = run
        self.active[v] = run is not None
        if run is None:
            self.W[:, :, v] = 1.0
            self.radius_sq[v] = -1.0
            return
        self.W[:, :, v] = run.W
        self.k[v] = run.k
        self.pause_sq[v] = max(run.pause_sq, self.handoff_sq)
        self.radius_sq[v] = run.radius_sq
        if run.radius_sq > 0:
            self.center[:, :, v] = run.center

    def take(self, v: int) -> _Run:
        """The run of lane ``v`` with its iterate and iteration copied back; the lane goes
        idle."""
        run = self.runs[v]
        run.W[...] = self.W[:, :, v]
        run.k = int(self.k[v])
        self.put(v, None)
        return run

    def resized(self, width: int) -> _Lanes:
        """Lanes of ``width`` holding this one's busy runs."""
        K, d, _ = self.W.shape
        other = _Lanes(width, K, d, self.teacher, self.handoff_sq)
        for w, v in enumerate(self.busy()):
            other.put(w, self.take(v))
        return other


def _unit_gradient_norms(W: np.ndarray, teacher: _Teacher) -> np.ndarray | None:
    from ._protocol_kernels import gradient_into, workspace

    K, d = W.shape
    g = np.empty((K, d))
    ws = workspace(K, d, teacher.b_t.size, teacher.TU)
    args = (teacher.a, teacher.T, teacher.TU, teacher.b_t, teacher.beta_t, teacher.identity)
    if not gradient_into(np.ascontiguousarray(W), *args, ws, g):
        return None
    return np.linalg.norm(g, axis=1)


def _loss_symmetries(K: int, d: int, teacher: _Teacher) -> tuple[bool, bool]:
    """Whether unit permutations (equal student output weights) and, on top, input
    permutations (a permutation-matrix teacher with equal output weights) leave the loss
    unchanged."""
    W = teacher.W_star
    units = bool(np.all(teacher.a == teacher.a[0]))
    is_perm = (
        W.shape[0] == d
        and np.all((W == 0) | (W == 1))
        and np.all(W.sum(axis=0) == 1)
        and np.all(W.sum(axis=1) == 1)
    )
    inputs = units and bool(is_perm) and bool(np.all(teacher.a_star == teacher.a_star[0]))
    return units, inputs


def _symmetry_kind(symmetry, K: int, d: int, teacher: _Teacher):
    """The group and its kind for :func:`_align`; a given group must leave the loss unchanged
    (descent is equivariant only then, which the reuse of certificates relies on)."""
    from ...symmetry import PermutationSymmetry, UnitInputSymmetry

    units, inputs = _loss_symmetries(K, d, teacher)
    if isinstance(symmetry, str) and symmetry == "auto":
        if inputs:
            return UnitInputSymmetry(K, d), "units_inputs"
        return (PermutationSymmetry(K, d), "units") if units else (None, "none")
    if symmetry is None:
        return None, "none"
    if isinstance(symmetry, UnitInputSymmetry):
        ok, kind = inputs, "units_inputs"
    elif isinstance(symmetry, PermutationSymmetry):
        ok, kind = units, "units"
    else:
        raise InputError(
            "`symmetry` must be 'auto', None, a UnitInputSymmetry or a PermutationSymmetry; got "
            f"{type(symmetry).__name__}."
        )
    if not ok:
        raise InputError(
            f"{type(symmetry).__name__} is not a symmetry of this loss: unit permutations need "
            "equal student output weights, input permutations also a permutation-matrix teacher "
            "with equal output weights. Pass symmetry='auto' or None."
        )
    if (symmetry.K, symmetry.d) != (K, d):
        raise InputError(
            f"`symmetry` acts on networks with K = {symmetry.K}, d = {symmetry.d}; the runs "
            f"have K = {K}, d = {d}."
        )
    return symmetry, kind


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
        ``gradient_final`` (at ``w_final``), ``label`` (the family; -1: not labelled); over
        ``family``: ``family_w``, ``family_loss``, ``family_certified``, ``family_runs``.

    Notes
    -----
    The certificate (:func:`~dynsys.models.relu._certificate.certify_descent`): a ball
    ``B(W~, r)`` around a Newton-refined critical point ``W~`` with
    ``|I - step H(Y)| <= q < 1`` for every ``Y`` in it and ``step |grad J(W~)| <= (1 - q) r``.
    The descent map then sends the ball into itself and contracts on it, so a run whose iterate
    is in the ball converges to the one minimum in it: its end point, and so its family and its
    loss, are decided. ``w_limit`` is that centre (within ``step |grad J(W~)| / (1 - q)`` of the
    limit). The full protocol would stop within ``gradient_tol / mu`` of the same limit.

    A certificate found for one run serves every run that approaches an image of the same
    minimum (descent is equivariant under the symmetry, which is checked to leave the loss
    unchanged). With several threads, which run certifies a family first depends on timing, so
    ``certified_at`` and ``w_final`` of a certified run can differ between calls by the
    iterations between two pauses; ``w_limit``, ``label``, ``loss_final`` and the verdicts do
    not, and families are numbered by loss. Small networks are advanced many at a time,
    vectorised across runs, until their gradient falls below ``certify_below / 10``, then one at
    a time (module notes); where a run changes loop depends on its trajectory only, so an
    uncertified run repeats bit for bit, for any number of threads.

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
    _, K, d = W0.shape
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
    symmetry, kind = _symmetry_kind(symmetry, K, d, teacher)
    families = _Families(symmetry, kind, match_tol, loss_tol=1e-7)
    settings = _Settings(
        step=float(step),
        tol_sq=float(gradient_tol) ** 2,
        esc_sq=float(escape_radius) ** 2 if np.isfinite(escape_radius) else np.inf,
        max_steps=int(max_steps),
        certify=bool(certify),
        first_pause_sq=float(certify_below) ** 2,
        handoff_sq=(0.1 * float(certify_below)) ** 2,
    )
    runs = _Runs(np.ascontiguousarray(W0, dtype=float))
    start = time.perf_counter()
    with _single_threaded_blas():  # the products are tiny; the threads are the parallelism
        _run_all(runs, teacher, settings, families, workers, progress)
    seconds = time.perf_counter() - start
    return _dataset(runs, teacher, settings, families, symmetry, seconds, workers)


class _Queue:
    """The work the threads share: fresh runs (indices), which start in lanes, and the runs
    that left the lanes, which the one-run loop finishes."""

    LANES = "lanes"  # what :meth:`next` returns to send a thread to the lanes

    def __init__(self, runs, teacher, settings, families, bar, lanes: bool) -> None:
        self.runs, self.teacher, self.settings, self.families = runs, teacher, settings, families
        self.fresh: collections.deque = collections.deque(range(len(runs.X)))
        self.tail: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.lanes = lanes  # False: every run in the one-run loop
        self.in_lanes = 0  # threads running lanes (they may still add to the tail)
        self.bar = bar

    def next(self):
        """:attr:`LANES` while fresh runs are left (the caller then calls :meth:`left` when it
        leaves the lanes), else a run of the tail, else None once no thread can add to it;
        waits meanwhile. Without lanes: the next fresh run, else None."""
        if not self.lanes:
            return self.pop()
        with self.cond:
            while True:
                if self.fresh:
                    self.in_lanes += 1
                    return self.LANES
                if self.tail:
                    return self.tail.popleft()
                if self.in_lanes == 0:
                    return None
                self.cond.wait()

    def left(self) -> None:
        with self.cond:
            self.in_lanes -= 1
            self.cond.notify_all()

    def pop(self) -> _Run | None:
        """A fresh run, or None."""
        with self.cond:
            i = self.fresh.popleft() if self.fresh else None
        return None if i is None else _Run(i, self.runs, self.teacher, self.settings, self.families)

    def push_tail(self, run: _Run) -> None:
        with self.cond:
            self.tail.append(run)
            self.cond.notify()

    def done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)


def _run_lanes(queue: _Queue, width: int) -> None:
    """Run fresh runs of the queue in lanes until each ends or its largest unit gradient falls
    below the hand-off (module notes), then hand it to the one-run loop: a lane whose run stops
    or pauses goes back to Python (:meth:`_Run.resume` at the run's own pauses), a lane whose
    run is done with lanes takes the next fresh run. Once no fresh run is left and at most half
    the lanes are busy, the busy runs move to narrower lanes (a call costs about as much for
    idle lanes)."""
    from ._lane_kernels import descend_lanes
    from ._protocol_kernels import PAUSE_GRADIENT

    _, K, d = queue.runs.X.shape
    teacher, s = queue.teacher, queue.settings
    lanes = _Lanes(width, K, d, teacher, s.handoff_sq)
    args = (teacher.a, teacher.T, teacher.TU, teacher.b_t, teacher.beta_t, teacher.identity)
    running = int(Status.RUNNING)
    while True:
        for v in np.flatnonzero(~lanes.active):
            run = queue.pop()
            if run is None:
                break
            lanes.put(v, run)
        busy = lanes.busy()
        if busy.size == 0:
            return
        if busy.size <= lanes.width // 2 and busy.size <= _NARROW:  # no fresh run is left
            lanes = lanes.resized(1 << (busy.size - 1).bit_length())
        descend_lanes(
            lanes.W, lanes.W_prev, lanes.g, lanes.k, lanes.active, lanes.code, lanes.block,
            lanes.g_sq, s.step, s.tol_sq, s.esc_sq, s.max_steps + 1, s.max_steps, lanes.pause_sq,
            lanes.center, lanes.radius_sq, *args, lanes.ws
        )  # fmt: skip
        for v in np.flatnonzero(lanes.active & (lanes.code != running)):
            k, code, block_sq = int(lanes.k[v]), int(lanes.code[v]), float(lanes.block[v])
            run = lanes.take(v)
            own = code != PAUSE_GRADIENT or block_sq <= run.pause_sq  # not just the hand-off
            if own and run.resume(k, code, block_sq, lanes.g_sq[v]):
                run.finish()
                queue.done()
                lanes.put(v, queue.pop())
                continue
            if block_sq <= s.handoff_sq:
                queue.push_tail(run)
                run = queue.pop()
            lanes.put(v, run)


LANES = 32  # runs per lane kernel call, at most
# the largest K d for which runs start in lanes. Whole descent_runs calls (300 runs of the
# spurious-minimum protocol, one thread, CPU time, idle machine) took 0.88, 0.92, 1.04, 0.99 and
# 1.30 times as long with lanes as with the one-run loop alone at K = d = 12, 13, 14, 15, 16: the
# lanes' working set (about 20 K d L doubles) leaves the caches, and the narrow lanes at the end
# cost more besides
_LANES_UP_TO = 180
_NARROW = 8  # lanes narrow once no more runs than this are busy: wider calls cost what 32 do


def _run_all(runs, teacher, settings, families, workers: int, progress: bool) -> None:
    """Every run to its end on ``workers`` threads: in lanes up to the hand-off, then in the
    one-run loop (module notes)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs.X), desc="descent", unit="run")
    _, K, d = runs.X.shape
    queue = _Queue(runs, teacher, settings, families, bar, lanes=K * d <= _LANES_UP_TO)

    def worker() -> None:
        while (job := queue.next()) is not None:
            if job is _Queue.LANES:
                try:
                    _run_lanes(queue, LANES)
                finally:
                    queue.left()
            else:
                _run_one(job)
                queue.done()

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


def _dataset(runs, teacher, settings, families, symmetry, seconds, workers):
    import xarray as xr

    from ..._status import status_names

    N, K, d = runs.X.shape
    w_dims = ("run", "unit", "input")
    # families numbered by loss, then by their first run: the same for any number of threads
    labels = runs.ints["label"]
    F = len(families.items)
    first = np.full(F, N)
    np.minimum.at(first, labels[labels >= 0], np.flatnonzero(labels >= 0))
    order = sorted(range(F), key=lambda f: (families.items[f].loss, first[f]))
    rank = np.empty(F, dtype=np.int64)
    rank[order] = np.arange(F)
    if F:
        labels = np.where(labels >= 0, rank[np.maximum(labels, 0)], -1)
    runs.ints["label"] = labels
    items = [families.items[f] for f in order]
    family_w = np.array([f.point for f in items]).reshape(F, K, d)
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
        "family_loss": ("family", np.array([f.loss for f in items], dtype=float)),
        "family_certified": (
            "family",
            np.array([f.certificate is not None for f in items], dtype=bool),
            {"long_name": "a contraction ball around the representative is certified"},
        ),
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
