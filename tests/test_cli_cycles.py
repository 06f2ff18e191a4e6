"""`[cycles] from_hopf = true`: the command line follows the cycles born at the diagram's Hopf
points, against the Stuart-Landau closed form (the cycle of ``z' = (mu + i omega) z - |z|^2 z``
has radius ``sqrt(mu)``, so ``x`` spans ``2 sqrt(mu)``, and period ``2 pi / omega``), and the spec
errors that name the key and the fix."""

import numpy as np
import pytest

from dynsys.io import load_tree

STUART_LANDAU = """
[model]
name = "stuart_landau"
params = { mu = -0.5, omega = 2.0 }

[start]
x = [0.0, 0.0]

[continuation]
param = "mu"
p_min = -1.0
p_max = 1.0
ds_max = 0.1
depth = 0

[cycles]
from_hopf = true
ds_max = 0.2
"""


def test_stuart_landau_cycles_match_the_closed_form(run_continue):
    code, out, err, folder = run_continue(STUART_LANDAU)
    assert code == 0, err
    assert "cycles from the Hopf points (1 branch(es))" in out
    assert (folder / "cycles.png").stat().st_size > 10_000
    tree = load_tree(folder / "cycles.nc")
    (name,) = tree.children
    branch = tree[name].to_dataset()
    mu = branch["param"].values
    assert mu.min() < 0.01 and mu.max() == pytest.approx(1.0)
    np.testing.assert_allclose(branch["amplitude"].values, 2 * np.sqrt(mu), rtol=1e-6)
    np.testing.assert_allclose(branch["period"].values, np.pi, rtol=1e-8)
    # the cycle itself: every collocation point on the circle of radius sqrt(mu)
    radius = np.linalg.norm(branch["x"].values, axis=-1)
    np.testing.assert_allclose(radius, np.sqrt(mu)[:, None] * np.ones_like(radius), rtol=1e-6)
    assert branch["stable"].values.all()  # the supercritical cycle attracts (l1 < 0)
    assert branch.attrs["hopf_param"] == pytest.approx(0.0, abs=1e-10)
    assert branch.attrs["hopf_omega"] == pytest.approx(2.0, rel=1e-10)


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (
            lambda s: s.split("[continuation]")[0] + "[cycles]\nfrom_hopf = true\n",
            "continuation.param",
        ),
        (lambda s: s.replace("depth = 0", 'depth = 0\ndetect = ["LP"]'), '"H"'),
        (lambda s: s.replace("ds_max = 0.2", "ds_max = 0.2\nds = 0.5"), "cycles.ds"),
    ],
)
def test_cycle_spec_errors_name_the_key(run_continue, edit, names):
    code, _out, err, _ = run_continue(edit(STUART_LANDAU))
    assert code != 0
    assert names in err, err
