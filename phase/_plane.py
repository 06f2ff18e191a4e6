"""The plane of two state variables a picture shows, and axis labels that say so."""

from __future__ import annotations

from dynsys.errors import InputError

__all__ = ["label_plane", "plane_indices"]


def plane_indices(system_or_names, plane) -> tuple[int, int]:
    """The positions of the two state variables of ``plane`` (names or indices; default the
    first two) among the state names of a system (or a list of names).

    Examples
    --------
    >>> plane_indices(["x", "y", "z"], ("x", "z"))
    (0, 2)
    """
    names = list(getattr(system_or_names, "state_names", system_or_names))
    if plane is None:
        if len(names) < 2:
            raise InputError("a phase portrait needs at least two state variables.")
        return 0, 1
    if isinstance(plane, str) or len(plane) != 2:
        raise InputError(f"`plane` must name two state variables; got {plane!r}.")
    out = []
    for item in plane:
        if isinstance(item, str):
            if item not in names:
                raise InputError(f"`plane` names {item!r}, not a state variable of {names}.")
            out.append(names.index(item))
        else:
            k = int(item)
            if not -len(names) <= k < len(names):
                raise InputError(
                    f"`plane` index {k} is not a state index; the state has {len(names)} variables."
                )
            out.append(k % len(names))
    if out[0] == out[1]:
        raise InputError(f"`plane` must name two different state variables; got {plane!r}.")
    return out[0], out[1]


def label_plane(ax, names, i: int, j: int) -> None:
    """Label empty axes with the two state names; with more than two states, say that the
    picture is a projection onto their plane."""
    names = [str(n) for n in names]
    suffix = f" (projection onto the {names[i]}-{names[j]} plane)" if len(names) > 2 else ""
    if not ax.get_xlabel():
        ax.set_xlabel(names[i] + suffix)
    if not ax.get_ylabel():
        ax.set_ylabel(names[j])
