"""The direction of imports (DESIGN.md section 2): a kernel at the top of ``dynsys/``, families
of algorithms as packages above it, models above both, the command line above everything, and
``phase`` outside, importing dynsys but never imported by it. No import cycles; nobody outside a
family imports the family's private modules; examples use only the public API."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import dynsys

ROOT = Path(dynsys.__file__).parent
REPO = ROOT.parent
FAMILIES = (
    "integrate",
    "fixedpoints",
    "symmetry",
    "continuation",
    "basins",
    "graph",
    "attractors",
    "cycles",
    "spectra",
    "saddles",
)


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (lazy imports in functions included); for
    ``from package import name`` the submodule ``package.name`` when it is one."""
    tree = ast.parse(path.read_text())
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.add(target)
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if (REPO / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    REPO / Path(*candidate.split(".")) / "__init__.py"
                ).exists():
                    out.add(candidate)
    return out


def graph(*folders: str) -> nx.DiGraph:
    G = nx.DiGraph()
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            name = module_name(path)
            G.add_node(name)
            for target in imports_of(path):
                if target.split(".")[0] in ("dynsys", "phase") and target != name:
                    G.add_edge(name, target)
    return G


def layer(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "phase":
        return "phase"
    if len(parts) == 1:
        return "root"  # dynsys/__init__.py: the public API on one screen
    if parts[1] == "__main__":
        return "cli"  # python -m dynsys: the command line
    if parts[1] in ("cli", "models"):
        return parts[1]
    if parts[1] in FAMILIES:
        return "family"
    return "kernel"


def private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split(".")[1:])


DYNSYS = graph("dynsys")
EVERYTHING = graph("dynsys", "phase")


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(EVERYTHING))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_every_family_is_a_package():
    for family in FAMILIES:
        assert (ROOT / family / "__init__.py").is_file(), family
    assert (ROOT / "models" / "relu" / "__init__.py").is_file()


@pytest.mark.parametrize("source", sorted(n for n in DYNSYS if layer(n) == "kernel"))
def test_kernel_imports_only_the_kernel(source):
    for target in DYNSYS.successors(source):
        assert layer(target) == "kernel", f"{source} imports {target}"


@pytest.mark.parametrize("source", sorted(n for n in DYNSYS if layer(n) in ("family", "models")))
def test_families_and_models_use_only_the_public_face_of_other_families(source):
    own = ".".join(source.split(".")[:2]) if layer(source) == "family" else "dynsys.models"
    for target in DYNSYS.successors(source):
        assert layer(target) in ("kernel", "family", "models"), f"{source} imports {target}"
        if layer(source) == "family":
            assert layer(target) != "models", f"{source} imports {target}"
        if layer(target) == "family" and not target.startswith(own):
            assert not private(target), f"{source} imports the private {target}"


@pytest.mark.parametrize("source", sorted(n for n in EVERYTHING if layer(n) in ("cli", "phase")))
def test_cli_and_phase_use_only_public_modules(source):
    own = "dynsys.cli" if layer(source) == "cli" else "phase"
    for target in EVERYTHING.successors(source):
        if not target.startswith(own):
            assert not private(target), f"{source} imports the private {target}"
        if layer(source) == "phase":
            assert layer(target) != "cli", f"{source} imports {target}"


def test_nothing_in_dynsys_imports_phase_or_matplotlib():
    for path in ROOT.rglob("*.py"):
        if module_name(path).startswith("dynsys.cli"):
            continue  # the command line draws its pictures with phase
        for name in imports_of(path):
            assert not name.startswith(("phase", "matplotlib")), f"{path} imports {name}"


def test_examples_import_no_private_module():
    for path in sorted((REPO / "examples").glob("*.py")):
        for name in imports_of(path):
            if name.split(".")[0] in ("dynsys", "phase"):
                assert not private(name), f"{path.name} imports the private module {name}"


def test_import_dynsys_does_not_load_matplotlib():
    modules = [m.name for m in pkgutil.walk_packages(dynsys.__path__, "dynsys.")]
    modules = [m for m in modules if not m.startswith("dynsys.cli")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was loaded'\n"
        "assert 'phase' not in sys.modules, 'phase was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
