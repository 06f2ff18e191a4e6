"""`continuation.param2`: fold and Hopf curves of the diagram's special points in a second
parameter, through the command line, against closed forms (the Brusselator's Hopf curve
b = 1 + a^2 with omega = a; the Bogdanov-Takens normal form's fold curve b1 = b2^2 / 4, Hopf curve
b1 = 0 and BT point at the origin), and the spec errors that name the key."""

import textwrap

import numpy as np
import pytest

from dynsys.io import load_tree

BRUSSELATOR = """
[model]
name = "brusselator"
params = { a = 1.0, b = 1.5 }

[start]
x = [1.0, 1.5]

[continuation]
param = "b"
p_min = 0.5
p_max = 4.0
ds_max = 0.1
param2 = "a"
param2_min = 0.5
param2_max = 3.0
"""

BOGDANOV_TAKENS = """
[model]
name = "bogdanov_takens_normal_form"
params = { b1 = -0.5, b2 = -0.5 }

[start]
x = [-0.5, 0.0]

[continuation]
param = "b1"
p_min = -1.0
p_max = 1.0
ds_max = 0.1
depth = 0
param2 = "b2"
param2_min = -1.0
param2_max = 1.0
"""


def test_brusselator_hopf_curve_is_b_equals_one_plus_a_squared(run_continue):
    code, text, err, out = run_continue(BRUSSELATOR)
    assert code == 0, err
    assert "branch0_hopf0" in text
    assert (out / "curves.png").stat().st_size > 0
    curves = load_tree(out / "curves.nc")
    assert list(curves.children) == ["branch0_hopf0"]
    hopf = curves["branch0_hopf0"].to_dataset()
    a, b = hopf["param2"].values, hopf["param"].values
    assert a.min() == pytest.approx(0.5, abs=1e-9)  # the curve runs to the bound of param2
    np.testing.assert_allclose(b, 1 + a**2, atol=1e-10)
    np.testing.assert_allclose(hopf["omega"].values, a, atol=1e-10)


def test_bogdanov_takens_point_from_both_curves(run_continue):
    code, text, err, out = run_continue(BOGDANOV_TAKENS)
    assert code == 0, err
    assert "BT (Bogdanov-Takens)" in text
    curves = load_tree(out / "curves.nc")
    kinds = {name: name.split("_")[1][:4] for name in curves.children}
    assert set(kinds.values()) == {"fold", "hopf"}
    for name, node in curves.children.items():
        ds = node.to_dataset()
        b1, b2 = ds["param"].values, ds["param2"].values
        if kinds[name] == "fold":
            np.testing.assert_allclose(b1, b2**2 / 4, atol=1e-9)
        else:
            hopf = ~ds["neutral_saddle"].values
            np.testing.assert_allclose(b1, 0.0, atol=1e-9)
            assert np.all(b2[hopf] < 1e-8)
        bt = ds["special_type"].values == "BT"
        assert bt.sum() == 1
        np.testing.assert_allclose(ds["special_param"].values[bt], 0.0, atol=1e-8)
        np.testing.assert_allclose(ds["special_param2"].values[bt], 0.0, atol=1e-8)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('param2 = "c"', "`continuation.param2` 'c' is not a parameter"),
        ('param2 = "b"', "must differ from `continuation.param`"),
        ('param2 = "a"\nparam2_min = 2.0\nparam2_max = 1.0', "must be below"),
        ('param2 = "a"\nparam2_min = 2.0', "lies outside"),
    ],
)
def test_param2_errors_name_the_key(run_continue, extra, message):
    text = textwrap.dedent(BRUSSELATOR).split("param2 =")[0] + extra + "\n"
    code, _, err, _ = run_continue(text)
    assert code == 2
    assert message in err
