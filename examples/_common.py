"""The shared tail of the example scripts: figures, saved results and the command line.

Every example computes a result, saves it as netCDF (:func:`dynsys.io.save`), draws a PNG, reports
the files it wrote and offers ``python examples/NAME.py [--out DIR] [--quick]``. This module holds
those steps once:

- :func:`new_figure`: a matplotlib ``Figure`` on the Agg canvas (no pyplot state, no display);
- :func:`write_figure`: write a figure as PNG atomically (:func:`dynsys.io.atomic_write_path`);
- :func:`save_outputs`: create the output folder, save the datasets and figures, print one
  ``wrote ...`` line per file and return ``{key: path}`` (what ``main`` returns);
- :func:`run_cli`: parse ``--out`` and ``--quick`` and call ``main(out, quick=...)``.

The scripts import it as ``from _common import ...``. Running ``python examples/NAME.py`` puts
``examples/`` on ``sys.path``; code that loads a script by its file path (the tests) must put it
there first.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys.io import atomic_write_path, save

__all__ = ["new_figure", "run_cli", "save_outputs", "write_figure"]


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """Return an empty Figure with constrained layout, attached to the Agg canvas.

    Parameters
    ----------
    figsize : tuple of float
        Width and height in inches.
    **kwargs
        More keyword arguments of :class:`matplotlib.figure.Figure` (``layout`` may override
        ``"constrained"``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = new_figure((4, 3))
    >>> type(fig.canvas).__name__, fig.get_layout_engine() is not None
    ('FigureCanvasAgg', True)
    """
    fig = Figure(figsize=figsize, **{"layout": "constrained", **kwargs})
    FigureCanvasAgg(fig)
    return fig


def write_figure(fig: Figure, path: str | Path, *, dpi: float = 110) -> Path:
    """Write ``fig`` as a PNG file at ``path``, atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or Path
        Target file; its folder must exist. An existing file is replaced only once the new one
        is complete.
    dpi : float
        Resolution.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> fig = new_figure((2, 2))
    >>> _ = fig.subplots().plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_figure(fig, Path(tmp) / "line.png", dpi=50)
    ...     path.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"`fig` must be a matplotlib Figure; got {type(fig).__name__}.")
    path = Path(path)
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def save_outputs(
    out_dir: str | Path,
    datasets: Mapping[str, tuple[str, xr.Dataset | xr.DataTree]] | None = None,
    figures: Mapping[str, tuple[str, Figure]] | None = None,
    *,
    dpi: float = 110,
    verbose: bool = True,
) -> dict[str, Path]:
    """Save datasets and figures into ``out_dir`` (created if missing) and report them.

    Parameters
    ----------
    out_dir : str or Path
        Output folder.
    datasets : mapping, optional
        ``key -> (file name, Dataset or DataTree)``, written with :func:`dynsys.io.save`.
    figures : mapping, optional
        ``key -> (file name, Figure)``, written as PNG with :func:`write_figure`.
    dpi : float
        Resolution of the figures.
    verbose : bool
        Print ``wrote <key>: <path>`` for every file.

    Returns
    -------
    dict of Path
        ``key -> path`` for every file written (datasets first).

    Examples
    --------
    >>> import tempfile
    >>> ds = xr.Dataset({"y": ("x", [1.0, 2.0])})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_outputs(Path(tmp) / "new", {"data": ("y.nc", ds)}, verbose=False)
    ...     sorted(paths), paths["data"].name, paths["data"].is_file()
    (['data'], 'y.nc', True)
    """
    datasets = dict(datasets or {})
    figures = dict(figures or {})
    both = sorted(set(datasets) & set(figures))
    if both:
        raise ValueError(f"keys {both} name both a dataset and a figure; give each file one key.")
    if not (datasets or figures):
        raise ValueError("nothing to save: pass `datasets` and/or `figures`.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, (name, obj) in datasets.items():
        paths[key] = save(obj, out / name)
    for key, (name, fig) in figures.items():
        paths[key] = write_figure(fig, out / name, dpi=dpi)
    if verbose:
        for key, path in paths.items():
            print(f"wrote {key}: {path}")
    return paths


def run_cli(
    main: Callable[..., dict[str, Path]],
    default_out: str,
    doc: str | None,
    *,
    quick_help: str = "small sizes (seconds)",
    argv: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Parse ``--out DIR`` and ``--quick`` and run ``main(DIR, quick=...)``.

    Parameters
    ----------
    main : callable
        The script's ``main(out_dir, *, quick=False) -> dict[str, Path]``.
    default_out : str
        Output folder when ``--out`` is not given.
    doc : str or None
        The script's docstring; its first line describes the command in ``--help``.
    quick_help : str
        Help text of ``--quick``.
    argv : sequence of str, optional
        The arguments (``sys.argv[1:]`` when omitted).

    Returns
    -------
    dict of Path
        What ``main`` returned.

    Examples
    --------
    >>> def main(out_dir, *, quick=False):
    ...     return {"args": (str(out_dir), quick)}
    >>> run_cli(main, "out/demo", "Demo.", argv=["--quick"])
    {'args': ('out/demo', True)}
    """
    description = (doc or "").strip().splitlines()[0] if (doc or "").strip() else None
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    return main(args.out, quick=args.quick)
