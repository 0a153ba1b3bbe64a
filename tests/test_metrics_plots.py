"""Study figures: files are written, readable, never silently replaced."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from encoder.errors import UserError
from encoder.metrics import plots, quality


def read_png(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return img


def test_emd_histograms_and_occupancy_plot(tmp_path):
    rng = np.random.default_rng(0)
    emd = {"bc": rng.gamma(2.0, 0.5, 500), "stc4": np.append(rng.gamma(3.0, 0.5, 500), [-1.0, -0.5])}
    p = plots.emd_histograms(emd, tmp_path / "h.png")
    read_png(p)
    charges = rng.exponential(1.0, (502, 48))
    tables = {k: quality.emd_vs_occupancy(v, charges[: len(v)]) for k, v in emd.items()}
    read_png(plots.emd_vs_occupancy(tables, tmp_path / "occ.png"))


def test_event_display_draws_each_panel_and_refuses_to_overwrite(tmp_path):
    x = np.zeros(48)
    x[[3, 4, 20]] = [10.0, 2.0, 5.0]
    path = tmp_path / "event.png"
    img_lin = read_png(plots.event_display({"input": x, "stc4": x[::-1]}, path, title="module 0"))
    with pytest.raises(UserError, match="already exists"):
        plots.event_display({"input": x}, path)
    img_log = read_png(plots.event_display({"input": x}, path, log=True, overwrite=True))
    assert img_lin.shape[1] > img_log.shape[1]          # two panels are wider than one
    with pytest.raises(ValueError, match="47 charges"):
        plots.event_display({"bad": np.ones(47)}, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_pareto_front_by_hand(tmp_path):
    pts = [("a", 100, 2.0), ("b", 150, 1.0), ("c", 160, 1.5), ("d", 90, 3.0), ("e", 100, 2.5)]
    assert plots.pareto_front([(x, y) for _, x, y in pts]).tolist() == [0, 1, 3]
    read_png(plots.pareto(pts, tmp_path / "pareto.png"))
