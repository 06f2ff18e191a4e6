"""`dynsys graph` and the graph stage of `dynsys analyze`, end to end. Mueller-Brown: three minima,
two saddles (located here independently by scipy from the literature's positions), each saddle
joined to the two minima of the literature, barriers equal to potential differences; the damped
Duffing oscillator (no energy): the saddle's unstable manifold ends in the two sinks with its
Lyapunov function decreasing; Lorenz at r = 28 (no sinks): every trajectory unresolved. Spec
errors name the key."""

import textwrap
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import root

from dynsys.cli import main
from dynsys.graph import from_dataset, lowest_barrier, minima, saddles
from dynsys.io import load
from dynsys.models import mueller_brown

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"

# Mueller and Brown (1979): minima A, B, C and the saddles between C and A, and between C and B
LITERATURE = {
    "A": (-0.558, 1.442),
    "B": (0.623, 0.028),
    "C": (-0.050, 0.467),
    "s_AC": (-0.822, 0.624),
    "s_BC": (0.212, 0.293),
}
ENERGY = {"A": -146.70, "B": -108.17, "C": -80.77, "s_AC": -40.66, "s_BC": -72.25}

DUFFING = """
[model]
name = "duffing"
params = { delta = 0.25, alpha = -1.0, beta = 1.0 }

[region]
lower = [-2.0, -1.0]
upper = [2.0, 1.0]

[fixed_points]
seeds = 40
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def exact_points():
    """The critical points of Mueller-Brown, by scipy's root finder on the gradient."""
    system = mueller_brown()
    out = {}
    for name, guess in LITERATURE.items():
        sol = root(system.f, guess, tol=1e-13)  # grad V = 0, finite-difference Jacobian
        assert np.linalg.norm(system.f(sol.x)) < 1e-9
        out[name] = sol.x
    return out


@pytest.fixture(scope="module")
def mueller_brown_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mb")
    code = main(["graph", str(EXAMPLES / "mueller_brown.toml"), "--out", str(out)])
    return code, out


def test_mueller_brown_graph_joins_the_literature_points(mueller_brown_run, exact_points):
    code, out = mueller_brown_run
    assert code == 0
    G = from_dataset(load(out / "graph.nc"))
    assert len(minima(G)) == 3 and len(saddles(G)) == 2
    assert G.number_of_nodes() == 5  # no escape or unresolved node
    V = mueller_brown().potential
    node = {}
    for name, x in exact_points.items():
        k = min(G, key=lambda n: np.linalg.norm(G.nodes[n]["x"] - x))
        np.testing.assert_allclose(G.nodes[k]["x"], x, atol=1e-8)
        assert G.nodes[k]["energy"] == pytest.approx(float(V(x)), abs=1e-9)
        assert G.nodes[k]["energy"] == pytest.approx(ENERGY[name], abs=0.01)
        node[name] = k
    assert sorted(G.successors(node["s_AC"])) == sorted([node["A"], node["C"]])
    assert sorted(G.successors(node["s_BC"])) == sorted([node["B"], node["C"]])
    for s, t in G.edges:
        drop = float(V(exact_points[_name(node, s)]) - V(exact_points[_name(node, t)]))
        assert G.edges[s, t]["energy_drop"] == pytest.approx(drop, abs=1e-9)
        assert G.edges[s, t]["status"] == 0  # converged
    # lowest barriers: the minimax chain A - s_AC - C - s_BC - B tops out at s_AC
    E = {name: float(V(x)) for name, x in exact_points.items()}
    for a, b, top in [
        ("A", "B", "s_AC"),
        ("A", "C", "s_AC"),
        ("B", "C", "s_BC"),
        ("C", "B", "s_BC"),
    ]:
        barrier = lowest_barrier(G, node[a], node[b])
        assert barrier.saddle == node[top]
        assert barrier.height == pytest.approx(E[top] - E[a], abs=1e-9)


def _name(node: dict, k) -> str:
    return next(name for name, n in node.items() if n == k)


def test_mueller_brown_files(mueller_brown_run, exact_points):
    _, out = mueller_brown_run
    H = nx.read_graphml(out / "graph.graphml")  # plain networkx reads it
    assert H.number_of_nodes() == 5 and H.number_of_edges() == 4
    assert sorted(d["kind"] for _, d in H.nodes(data=True)) == ["minimum"] * 3 + ["saddle-1"] * 2
    energies = sorted(float(d["energy"]) for _, d in H.nodes(data=True))
    V = mueller_brown().potential
    np.testing.assert_allclose(energies, sorted(float(V(x)) for x in exact_points.values()))
    for name in ("graph.png", "disconnectivity.png"):
        assert (out / name).read_bytes()[:8] == PNG


