"""The ``dynsys`` command.

``dynsys analyze SPEC.toml`` finds and classifies the fixed points of the model a spec names,
prints a table, and writes ``fixed_points.nc`` and ``portrait.png``; optional tables add stages
that start from those points: ``[continuation]`` (``diagram.nc``, ``diagram.png``), ``[basins]``
(``basins.nc``, ``basins.png``) and ``[graph]`` (``graph.nc``, ``graph.graphml``, ``graph.png``,
``disconnectivity.png``). ``dynsys continue``, ``dynsys basins`` and ``dynsys graph`` run one
stage alone; ``dynsys spec --schema [COMMAND]`` prints every key a spec may hold, with its type,
default and one-line doc.

Every command that writes a run folder ends with ``report.html``: one self-contained page with
the spec, provenance, the tables, outcome counts, every figure and an interactive view of the
critical-point graph (:mod:`dynsys.cli.report`; ``--no-report`` skips it).

Where results go: ``--out DIR``, else ``output.dir`` of the spec, else ``out/<spec name>``. The
folder is locked while a run writes, filled in a staging folder beside it and replaced whole
when the run succeeds (:mod:`dynsys.cli.run_folder`): it never mixes two runs. A run that fails
or is interrupted (Ctrl-C) leaves the folder as it was and keeps what it finished in
``DIR.incomplete-<run>``; basin chunks already computed are kept beside the folder, so the same
command resumes where it stopped.

``dynsys init [PATH] --kind KIND`` writes a commented starter spec (:mod:`dynsys.cli.starter`);
``dynsys --version`` prints the version; ``python -m dynsys`` is the same command. ``--progress``
(progress bars) is accepted by every command, before or after its name.

What a spec may name: models declared with ``@dynsys.model`` (or entry points of the
``dynsys.models`` group), imported from the Python path (``--import-path DIR`` adds a folder)
and, for ``model.factory``, from the spec's own folder, searched last and only while the factory
is imported (:mod:`dynsys.cli.search_path`); a dask scheduler only from the command line
(``--executor``). See SECURITY.md.

Errors in the spec or the files (exit code 2) are reported in one line that names the problem;
an interrupted run exits with code 130.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import DynsysError, SpecError

__all__ = ["main"]


def _out_dir(args: argparse.Namespace, spec: dict) -> Path:
    """The output folder: ``--out``, else ``output.dir``, else ``out/<spec file's stem>``."""
    return Path(args.out or spec["output"]["dir"] or Path("out") / Path(args.spec).stem)


def _runner(command: str):
    """The function that runs ``command`` on a validated spec, a system and an output folder."""
    if command == "analyze":
        from .analyze import run_analyze as run
    elif command == "continue":
        from .continuation_stage import run_continue as run
    elif command == "basins":
        from .basins_stage import run_basins as run
    else:
        from .graph_stage import run_graph as run
    return run


