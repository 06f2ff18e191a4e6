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
``dynsys spec --schema [COMMAND]`` prints every key a spec may hold, with its type, default and
one-line doc; the keys of the options tables come from the options classes of dynsys.
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


def _runner(command: str):
    """The function that runs ``command`` on a validated spec, a system and an output folder."""
    if command == "analyze":
        from .analyze import run_analyze

        return lambda spec, system, out_dir, progress: run_analyze(spec, system, out_dir)
    if command == "continue":
        from .continuation_stage import run_continue as run
    elif command == "basins":
        from .basins_stage import run_basins as run
    else:
        from .graph_stage import run_graph as run
    return lambda spec, system, out_dir, progress: run(spec, system, out_dir, progress=progress)


def _run(args: argparse.Namespace) -> int:
    """Load and check the spec, build the system, check the output folder, run the command."""
    from ..models import MODELS
    from .schema import schema_for
    from .spec import load_spec, resolve_system

    spec = load_spec(args.spec, schema_for(args.command))
    system = resolve_system(spec["model"], MODELS)
    out_dir = _out_dir(args, spec)
    _runner(args.command)(spec, system, out_dir, getattr(args, "progress", False))
    return 0


_COMMANDS = {
    # name: (help, what the spec holds, whether it has --progress)
    "analyze": (
        "find and classify fixed points, draw a phase portrait (and the optional stages)",
        "a TOML spec file (see examples/*.toml)",
        False,
    ),
    "continue": (
        "follow equilibria in a parameter: bifurcation diagram, special points",
        "a TOML spec file (see examples/lorenz_continuation.toml)",
        True,
    ),
    "basins": (
        "basins of attraction: a map on a grid, or probabilities with intervals",
        "a TOML spec file with a [basins] table",
        True,
    ),
    "graph": (
        "critical points joined by trajectories: barriers, disconnectivity",
        "a TOML spec file with a [region] (and a [graph] table)",
        True,
    ),
}


def _spec_reference(args: argparse.Namespace) -> int:
    """``dynsys spec --schema [COMMAND]``: print the reference of spec keys."""
    from .schema import print_reference, schema_for

    if not args.schema:
        raise SpecError("`dynsys spec` needs --schema (print the reference of spec keys).")
    print_reference(schema_for(args.for_command), sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dynsys`` command."""
    parser = argparse.ArgumentParser(
        prog="dynsys", description="Dynamical-systems analysis with numerical continuation."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    spec = sub.add_parser("spec", help="the reference of spec keys (types, defaults, docs)")
    spec.add_argument("--schema", action="store_true", help="print every key a spec may hold")
    spec.add_argument(
        "for_command",
        nargs="?",
        default="analyze",
        choices=list(_COMMANDS),
        help="the command whose spec is described (default analyze)",
    )
    spec.set_defaults(run=_spec_reference)
    for name, (help_text, spec_help, has_progress) in _COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        command.add_argument("spec", help=spec_help)
        command.add_argument("--out", help="output folder (overrides output.dir of the spec)")
        if has_progress:
            command.add_argument("--progress", action="store_true", help="show progress bars")
        command.set_defaults(run=_run)
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
