"""Results that display themselves in a notebook: the HTML tables of a fixed-point result, a
basin result and a graph summary, parsed back and checked row by row."""

from html.parser import HTMLParser

import networkx as nx
import numpy as np
import pytest

from dynsys import (
    BasinOptions,
    FlowOptions,
    InputTypeError,
    basin_probabilities,
    basin_probability_sweep,
    critical_point_graph,
    find_fixed_points,
)
from dynsys.basins import UniformBox
from dynsys.display import Summary, html_table, summary
from dynsys.graph import graph_summary
from dynsys.models import double_well


class Tables(HTMLParser):
    """The tables of an HTML text: caption, header and rows of cells."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th"):
            text = "".join(self._cell)
            table = self.tables[-1]
            if tag == "th":
                table["header"].append(text)
                if table["rows"] and not table["rows"][-1]:
                    table["rows"].pop()  # the header row is not a data row
            else:
                table["rows"][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def points():
    return find_fixed_points(double_well(), [[-0.9, 0.1], [0.1, 0.0], [1.2, -0.1]])


def test_fixed_point_table(points):
    [table] = Tables(summary(points)._repr_html_()).tables
    assert table["caption"] == "3 fixed points of double_well; x = (x, y)"
    assert table["header"] == ["point", "x", "kind", "index", "energy", "residual", "status"]
    assert len(table["rows"]) == 3
    by_kind = sorted(table["rows"], key=lambda row: float(row[4]))
    assert [row[2] for row in by_kind] == ["minimum", "minimum", "saddle-1"]
    assert [row[3] for row in by_kind] == ["0", "0", "1"]
    assert float(by_kind[2][4]) == pytest.approx(0.25)
    assert all(row[6] == "converged" for row in table["rows"])
    xs = sorted(float(row[1].strip("()").split(",")[0]) for row in table["rows"])
    np.testing.assert_allclose(xs, [-1.0, 0.0, 1.0], atol=1e-12)


def test_text_form_has_the_same_rows(points):
    text = str(summary(points)).splitlines()
    assert text[0] == "3 fixed points of double_well; x = (x, y)"
    assert text[1].split() == ["point", "x", "kind", "index", "energy", "residual", "status"]
    assert sorted(line.split()[3] for line in text[2:]) == ["minimum", "minimum", "saddle-1"]


OPTIONS = BasinOptions(flow=FlowOptions(t_max=50.0))


def test_basin_table():
    result = basin_probabilities(
        double_well(),
        UniformBox(low=[-2.0, -1.0], high=[2.0, 1.0]),
        200,
        seed=1,
        options=OPTIONS,
    )
    [table] = Tables(summary(result)._repr_html_()).tables
    assert table["caption"] == "basin fractions of double_well with 95% Wilson intervals"
    assert table["header"][:3] == ["attractor", "kind", "x"]
    assert table["header"][-3:] == ["orbits", "fraction", "interval"]
    rows = table["rows"]
    assert len(rows) == result.sizes["attractor"]
    for i, row in enumerate(rows):
        assert int(row[0]) == int(result["attractor"].values[i])
        assert int(row[-3]) == int(result["n_orbits"].values[i])
        assert float(row[-2]) == pytest.approx(float(result["fraction"].values[i]), rel=1e-5)
        low, high = (float(v) for v in row[-1].strip("[]").split(","))
        assert low <= float(row[-2]) <= high
    assert sum(int(row[-3]) for row in rows) == 200
    assert sorted(row[1] for row in rows[:2]) == ["minimum", "minimum"]


def test_sweep_table_has_a_column_per_value():
    result = basin_probability_sweep(
        double_well(),
        "high",
        [1.0, 2.0],
        UniformBox(low=-2.0, high=1.0),
        60,
        seed=2,
        options=OPTIONS,
    )
    [table] = Tables(summary(result)._repr_html_()).tables
    dim = next(d for d in result["fraction"].dims if d != "attractor")
    assert table["header"][-2:] == [f"{dim} = 1", f"{dim} = 2"]
    for i, row in enumerate(table["rows"]):
        expected = result["fraction"].isel(attractor=i).transpose(dim).values
        np.testing.assert_allclose([float(v) for v in row[-2:]], expected, rtol=1e-5)


def test_sweep_layout_columns():
    import xarray as xr

    ds = xr.Dataset(
        {
            "fraction": (("value", "attractor"), [[1.0, 0.0], [0.25, 0.75]]),
            "attractor_kind": ("attractor", ["minimum", "minimum"]),
        },
        coords={"attractor": [0, 1], "value": [0.5, 2.0]},
        attrs={"system": "demo"},
    )
    [table] = Tables(summary(ds)._repr_html_()).tables
    assert table["header"] == ["attractor", "kind", "value = 0.5", "value = 2"]
    assert table["rows"] == [["0", "minimum", "1", "0.25"], ["1", "minimum", "0", "0.75"]]


def test_graph_summary_displays_itself():
    G = critical_point_graph(
        double_well(), find_fixed_points(double_well(), [[-0.9, 0.1], [0.1, 0.0], [1.2, 0.0]])
    )
    text = graph_summary(G)
    assert isinstance(text, str) and text.startswith("critical-point graph")  # the API as before
    nodes, edges = Tables(text._repr_html_()).tables
    assert nodes["caption"] == text.splitlines()[0]
    assert nodes["header"] == ["node", "kind", "index", "energy", "x"]
    kinds = sorted(row[1] for row in nodes["rows"])
    assert kinds == ["minimum", "minimum", "saddle-1"]
    assert edges["header"] == ["from", "to", "status", "energy drop"]
    assert len(edges["rows"]) == 2
    saddle = next(row[0] for row in nodes["rows"] if row[1] == "saddle-1")
    for row in edges["rows"]:
        assert row[0] == saddle and row[2] == "converged"
        assert float(row[3]) == pytest.approx(0.25, abs=1e-8)


def test_html_escapes_text():
    text = html_table(["a<b"], [["<script>"]], caption="x & y")
    assert "<script>" not in text and "&lt;script&gt;" in text and "x &amp; y" in text
    [table] = Tables(text).tables
    assert table["rows"] == [["<script>"]]


def test_summary_names_what_it_takes(points):
    with pytest.raises(InputTypeError, match="graph_summary"):
        summary(nx.DiGraph())
    with pytest.raises(InputTypeError, match="dims"):
        summary(points.rename({"point": "item"}))
    assert isinstance(summary(points), Summary)
