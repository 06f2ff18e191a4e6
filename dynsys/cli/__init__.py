"""The ``dynsys`` command.

``dynsys analyze SPEC.toml [--out DIR]`` finds and classifies the fixed points of the model a spec
names, prints a table, and writes ``fixed_points.nc`` and ``portrait.png`` into the output folder
(plus ``diagram.nc`` and ``diagram.png`` when the spec has a ``[continuation]`` table).
``dynsys continue SPEC.toml [--out DIR]`` follows equilibria in a parameter, switching at branch
points, prints the special points and writes ``diagram.nc`` and ``diagram.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DynsysError

__all__ = ["main"]


def _analyze(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .analyze import ANALYZE_SCHEMA, run_analyze
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, ANALYZE_SCHEMA)
    system = resolve_system(spec["model"], MODELS)
    out_dir = Path(args.out or spec["output"]["dir"])
    run_analyze(spec, system, out_dir)
    return 0


def _continue(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .continuation_stage import continue_schema, run_continue
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, continue_schema())
    system = resolve_system(spec["model"], MODELS)
    out_dir = Path(args.out or spec["output"]["dir"])
    run_continue(spec, system, out_dir, progress=args.progress)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dynsys`` command."""
    parser = argparse.ArgumentParser(
        prog="dynsys", description="Dynamical-systems analysis with numerical continuation."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    analyze = sub.add_parser(
        "analyze", help="find and classify fixed points, draw a phase portrait"
    )
    analyze.add_argument("spec", help="a TOML spec file (see examples/*.toml)")
    analyze.add_argument("--out", help="output folder (overrides output.dir of the spec)")
    analyze.set_defaults(run=_analyze)
    cont = sub.add_parser(
        "continue", help="follow equilibria in a parameter: bifurcation diagram, special points"
    )
    cont.add_argument("spec", help="a TOML spec file (see examples/lorenz_continuation.toml)")
    cont.add_argument("--out", help="output folder (overrides output.dir of the spec)")
    cont.add_argument("--progress", action="store_true", help="show progress bars")
    cont.set_defaults(run=_continue)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dynsys`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DynsysError, FileNotFoundError) as exc:
        print(f"dynsys {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