def _chunk_folder(target: Path, spec: dict) -> Path:
    """The default resumable folder of the basin chunks of this spec: beside the output folder,
    named by a digest of the spec, so that a changed spec starts afresh."""
    import hashlib
    import json

    from .. import Options

    def plain(value):
        if isinstance(value, Options):
            return value.as_attrs()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    text = json.dumps(plain(spec), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return target.parent / f".{target.name}.basins-{digest}"


def _basins_run(command: str, spec: dict) -> bool:
    """Whether the run computes basins (the ``basins`` command, or its stage in analyze)."""
    if command != "analyze":
        return command == "basins"
    from .basins_stage import basins_requested

    return basins_requested(spec)


def _run(args: argparse.Namespace) -> int:
    """Load and check the spec, build the system, lock the output folder, run the command."""
    from ..models import MODELS
    from .checks import preflight
    from .run_folder import RunFolder
    from .schema import schema_for
    from .search_path import spec_folder_on_path
    from .spec import load_spec, resolve_system

    for folder in reversed(args.import_path or []):
        sys.path.insert(0, str(Path(folder).resolve()))
    spec = load_spec(args.spec, schema_for(args.command))
    with spec_folder_on_path(args.spec, spec["model"]):
        system = resolve_system(spec["model"], MODELS)
    preflight(args.command, spec, system)
    target = _out_dir(args, spec)
    chunks = None
    if _basins_run(args.command, spec) and not spec["basins"]["run_dir"]:
        chunks = _chunk_folder(target, spec)
        spec["basins"]["run_dir"] = str(chunks)
    run = _runner(args.command)
    kwargs = {"progress": args.progress}
    if args.command in ("analyze", "basins"):
        kwargs["executor"] = args.executor
    folder = RunFolder(target, command=args.command, spec=str(args.spec))
    started = time.time()
    try:
        with folder:
            written = run(spec, system, folder.path, **kwargs)
            if not args.no_report:
                from .report import report_run

                written.update(report_run(folder, spec, args.spec, started))
    except KeyboardInterrupt as exc:
        kept = (
            f"what it finished is in {str(folder.kept)!r}"
            if folder.kept
            else "nothing was finished"
        )
        resume = (
            f"; basin chunks computed so far are kept in {str(chunks)!r} and the same command "
            "resumes from them"
            if chunks is not None and chunks.exists()
            else ""
        )
        detail = f" ({exc})" if str(exc) else ""
        print(
            f"dynsys {args.command}: interrupted{detail}; {str(target)!r} was left as it was and "
            f"{kept}{resume}.",
            file=sys.stderr,
        )
        return 130
    if chunks is not None and chunks.exists():
        import shutil

        shutil.rmtree(chunks, ignore_errors=True)  # the run is published: its chunks are done
    for label, path in written.items():
        print(f"wrote {label}: {folder.final(path)}")
    return 0


_COMMANDS = {
    # name: (help, what the spec holds)
    "analyze": (
        "find and classify fixed points, draw a phase portrait (and the optional stages)",
        "a TOML spec file (see examples/*.toml)",
    ),
    "continue": (
        "follow equilibria in a parameter: bifurcation diagram, special points",
        "a TOML spec file (see examples/lorenz_continuation.toml)",
    ),
    "basins": (
        "basins of attraction: a map on a grid, or probabilities with intervals",
        "a TOML spec file with a [basins] table",
    ),
    "graph": (
        "critical points joined by trajectories: barriers, disconnectivity",
        "a TOML spec file with a [region] (and a [graph] table)",
    ),
}


def _spec_reference(args: argparse.Namespace) -> int:
    """``dynsys spec --schema [COMMAND]``: print the reference of spec keys."""
    from .schema import print_reference, schema_for

    if not args.schema:
        raise SpecError("`dynsys spec` needs --schema (print the reference of spec keys).")
    print_reference(schema_for(args.for_command), sys.stdout)
    return 0


def _init(args: argparse.Namespace) -> int:
    """``dynsys init [PATH] [--kind KIND] [--force]``: write a commented starter spec."""
    from .starter import write_starter

    path = write_starter(args.path, args.kind, force=args.force)
    print(f"wrote {path}; run it with: dynsys {args.kind} {path}")
    return 0


class _VersionAction(argparse.Action):
    """``--version``: print ``dynsys <version>`` and exit, looking the version up (installed
    package metadata) only when the option is given."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS):
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=default,
            help="show program's version number and exit",
        )

    def __call__(self, parser, namespace, values, option_string=None):
        from .version import version

        print(f"dynsys {version()}")
        parser.exit()


def build_parser(prog: str = "dynsys") -> argparse.ArgumentParser:
    """The argument parser of the ``dynsys`` command.

    Building it imports no stage of the command (nor scipy, xarray or matplotlib): each command
    imports what it runs when it runs.
    """
    from .starter import KINDS

    # --progress is accepted before the command (dynsys --progress analyze ...) and after it;
    # SUPPRESS keeps a subcommand's default from overwriting the value given before it.
    progress = argparse.ArgumentParser(add_help=False)
    progress.add_argument(
        "--progress", action="store_true", default=argparse.SUPPRESS, help="show progress bars"
    )
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Dynamical-systems analysis with numerical continuation.",
        parents=[progress],
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser(
        "init", parents=[progress], help="write a commented starter spec (every key explained)"
    )
    init.add_argument(
        "path", nargs="?", default="dynsys.toml", help="the file to write (default dynsys.toml)"
    )
    init.add_argument(
        "--kind",
        choices=list(KINDS),
        default="analyze",
        help="the command the spec is for (default analyze)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)
    spec = sub.add_parser(
        "spec", parents=[progress], help="the reference of spec keys (types, defaults, docs)"
    )
    spec.add_argument("--schema", action="store_true", help="print every key a spec may hold")
    spec.add_argument(
        "for_command",
        nargs="?",
        default="analyze",
        choices=list(_COMMANDS),
        help="the command whose spec is described (default analyze)",
    )
    spec.set_defaults(run=_spec_reference)
    for name, (help_text, spec_help) in _COMMANDS.items():
        command = sub.add_parser(name, parents=[progress], help=help_text)
        command.add_argument("spec", help=spec_help)
        command.add_argument(
            "--out", help="output folder (overrides output.dir; default out/<spec name>)"
        )
        command.add_argument(
            "--no-report", action="store_true", help="do not write report.html (the run's page)"
        )
        command.add_argument(
            "--import-path",
            action="append",
            metavar="DIR",
            help="a folder to import model factories from (searched before the spec's own "
            "folder); repeatable",
        )
        if name in ("analyze", "basins"):
            command.add_argument(
                "--executor",
                metavar="WHERE",
                help="where basin chunks run: inprocess, processes, or a dask scheduler address "
                "(tcp://...); overrides basins.executor",
            )
        command.set_defaults(run=_run)
    return parser


def main(argv: list[str] | None = None, *, prog: str = "dynsys") -> int:
    """Entry point of the ``dynsys`` console script; returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    args.progress = getattr(args, "progress", False)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"dynsys {args.command}: interrupted.", file=sys.stderr)
        return 130
    except (DynsysError, OSError) as exc:  # OSError: missing file, not a folder, no permission
        text = str(exc)
        if isinstance(exc, OSError) and exc.strerror and exc.filename:
            text = f"{exc.strerror}: {exc.filename}"
        print(f"dynsys {args.command}: error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
