"""Pictures of spectral densities: the line is the density, the bars the histogram, the
threshold lines sit at the thresholds and their notes carry the estimated counts."""

import matplotlib.pyplot as plt  # the Agg backend is chosen in conftest.py
import numpy as np
import pytest

from dynsys.errors import InputError
from dynsys.spectra import extreme_eigenvalues, spectral_density
from phase import draw_spectral_density


@pytest.fixture(scope="module")
def skewed():
    # 90 eigenvalues near zero and 10 large ones: the shape of a network Hessian
    lam = np.r_[np.linspace(0.01, 0.1, 90), np.linspace(5.0, 9.0, 10)]
    return spectral_density(np.diag(lam), n_vectors=4, lanczos_steps=40, thresholds=[1.0])


def test_density_line_threshold_and_count(skewed):
    fig, ax = plt.subplots()
    drawn = draw_spectral_density(skewed, ax=ax)
    x, y = drawn["artist"].get_data()
    np.testing.assert_array_equal(x, skewed["grid"].values)
    assert ax.get_yscale() == "log"
    assert np.all(y > 0)
    (line,) = drawn["thresholds"]
    assert line.get_xdata()[0] == 1.0
    (note,) = drawn["annotations"]
    assert note.get_text().startswith("90.0 ± 0.0 below 1")  # diagonal: Rademacher is exact
    assert "90.0%" in note.get_text()
    plt.close(fig)


def test_histogram_bars_carry_the_counts(skewed):
    fig, ax = plt.subplots()
    drawn = draw_spectral_density(skewed, ax=ax, style="histogram", thresholds=[0.05, 4.0])
    heights = np.array([b.get_height() for b in drawn["artist"]])
    assert np.nansum(heights) == pytest.approx(100.0)
    assert [ln.get_xdata()[0] for ln in drawn["thresholds"]] == [0.05, 4.0]
    assert drawn["annotations"][1].get_text().startswith("90.0")
    plt.close(fig)


def test_bad_inputs():
    with pytest.raises(InputError, match="spectral_density"):
        draw_spectral_density(extreme_eigenvalues(np.eye(4), k=1))
    ds = spectral_density(np.eye(3), n_vectors=2, lanczos_steps=2)
    with pytest.raises(InputError, match="style"):
        draw_spectral_density(ds, style="violin")