def test_mueller_brown_printout_lists_barriers_between_minima(tmp_path, capsys, exact_points):
    assert main(["graph", str(EXAMPLES / "mueller_brown.toml"), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "nodes by kind: minimum 3, saddle-1 2" in text
    assert "lowest barriers between minima (top energy at node; height from each side):" in text
    G = from_dataset(load(tmp_path / "graph.nc"))
    node = {
        name: min(G, key=lambda n: np.linalg.norm(G.nodes[n]["x"] - x))
        for name, x in exact_points.items()
    }
    V = {name: float(mueller_brown().potential(x)) for name, x in exact_points.items()}
    for a, b, top in [("A", "B", "s_AC"), ("A", "C", "s_AC"), ("B", "C", "s_BC")]:
        (a, b) = sorted((a, b), key=node.get)
        line = (
            f"  {node[a]}-{node[b]}: {V[top]:.6g} at {node[top]}; {V[top] - V[a]:.6g} from "
            f"{node[a]}, {V[top] - V[b]:.6g} from {node[b]}"
        )
        assert line in text.splitlines(), text


def test_general_system_graph_ends_in_the_sinks(tmp_path, capsys):
    # E = v^2/2 - x^2/2 + x^4/4 decreases (dE/dt = -delta v^2) and {E < 0} has one lobe on each
    # side of x = 0: each branch of the saddle's unstable manifold ends in the sink on its side
    assert main(["graph", str(write(tmp_path, DUFFING)), "--out", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    G = from_dataset(load(tmp_path / "o" / "graph.nc"))
    (s,) = saddles(G)
    np.testing.assert_allclose(G.nodes[s]["x"], [0.0, 0.0], atol=1e-12)
    ends = sorted(float(G.nodes[t]["x"][0]) for t in G.successors(s))
    np.testing.assert_allclose(ends, [-1.0, 1.0], atol=1e-8)
    assert {G.nodes[t]["kind"] for t in G.successors(s)} == {"sink focus"}
    assert all(np.isnan(G.nodes[k]["energy"]) for k in G)
    for _, _, d in G.edges(data=True):
        x, v = d["path"][:, 0], d["path"][:, 1]
        lyapunov = v**2 / 2 - x**2 / 2 + x**4 / 4
        assert np.all(np.diff(lyapunov) <= 1e-9)
    assert "sinks (no energies)" in text and "lowest barriers" not in text
    assert (tmp_path / "o" / "graph.png").read_bytes()[:8] == PNG
    assert not (tmp_path / "o" / "disconnectivity.png").exists()


def test_system_without_sinks_reports_unresolved_trajectories(tmp_path, capsys):
    # Lorenz at r = 28: all three equilibria are unstable, so no trajectory ends at a sink
    spec = write(
        tmp_path,
        """
        [model]
        name = "lorenz"

        [region]
        lower = [-30.0, -30.0, 0.0]
        upper = [30.0, 30.0, 50.0]

        [fixed_points]
        seeds = 60

        [graph]
        path_points = 20
        figure = false

        [graph.flow]
        t_max = 5.0
        max_steps = 2000
        """,
    )
    assert main(["graph", str(spec), "--out", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    G = from_dataset(load(tmp_path / "o" / "graph.nc"))
    assert minima(G) == []
    ends = {G.nodes[t]["kind"] for _, t in G.edges}
    assert ends == {"unresolved"}
    assert "ended at no critical point" in text and "raise graph.flow.t_max" in text


def test_analyze_runs_the_stage_only_when_asked(tmp_path):
    base = DUFFING + "\n[portrait]\nenabled = false\n"
    on = write(tmp_path, base + "\n[graph]\npath_points = 20\nfigure = false\n", "on.toml")
    assert main(["analyze", str(on), "--out", str(tmp_path / "on")]) == 0
    assert (tmp_path / "on" / "graph.nc").is_file()
    assert (tmp_path / "on" / "graph.graphml").is_file()
    off = write(tmp_path, base + "\n[graph]\nenabled = false\npath_points = 20\n", "off.toml")
    assert main(["analyze", str(off), "--out", str(tmp_path / "off")]) == 0
    assert not (tmp_path / "off" / "graph.nc").exists()
    assert (tmp_path / "off" / "fixed_points.nc").is_file()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("pathpoints = 3\n", "unknown key(s) ['graph.pathpoints']"),
        ("path_points = 1\n", "`graph.path_points` must be an integer >= 2"),
        ("t_max = 5.0\n", "unknown key(s) ['graph.t_max']"),  # it moved to [graph.flow]
        (
            'flow = { method = "rk4" }\n',
            (
                "`graph.flow.method` must be one of ['dopri5', 'dop853', 'rosenbrock23', "
                "'gradient_descent']"
            ),
        ),
        (
            'flow = { method = "gradient_descent", learning_rate = 0.1 }\n',
            (
                "`graph.flow` must be a FlowOptions with method in "
                "['dopri5', 'dop853', 'rosenbrock23']"
            ),
        ),
        ("flow = { t_max = -1.0 }\n", "`graph.flow.t_max` must be a positive number"),
        ("flow = { bogus = 1 }\n", "`graph.flow.bogus` is not a key here"),
        ('max_rounds = "many"\n', "`graph.max_rounds` must be a positive integer"),
        ("eps = 0.1\n", "`graph.eps` must be at most `max_offset` = 0.01"),
    ],
)
def test_bad_graph_table_names_the_key(tmp_path, capsys, table, message):
    spec = write(tmp_path, DUFFING + "\n[graph]\n" + table)
    assert main(["graph", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynsys graph: error:")
    assert message in err, err


def test_graph_needs_a_region(tmp_path, capsys):
    spec = write(tmp_path, '[model]\nname = "duffing"\n')
    assert main(["graph", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "missing required key `region.lower`" in capsys.readouterr().err
