"""The ``dynsys`` command.

``dynsys analyze SPEC.toml [--out DIR]`` finds and classifies the fixed points of the model a spec
names, prints a table, and writes ``fixed_points.nc`` and ``portrait.png`` into the output folder;
optional tables add stages that start from those points: ``[continuation]`` (``diagram.nc``,
``diagram.png``), ``[basins]`` (``basins.nc``, ``basins.png``) and ``[graph]`` (``graph.nc``,
``graph.graphml``, ``graph.png``, ``disconnectivity.png``).
``dynsys continue SPEC.toml [--out DIR]`` follows equilibria in a parameter, switching at branch
points, prints the special points and writes ``diagram.nc`` and ``diagram.png``.
``dynsys basins SPEC.toml [--out DIR] [--progress]`` maps basins of attraction or estimates their
probabilities (the ``[basins]`` table), from the fixed points of ``[region]`` when the spec has
one, else finding the attractors on the way; it prints the attractors with their fractions and
writes ``basins.nc`` and ``basins.png``.
``dynsys graph SPEC.toml [--out DIR]`` builds the graph of the critical points in ``[region]``
joined by the trajectories leaving the saddles, prints its minima, saddles and barriers, and
writes the graph files of the ``[graph]`` stage.

Errors in the spec or the files (exit code 2) are reported in one line that names the problem.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import DynsysError, SpecError

__all__ = ["main"]


def _out_dir(args: argparse.Namespace, spec: dict) -> Path:
    """The output folder (``--out``, else ``output.dir``), checked before any computation: it
    must be a folder, or be creatable in the nearest existing folder above it."""
    out_dir = Path(args.out or spec["output"]["dir"])
    existing = next(p for p in (out_dir, *out_dir.parents) if p.exists())
    problem = ""
    if not existing.is_dir():
        problem = f"{str(existing)!r} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"no permission to write in {str(existing)!r}"
    if problem:
        raise SpecError(
            f"cannot use {str(out_dir)!r} as the output folder (--out or output.dir): {problem}."
        )
    return out_dir


def _analyze(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .analyze import ANALYZE_SCHEMA, run_analyze
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, ANALYZE_SCHEMA)
    system = resolve_system(spec["model"], MODELS)
    out_dir = _out_dir(args, spec)
    run_analyze(spec, system, out_dir)
    return 0


def _continue(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .continuation_stage import continue_schema, run_continue
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, continue_schema())
    system = resolve_system(spec["model"], MODELS)
    out_dir = _out_dir(args, spec)
    run_continue(spec, system, out_dir, progress=args.progress)
    return 0


def _basins(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .basins_stage import basins_schema, run_basins
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, basins_schema())
    system = resolve_system(spec["model"], MODELS)
    out_dir = _out_dir(args, spec)
    run_basins(spec, system, out_dir, progress=args.progress)
    return 0


def _graph(args: argparse.Namespace) -> int:
    from ..models import MODELS
    from .analyze import ANALYZE_SCHEMA
    from .graph_stage import run_graph
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, ANALYZE_SCHEMA)
    system = resolve_system(spec["model"], MODELS)
    out_dir = _out_dir(args, spec)
    run_graph(spec, system, out_dir, progress=args.progress)
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
    basins = sub.add_parser(
        "basins", help="basins of attraction: a map on a grid, or probabilities with intervals"
    )
    basins.add_argument("spec", help="a TOML spec file with a [basins] table")
    basins.add_argument("--out", help="output folder (overrides output.dir of the spec)")
    basins.add_argument("--progress", action="store_true", help="show a progress bar")
    basins.set_defaults(run=_basins)
    graph = sub.add_parser(
        "graph", help="critical points joined by trajectories: barriers, disconnectivity"
    )
    graph.add_argument("spec", help="a TOML spec file with a [region] (and a [graph] table)")
    graph.add_argument("--out", help="output folder (overrides output.dir of the spec)")
    graph.add_argument("--progress", action="store_true", help="show progress bars")
    graph.set_defaults(run=_graph)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dynsys`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DynsysError, OSError) as exc:  # OSError: missing file, not a folder, no permission
        text = str(exc)
        if isinstance(exc, OSError) and exc.strerror and exc.filename:
            text = f"{exc.strerror}: {exc.filename}"
        print(f"dynsys {args.command}: error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
