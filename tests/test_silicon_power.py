"""Power on SKY130 HD: OpenSTA's units against a hand calculation, and simulated activity of a tiny design.

The hand calculation (one dfxtp_1 driving four inv_1, the last one a port
with set_load) found, on Debian's OpenSTA 2019:

- report_power is in watts: an inv_1's cell_leakage_power 0.0053267 nW is
  5.3267e-12 in the report.
- activity is transitions per clock period: switching = 0.5 C V^2 a / T, C
  the larger of the fan-out pins' rise and fall capacitance, plus the
  library's default wire load ("Small", 1.42e-5 pF per unit length at the
  fan-out length), plus set_load.
- internal power is (E_rise + E_fall) x a / T, twice the tables' mean
  energy per transition, on inverters and on the flip-flop's clock (a = 2),
  data and output pins alike; ``encoder.silicon.power`` halves it.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from encoder.errors import UserError
from encoder.pdk import _cell_spans, resolve, write_plain
from encoder.silicon import activity, power, sta
from encoder.silicon.mapping import sequential_cells
from rtl_helpers import need_tool

V = 1.8
FF, INV = "sky130_fd_sc_hd__dfxtp_1", "sky130_fd_sc_hd__inv_1"
HAND = f"""module hand (clk, d, q);
  input clk;
  input d;
  output q;
  wire n0, n1, n2, n3;
  {FF} ff (.CLK(clk), .D(d), .Q(n0));
  {INV} i0 (.A(n0), .Y(n1));
  {INV} i1 (.A(n1), .Y(n2));
  {INV} i2 (.A(n2), .Y(n3));
  {INV} i3 (.A(n3), .Y(q));
