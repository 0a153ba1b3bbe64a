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


def _capture(monkeypatch):
    """The figure a plot function would save, for inspection."""
    seen = {}

    def keep(fig, path, overwrite):
        seen["fig"] = fig
        return path
    monkeypatch.setattr(plots, "_save", keep)
    return seen


def test_binned_tables_carry_the_standard_error_of_each_mean():
    t = quality.binned([1.0, 3.0, 5.0, 10.0], [0.5, 0.6, 0.7, 1.5], [0, 1, 2])
    assert t["mean"].tolist() == [3.0, 10.0]
    assert t["sem"][0] == pytest.approx(2.0 / np.sqrt(3))        # std 2 (ddof 1) over sqrt(3)
    assert np.isnan(t["sem"][1])                                 # one module: no spread to quote


def test_binned_plots_have_error_bars_readable_names_the_legend_outside_and_log_energy(monkeypatch):
    seen = _capture(monkeypatch)
    rng = np.random.default_rng(1)
    energy = rng.lognormal(2.0, 1.2, 3000)
    emd = {"ae_golden": rng.gamma(2, 0.4, 3000), "ae_qkeras": rng.gamma(2, 0.4, 3000), "stc4": rng.gamma(3, 0.4, 3000)}
    emd["ae_qkeras"] = emd["ae_golden"].copy()             # the usual case: golden equals QKeras exactly
    tables = {k: quality.emd_vs_energy(v, energy) for k, v in emd.items()}
    names = {"ae_golden": "autoencoder (golden)", "ae_qkeras": "autoencoder (QKeras)", "stc4": "STC4"}
    plots.emd_vs_occupancy(tables, "e.png", labels=names, xlabel="signal [MIP]")
    ax = seen["fig"].axes[0]
    assert ax.get_xscale() == "log"
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["autoencoder (QKeras)", "STC4", "autoencoder (golden)"]
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1      # right of the axes
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 3
    golden, qkeras = bars[2], bars[0]
    # same values, drawn apart: the golden series is nudged sideways and on top
    gx, qx = golden.lines[0].get_xdata(), qkeras.lines[0].get_xdata()
    assert np.all(gx != qx) and golden.lines[0].get_zorder() > qkeras.lines[0].get_zorder()
    occ = {k: quality.emd_vs_occupancy(v, rng.exponential(1.0, (3000, 48))) for k, v in emd.items()}
    plots.emd_vs_occupancy(occ, "o.png", labels=names, log_x=False)
    assert seen["fig"].axes[0].get_xscale() == "linear"


def test_event_display_tells_zero_from_not_sent():
    x = np.zeros(48)
    x[:3] = [5.0, 2.0, 1.0]

    def grey_pixels(**kw):
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as d:
            img = read_png(plots.event_display({"best choice": x}, Path(d) / "e.png", **kw))
        rgb = img[..., :3]
        return int((np.abs(rgb - plots.ZERO_COLOUR_RGB).max(axis=2) < 0.02).sum())

    only_zero = grey_pixels()
    assert only_zero > 2000                                     # 45 zero cells drawn light grey, not white
    sent = np.zeros(48, dtype=bool)
    sent[:3] = True
    assert grey_pixels(sent={"best choice": sent}) < only_zero / 10    # not sent: white and hatched instead
