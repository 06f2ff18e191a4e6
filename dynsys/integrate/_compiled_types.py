"""The numba types and signatures of the compiled integrators and of the functions models
compile for them (imports numba, compiles nothing: a model's functions can be built without
building the loops).
"""

from __future__ import annotations

import numba

F1 = numba.types.Array(numba.float64, 1, "C")
F2 = numba.types.Array(numba.float64, 2, "C")
F3 = numba.types.Array(numba.float64, 3, "C")
I1 = numba.types.Array(numba.int64, 1, "C")
I8_1 = numba.types.Array(numba.int8, 1, "C")
FIELD_SIGNATURE = numba.types.void(F1, F1, F1)
"""The signature a compiled field is compiled with: ``field(y, params, out)``, all three 1-D
C-contiguous float64 arrays. Passed as a function of this type (not as its own dispatcher type),
the field does not enter the loop's cache key: the loop is compiled once and cached on disk."""
LYAPUNOV_SIGNATURE = numba.float64(F1, F1)
"""The signature a compiled Lyapunov function of trapping regions is compiled with:
``V(y, params) -> float`` of one state."""
LANE_FIELD_SIGNATURE = numba.types.void(F2, F1, F2)
"""The signature a field in lane form is compiled with: ``lanes(Y, params, OUT)``, ``Y`` and
``OUT`` of shape ``(n, lanes)`` (one state per column), all C-contiguous float64."""
LANE_LYAPUNOV_SIGNATURE = numba.types.void(F2, F1, F1)
"""The signature a Lyapunov function in lane form is compiled with: ``lanes(Y, params, out)``
writes ``V`` of each column of ``Y (n, lanes)`` into ``out (lanes,)``."""
LANES = 32
"""Orbits the lane loop advances together (four 512-bit vectors of doubles: enough independent
work to hide the latency of the per-orbit steps, few enough that a batch seldom waits on a
lane)."""
FIELD = numba.types.FunctionType(FIELD_SIGNATURE)
LYAPUNOV = numba.types.FunctionType(LYAPUNOV_SIGNATURE)
LANE_FIELD = numba.types.FunctionType(LANE_FIELD_SIGNATURE)
LANE_LYAPUNOV = numba.types.FunctionType(LANE_LYAPUNOV_SIGNATURE)
_F8 = numba.float64
_I8 = numba.int64
_REGIONS_AND_SETTINGS = (
    F1, F2, F2, F3, F1, LYAPUNOV, F1, F1, F2, F1, _F8, _F8, _F8, _F8, _F8, _I8, _F8, _F8, _F8,
    _F8, F2, F1, I8_1, I1, I1, F1, I1, I1,
)  # fmt: skip
ORBITS_SIGNATURE = numba.types.void(FIELD, *_REGIONS_AND_SETTINGS)
"""``dopri5_orbits(field, params, x0, centers, forms, levels, lyapunov, ...)``."""
LANES_SIGNATURE = numba.types.void(FIELD, LANE_FIELD, LANE_LYAPUNOV, *_REGIONS_AND_SETTINGS)
"""``dopri5_lanes(field, lanes, lyapunov_lanes, params, x0, ...)``."""
