"""Build and run AUTO-07p (Debian's ``auto-07p`` package, with gfortran) from the benchmarks.

A model is a Fortran source with AUTO's user routines (``FUNC``, ``STPNT``; :data:`FORTRAN_TAIL`
supplies the empty ``BCND``, ``ICND``, ``FOPT``, ``PVLS``). :func:`compile_model` links it with
AUTO's library into an executable; :func:`run` runs it on a constants file (``fort.2``), from a
restart file (``fort.3``) when given, one OpenMP thread (the comparisons are serial), and
returns the wall time of the process; :func:`read_branches` reads the points and special points
of its output (``fort.7``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "AUTO_LIB",
    "FORTRAN_TAIL",
    "AutoPoint",
    "auto_available",
    "compile_model",
    "constants",
    "model_source",
    "read_branches",
    "run",
]

AUTO_LIB = Path("/usr/lib/auto-07p/lib")
SERIAL = {**os.environ, "OMP_NUM_THREADS": "1"}  # AUTO is built with OpenMP; compare serial

FORTRAN_TAIL = """
SUBROUTINE BCND
END SUBROUTINE BCND
SUBROUTINE ICND
END SUBROUTINE ICND
SUBROUTINE FOPT
END SUBROUTINE FOPT
SUBROUTINE PVLS
END SUBROUTINE PVLS
"""

TYPE_CODES = {1: "BP", 2: "LP", 3: "HB", 4: "UZ", 5: "LP", 6: "BP", 7: "PD", 8: "TR", 9: "EP"}
"""AUTO's point types in ``fort.7`` (sign dropped; 1-3 for equilibria, 5-8 for cycles)."""


FUNC_HEAD = """
SUBROUTINE FUNC(NDIM,U,ICP,PAR,IJAC,F,DFDU,DFDP)
  IMPLICIT NONE
  INTEGER, INTENT(IN) :: NDIM, ICP(*), IJAC
  DOUBLE PRECISION, INTENT(IN) :: U(NDIM), PAR(*)
  DOUBLE PRECISION, INTENT(OUT) :: F(NDIM)
  DOUBLE PRECISION, INTENT(INOUT) :: DFDU(NDIM,NDIM), DFDP(NDIM,*)
"""
"""The declarations that open AUTO's ``FUNC`` (the model's field, Jacobian and parameter
derivative)."""
STPNT_HEAD = """SUBROUTINE STPNT(NDIM,U,PAR,T)
  IMPLICIT NONE
  INTEGER, INTENT(IN) :: NDIM
  DOUBLE PRECISION, INTENT(INOUT) :: U(NDIM), PAR(*)
  DOUBLE PRECISION, INTENT(IN) :: T
"""
"""The declarations that open AUTO's ``STPNT`` (the start point)."""


def model_source(func_body: str, stpnt_body: str) -> str:
    """An AUTO model file: ``FUNC`` and ``STPNT`` with the given bodies (the other routines come
    from the empty stubs linked in by :func:`compile_model`)."""
    return (
        FUNC_HEAD + func_body + "END SUBROUTINE FUNC\n\n" + STPNT_HEAD + stpnt_body
        + "END SUBROUTINE STPNT\n"
    )  # fmt: skip


LORENZ_FUNC_BODY = """\
  F(1) = PAR(2)*(U(2) - U(1))
  F(2) = PAR(1)*U(1) - U(2) - U(1)*U(3)
  F(3) = U(1)*U(2) - PAR(3)*U(3)
  IF (IJAC .EQ. 0) RETURN
  DFDU(1,1) = -PAR(2)
  DFDU(1,2) = PAR(2)
  DFDU(1,3) = 0.0D0
  DFDU(2,1) = PAR(1) - U(3)
  DFDU(2,2) = -1.0D0
  DFDU(2,3) = -U(1)
  DFDU(3,1) = U(2)
  DFDU(3,2) = U(1)
  DFDU(3,3) = -PAR(3)
  IF (IJAC .EQ. 1) RETURN
  DFDP(1,1) = 0.0D0
  DFDP(2,1) = U(1)
  DFDP(3,1) = 0.0D0
"""


def lorenz_source(r: float, at: str) -> str:
    """AUTO's Lorenz model (PAR(1) = r, PAR(2) = sigma = 10, PAR(3) = beta = 8/3), started at
    ``r`` on the origin (``at="origin"``) or on the equilibrium ``C+`` (``at="c_plus"``)."""
    if at == "origin":
        start = "  U = 0.0D0\n"
    elif at == "c_plus":
        start = "  U(1) = SQRT(PAR(3)*(PAR(1) - 1.0D0))\n  U(2) = U(1)\n  U(3) = PAR(1) - 1.0D0\n"
    else:
        raise ValueError(f"at must be 'origin' or 'c_plus'; got {at!r}")
    return model_source(
        LORENZ_FUNC_BODY,
        f"  PAR(1) = {r:.1f}D0\n  PAR(2) = 10.0D0\n  PAR(3) = 8.0D0/3.0D0\n" + start,
    )