endmodule
"""
NUM = re.compile(r"-?[0-9.]+(?:[eE][-+]?\d+)?")


# ---- a little Liberty reading, for the hand calculation -----------------

def _group(text: str, head: str) -> str:
    """The text of the first group opening with ``head`` (brace matched)."""
    i = text.index(head)
    j = text.index("{", i) + 1
    depth = 1
    while depth:
        c = text[j]
        depth += c == "{"
        depth -= c == "}"
        j += 1
    return text[i:j]


def _cell(lib: str, name: str) -> str:
    start, end = next((s, e) for n, s, e in _cell_spans(lib) if n == name)
    return lib[start:end]


def _attr(text: str, name: str) -> float:
    return float(re.search(rf"\b{name}\s*:\s*({NUM.pattern})", text).group(1))


def _table(group: str, kind: str):
    """(index_1, index_2 or None, values) of a rise_power/fall_power table."""
    t = _group(group, f"{kind} (")
    idx = [np.array([float(x) for x in NUM.findall(m)]) for m in re.findall(r'index_\d\s*\(\s*"([^"]*)"', t)]
    vals = np.array([float(x) for x in NUM.findall(" ".join(re.findall(r'"([^"]*)"', t[t.index("values"):])))])
    return idx[0], idx[1] if len(idx) > 1 else None, vals.reshape(len(idx[0]), -1)


def _lookup(table, slew: float, load: float = 0.0) -> float:
    """Bilinear interpolation, extrapolating linearly past the axes (as OpenSTA does)."""
    i1, i2, v = table

    def axis(ix, x):
        k = int(np.clip(np.searchsorted(ix, x) - 1, 0, len(ix) - 2))
        return k, (x - ix[k]) / (ix[k + 1] - ix[k])
    a, fa = axis(i1, slew)
    if i2 is None:
        return float((1 - fa) * v[a, 0] + fa * v[a + 1, 0])
    b, fb = axis(i2, load)
    return float((1 - fa) * (1 - fb) * v[a, b] + fa * (1 - fb) * v[a + 1, b]
                 + (1 - fa) * fb * v[a, b + 1] + fa * fb * v[a + 1, b + 1])


def _energy(pin_group: str, slew_rise: float, slew_fall: float, load: float = 0.0, inverting=False) -> float:
    """Mean energy (pJ) of one transition of a pin: (E_rise + E_fall) / 2.

    An output's table is indexed by its input's slew: the opposite edge on an inverting arc."""
    ip = _group(pin_group, "internal_power ()")
    rise = _lookup(_table(ip, "rise_power"), slew_fall if inverting else slew_rise, load)
    fall = _lookup(_table(ip, "fall_power"), slew_rise if inverting else slew_fall, load)
    return (rise + fall) / 2


def _slews(report: str) -> dict[tuple[str, str], float]:
    """(pin, "^" or "v") -> slew (ns) from report_checks -fields {slew}."""
    out = {}
    for m in re.finditer(r"^\s*([\d.]+)\s+[-\d.]+\s+[-\d.]+\s+([v^])\s+(\S+)\s+\(", report, re.M):
        out[(m.group(3), m.group(2))] = float(m.group(1))
    return out


def test_opensta_units_match_a_hand_calculation(tmp_path):
    need_tool("sta")
    lib = resolve("sky130hd")
    liberty = write_plain(lib, tmp_path / "library.lib")
    netlist = tmp_path / "hand.v"
    netlist.write_text(HAND)
    text = liberty.read_text()
    ff, inv = _cell(text, FF), _cell(text, INV)
    period, a, load = 10.0, 0.2, 0.01
    c = sta.Constraints(clock_ns=period, load_pf=load)
    got = power.power((liberty, netlist, "hand"), c, None, tmp_path / "sta", vectorless=(a, 0.5))
    assert got.activity == "vectorless" and "0.2 transitions per clock" in got.activity_note

    # Leakage: the cells' cell_leakage_power (nW).
    leak_mw = (_attr(ff, "cell_leakage_power") + 4 * _attr(inv, "cell_leakage_power")) * 1e-6
    assert got.leakage_mw == pytest.approx(leak_mw, rel=1e-4)

    # Switching: 0.5 C V^2 per transition, a transitions per period, on n0..n3 and on q.
    pin_a = _group(inv, 'pin ("A")')
    small = _group(text, 'wire_load("Small")')
    wire_1 = _attr(small, "capacitance") * float(re.search(r"fanout_length\(\s*1\s*,\s*([\d.]+)", small).group(1))
    c_inv = max(_attr(pin_a, "rise_capacitance"), _attr(pin_a, "fall_capacitance")) + wire_1   # pF
    rate = a / (period * 1e-9)                                                                # transitions/s
    switching_w = 0.5 * (4 * c_inv + load) * 1e-12 * V ** 2 * rate
    assert got.switching_mw == pytest.approx(switching_w * 1e3, rel=0.01)

    # Internal: the tables at OpenSTA's slews and loads; the ideal clock and the undriven d have slew 0.
    tcl = sta.load_design(liberty, netlist, "hand", c) + "set_output_delay 0 -clock clk [get_ports q]\n"
    checks = "".join(f"report_checks -{edge}_to [get_ports q] -fields {{slew input_pins}} -digits 5\n"
                     for edge in ("rise", "fall"))
    rep = sta.run(tcl + checks, tmp_path / "sta", "slews")
    slew = _slews(rep)
    y = _group(inv, 'pin ("Y")')
    e_inv = sum(_energy(y, slew[(f"{i}/A", "^")], slew[(f"{i}/A", "v")], load if i == "i3" else c_inv,
                        inverting=True) for i in ("i0", "i1", "i2", "i3"))
    e_ff_data = (_energy(_group(ff, 'pin ("D")'), 0.0, 0.0)
                 + _energy(_group(ff, 'pin ("Q")'), 0.0, 0.0, c_inv))
    e_clock = _energy(_group(ff, 'pin ("CLK")'), 0.0, 0.0)
    internal_w = (e_inv + e_ff_data) * 1e-12 * rate + e_clock * 1e-12 * 2 / (period * 1e-9)
    assert got.sta_internal_mw == pytest.approx(2 * internal_w * 1e3, rel=0.03)     # OpenSTA 2019's double count
    assert got.internal_mw == pytest.approx(internal_w * 1e3, rel=0.03)
    assert got.total_mw == pytest.approx(got.internal_mw + got.switching_mw + got.leakage_mw, rel=1e-9)
    assert got.energy_nj == pytest.approx(got.total_mw * 1e-3 * period, rel=1e-12)


def test_power_refuses_a_missing_netlist(tmp_path):
    lib = resolve("sky130hd")
    with pytest.raises(UserError, match="no such netlist"):
        power.power((lib.liberty, tmp_path / "netlist.v", "top"), sta.Constraints(), None, tmp_path)
    with pytest.raises(UserError, match="no such netlist"):
        activity.flip_flops(tmp_path / "netlist.v", "top", set())


def test_vcd_toggles_and_duty_per_bit(tmp_path):
    vcd = tmp_path / "a.vcd"
    vcd.write_text("$timescale 1ps $end\n$scope module tb $end\n$scope module dut $end\n"
                   "$var wire 1 ! clk $end\n$var reg 2 # x [1:0] $end\n$scope module u $end\n"
                   "$var reg 1 % f $end\n$upscope $end\n$upscope $end\n$upscope $end\n$enddefinitions $end\n"
                   "#100\n$dumpvars\n0!\nb00 #\n1%\n$end\n#105\n1!\n#110\nb1 #\n#120\nb11 #\n"
                   "#130\nb10 #\n#140\nb0 #\n")
    t = activity.read_vcd(vcd, scope=("tb", "dut"), cycles=4, period=10, skip={"clk"})
    assert t.activity(((), "x", 0)) == (2 / 4, 20 / 40)      # up at 110, down at 130
    assert t.activity(((), "x", 1)) == (1 / 4, 20 / 40)      # up at 120; 140 is past the window
    assert t.activity((("u",), "f", 0)) == (0.0, 1.0)
    assert t.activity(((), "clk", 0)) is None


# ---- simulated activity of a mapped tiny design ------------------------

@pytest.fixture(scope="module", params=["programmable", "constant"])
def tiny(request, tmp_path_factory):
    for tool in ("yosys", "sta", "iverilog"):
        need_tool(tool)
    from encoder.ir.synthetic import synthetic_ir
    from encoder.rtl_gen import generate, write_design
    from encoder.silicon.mapping import map_design
    work = tmp_path_factory.mktemp(f"power_{request.param}")
    lib = resolve("sky130hd")
    write_design(generate(synthetic_ir("tiny_conv", "econt", seed=3), request.param, 0), work / "design")
    t0 = time.monotonic()
    mapped = map_design(work / "design", lib, work / "map", clock_ns=25.0, progress=False)
    t1 = time.monotonic()
    act = activity.simulated(work / "design", mapped, vectors=120, seed=5, work=work / "sim")
    print(f"{request.param}: map {t1 - t0:.1f} s, activity {time.monotonic() - t1:.1f} s")
    c = sta.Constraints(clock_ns=25.0, driving_cell=lib.driver[0], driving_pin=lib.driver[1], load_pf=0.01)
    return request.param, work, mapped, act, c


def test_simulated_activity_is_plausible(tiny):
    mode, work, mapped, act, c = tiny
    assert act.source == "simulated" and act.vectors == 120 and act.cycles == 120
    assert act.golden_matches >= 120 - 4                      # the bench computed what the golden model does
    assert act.unmatched == 0 and len(act.pins) == mapped.flip_flops
    # Configuration flip-flops sit in the u_cfg_* blocks (or, flattened, drive u_cfg_*.bank nets).
    seq = sequential_cells(mapped.liberty.read_text())
    net = {pin: n for pin, _, n, _ in activity.flip_flops(mapped.netlist, mapped.top, seq)}
    is_cfg = {p: p.startswith("u_cfg_") or net[p].startswith("u_cfg_") for p in act.pins}
    cfg = {p: v for p, v in act.pins.items() if is_cfg[p]}
    data = {p: v for p, v in act.pins.items() if not is_cfg[p]}
    assert bool(cfg) == (mode == "programmable")
    assert all(a == 0.0 for a, _ in cfg.values())            # weights hold still during inference
    assert all(0.0 <= a <= 1.0 and 0.0 <= d <= 1.0 for a, d in act.pins.values())
    assert 0.05 < np.mean([a for a, _ in data.values()]) < 0.6
    assert act.ports["charges[0]"][0] > 0.05 and act.ports["valid_in"] == (0.0, 1.0)
    tcl = act.to_tcl()
    assert "set_power_activity -global" in tcl and "# set_power_activity -pins [get_pins {" in tcl

    sim = power.power(mapped, c, act, work / "sta", name="simulated")
    half = power.power(mapped, c, None, work / "sta", vectorless=(0.5, 0.5), name="vectorless")
    assert sim.activity == "simulated" and half.activity == "vectorless"
    assert 0 < sim.total_mw < half.total_mw
    assert sim.leakage_mw > 0 and sim.leakage_mw == pytest.approx(half.leakage_mw)
    assert sim.energy_nj == pytest.approx(sim.total_mw * 1e-3 * 25.0, rel=1e-12)   # mW x ns = pJ
    print(f"{mode}: {sim.describe()}\n  vectorless 0.5: {half.describe()}")


def test_activity_refuses_no_modules_and_missing_data(tmp_path):
    from encoder.ir.synthetic import synthetic_ir
    ir = synthetic_ir("tiny_conv", "econt", seed=3)
    with pytest.raises(UserError, match="at least one module"):
        activity.stimulus(ir, 0, 1, None)
    with pytest.raises(UserError, match="none.npz"):
        activity.stimulus(ir, 10, 1, tmp_path / "none.npz")