def auto_available() -> bool:
    """Whether gfortran and AUTO-07p's library are installed."""
    return shutil.which("gfortran") is not None and AUTO_LIB.is_dir()


def constants(
    ndim: int,
    ips: int,
    icp: str,
    *,
    irs: int = 0,
    ilp: int = 1,
    isp: int = 2,
    isw: int = 1,
    ntst: int = 40,
    ncol: int = 4,
    iad: int = 3,
    nmx: int = 400,
    mxbf: int = 10,
    epsl: float = 1e-10,
    epsu: float = 1e-10,
    epss: float = 1e-8,
    ds: float = 0.01,
    ds_min: float = 1e-6,
    ds_max: float = 0.5,
    npar: int = 11,
    thl: str = "{}",
    stop: str = "{}",
    extra: str = "",
) -> str:
    """A constants file (``fort.2``, keyword form) for one AUTO run; ``extra`` holds further
    lines (``A1 = 10.0`` ...)."""
    return (
        f"NDIM=   {ndim}, IPS =   {ips}, IRS =   {irs}, ILP =   {ilp}\n"
        f"ICP =  {icp}\n"
        f"NTST=  {ntst}, NCOL=   {ncol}, IAD =   {iad}, ISP =   {isp}, ISW = {isw}, IPLT= 0, "
        "NBC= 0, NINT= 0\n"
        f"NMX= {nmx}, NPR= 100000, MXBF=  {mxbf}, IID =   0, ITMX= 8, ITNW= 7, NWTN= 3, JAC= 1\n"
        f"EPSL= {epsl:g}, EPSU = {epsu:g}, EPSS ={epss:g}\n"
        f"DS  =   {ds:g}, DSMIN=  {ds_min:g}, DSMAX=   {ds_max:g}, IADS=   1\n"
        f"NPAR=  {npar}, THL =  {thl}, THU =  {{}}\n"
        f"UZSTOP = {stop}\n" + (extra + "\n" if extra else "")
    )


def compile_model(fortran: str, folder: Path) -> tuple[Path, float]:
    """Compile ``fortran`` (with :data:`FORTRAN_TAIL`) and link it with AUTO's library in
    ``folder``; returns the executable and the wall time of the compilation."""
    source = folder / "model.f90"
    source.write_text(fortran + FORTRAN_TAIL)
    executable = folder / "model.exe"
    objects = sorted(str(p) for p in AUTO_LIB.glob("*.o"))
    command = ["gfortran", "-O2", "-std=legacy", "-fopenmp", str(source), *objects]
    start = time.perf_counter()
    subprocess.run([*command, "-o", str(executable)], cwd=folder, check=True, capture_output=True)
    return executable, time.perf_counter() - start


def run(executable: Path, constants_text: str, restart: Path | None = None) -> float:
    """Run AUTO on ``constants_text`` (from the restart file ``restart`` when given) in the
    executable's folder; returns the wall time of the process."""
    folder = executable.parent
    (folder / "fort.2").write_text(constants_text)
    if restart is not None:
        shutil.copy(restart, folder / "fort.3")
    start = time.perf_counter()
    subprocess.run([str(executable)], cwd=folder, check=True, capture_output=True, env=SERIAL)
    return time.perf_counter() - start


@dataclass
class AutoPoint:
    """One row of ``fort.7``: branch number, point number, type ("" for a regular point, else
    :data:`TYPE_CODES`), label, and the printed values (the continuation parameter first)."""

    branch: int
    point: int
    type: str
    label: int
    values: np.ndarray


def read_branches(folder: Path) -> list[AutoPoint]:
    """Every point AUTO wrote to ``folder/fort.7``, in order (header lines skipped)."""
    rows = []
    for line in (folder / "fort.7").read_text().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[0] != "0" and parts[0].lstrip("-").isdigit():
            code = abs(int(parts[2]))
            rows.append(
                AutoPoint(
                    int(parts[0]),
                    abs(int(parts[1])),
                    TYPE_CODES.get(code, ""),
                    int(parts[3]),
                    np.array([float(v.replace("D", "E")) for v in parts[4:]]),
                )
            )
    return rows
