"""--reuse R: time-multiplexed layers (encoder/rtl_gen/mac_reuse.py).

Multipliers per layer (pyverilog) against ceil(products / R) with the
products counted from the IR by tests/test_rtl_multipliers.py's own walk;
R = 1 keeps the fully parallel design's files; the one-line errors; lint and
elaboration; the new primitives on Icarus; and small cocotb runs against the
golden model at a few R (2,000-vector runs of the shipped presets:
`make sim-reuse`), with bugs planted in the guard and the phase gating.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from encoder.errors import UserError
from encoder.ir.schema import FlattenLayer
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from encoder.rtl_gen.mac_reuse import pack_layer
from encoder.rtl_gen.plan import plan_design
from rtl_helpers import ir_case, need_tool, run, simulate_primitive
from test_rtl_multipliers import _taps_by_output, counted_multipliers
from verif_helpers import plant, sim


def _products_per_layer(ir, weights: str) -> list[int]:
    """Products of each MAC layer, walked from the IR's kernels (not from the plan)."""
    known_zero = {p for p, c in enumerate(ir.input.pixel_to_cell) if c < 0}
    out, first = [], True
    for layer in ir.layers:
        if isinstance(layer, FlattenLayer):
            continue
        wflat = layer.weight.ravel()
        taps = _taps_by_output(layer, known_zero if first else set())
        out.append(sum(1 for ts in taps.values() for _, k in ts if weights == "programmable" or wflat[k] != 0))
        first = False
    return out


MULT_CASES = [("chip", "programmable", 8), ("chip", "constant", 4), ("econt_4x4x3_econt", "programmable", 3),
              ("econt_8x8_qkeras", "constant", 2)]


@pytest.mark.parametrize("label,weights,reuse", MULT_CASES, ids=[f"{a}-{b}-r{c}" for a, b, c in MULT_CASES])
def test_multipliers_per_layer_are_ceil_products_over_r(tmp_path, label, weights, reuse):
    need_tool("iverilog")            # pyverilog preprocesses with iverilog
    ir = ir_case(label)
    d = generate(ir, weights, reuse=reuse)
    write_design(d, tmp_path / "design")
    products = _products_per_layer(ir, weights)
    plan = plan_design(ir, weights)
    total = 0
    for lp, p in zip(plan.layers, products):
        got = counted_multipliers(tmp_path / "design", d.sources, f"{d.top}_{lp.name}")
        assert sum(got.values()) == -(-p // reuse), lp.name
        assert {k[0] for k in got} == {lp.in_bits}                    # activations at the layer's width
        if weights == "programmable":
            wf = lp.layer.weight_format
            assert {k[2:] for k in got} == {(wf.bits, wf.signed)}
        total += sum(got.values())
    m = d.manifest
    assert m["multipliers"]["total"] == total and m["multipliers"]["products"] == sum(products)
    assert [r["multipliers"] for r in m["multipliers"]["by_layer"]] == [-(-p // reuse) for p in products]


def test_chip_at_r8_has_at_most_a_sixth_of_the_multipliers_of_r1():
    ir = ir_case("chip")
    full = generate(ir, "programmable").manifest["multipliers"]["total"]
    r8 = generate(ir, "programmable", reuse=8).manifest["multipliers"]["total"]
    assert full == 2728 and r8 == 341 and 6 * r8 <= full


def test_operand_selectors_are_shared_so_the_chip_dense_layer_at_r8_has_16_activation_selectors():
    # The ECON-T dense layer: 16 outputs, each over all 128 conv outputs in the same order. At R = 8
    # output j's multiplier k reads inputs 8k..8k+7, whatever j: 128 / 8 = 16 distinct activation
    # selectors serve all 256 multipliers. No module may hold two selectors over the same fields.
    d = generate(ir_case("chip"), "programmable", reuse=8)
    inst = re.compile(r"enc_field_sel #\(\s*\.WIDTH\((\d+)\),.*?\) (\w+) \(\s*\.fields\((\{.*?\})\)", re.S)
    for name, text in d.files.items():
        found = inst.findall(text)
        keys = [(w, f) for w, _, f in found]
        assert len(keys) == len(set(keys)), f"{name}: two selectors over the same fields"
        if name.endswith("_dense.v"):
            acts = [f for w, n, f in found if n.endswith("_a_sel")]
            assert len(acts) == 16
            assert sum(n.endswith("_b_sel") for _, n, _ in found) == 256   # every weight is its own
            uses = re.findall(r"\.a\((m\d+_a)\)", text)
            assert len(uses) == 256 and len(set(uses)) == 16


def test_packing_puts_every_product_once_in_output_order():
    plan = plan_design(ir_case("econt_4x4x3_qkeras"), "constant")
    for lp in plan.layers:
        mults, runs = pack_layer(lp, 8)
        flat = [(n.name, t.src, t.weight_index) for m in mults for n, t in m.products]
        want = [(n.name, t.src, t.weight_index) for n in sorted(lp.neurons, key=lambda n: n.out_index) for t in n.taps]
        assert flat == want and all(1 <= len(m.products) <= 8 for m in mults)
        for r in runs:                     # each output's products sit on its multipliers in its phases
            covered = sum(b - a for m in r.multipliers(8) for a, b in [r.phases(m, 8)])
            assert covered == len(r.neuron.taps)


def test_r1_is_the_fully_parallel_design_byte_for_byte():
    ir = ir_case("econt_8x8_econt")
    for weights in ("programmable", "constant"):
        a, b = generate(ir, weights, 0, elinks=2), generate(ir, weights, 0, elinks=2, reuse=1)
        assert a.files == b.files
        assert "reuse" not in b.manifest and b.manifest["initiation_interval"] == 1


def test_generation_is_deterministic_and_states_r_in_the_manifest():
    ir = ir_case("econt_8x8_qkeras")
    a, b = generate(ir, "programmable", reuse=4), generate(ir, "programmable", reuse=4)
    assert a.files == b.files
    m = a.manifest
    assert m["initiation_interval"] == 4 and m["reuse"]["factor"] == 4 and m["reuse"]["clock_ratio"] == 4
    assert m["latency"] == m["reuse"]["latency_cycles"] == 2 * (4 + 1) + 1
    assert m["reuse"]["latency_modules"] == m["latency"] / 4
    assert any(p["role"] == "out_overrun" for p in m["ports"])
    assert "--reuse 4" in a.files[f"{a.top}_conv.v"].splitlines()[4]


@pytest.mark.parametrize("kw,flag", [({"reuse": 0}, "--reuse"), ({"reuse": 2, "cuts": ["conv.tree"]}, "--cuts"),
                                     ({"reuse": 2, "pipeline": 9}, "--pipeline")])
def test_unsupported_options_give_one_line_errors(kw, flag):
    with pytest.raises(UserError) as e:
        generate(ir_case("econt_8x8_qkeras"), "programmable", **kw)
    assert str(e.value).startswith(flag) and "\n" not in str(e.value)


def test_input_side_cuts_add_latency():
    ir = ir_case("econt_8x8_qkeras")
    d = generate(ir, "constant", cuts=["charges", "input_path"], reuse=2)
    assert d.manifest["latency"] == 2 + 2 * 3 + 1 and d.manifest["cuts"] == ["charges", "input_path"]


@pytest.mark.parametrize("label,weights,reuse,preg", [("chip", "programmable", 8, False),
                                                     ("econt_8x8_qkeras", "constant", 3, False),
                                                     ("econt_8x8_qkeras", "programmable", 2, True)])
def test_reuse_design_lints_clean_and_elaborates_without_latches(tmp_path, label, weights, reuse, preg):
    need_tool("iverilog")
    need_tool("verilator")
    need_tool("yosys")
    d = generate(ir_case(label), weights, reuse=reuse, product_register=preg)
    write_design(d, tmp_path / "d")
    srcs = [str(tmp_path / "d" / s) for s in d.sources]
    r = run(["iverilog", "-g2001", "-Wall", "-o", "/dev/null", *srcs])
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr[-2000:]
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", d.top, *srcs])
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]
    script = (f"read_verilog {' '.join(srcs)}; hierarchy -check -top {d.top}; proc; check -assert; "
              "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; flatten; check -assert")
    r = run(["yosys", "-q", "-p", script])
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


# -- primitives ------------------------------------------------------------------

def test_field_sel_picks_the_field_and_zero_past_count(tmp_path):
    fields = [0x15, 0x2A, 0x3F]                       # COUNT 3 of 6 bits on a 2-bit select
    packed = sum(f << (6 * k) for k, f in enumerate(fields))
    sel = np.arange(4)
    got = simulate_primitive(tmp_path, "enc_field_sel", dict(WIDTH=6, COUNT=3, SEL_BITS=2),
                             {"fields": (18, np.full(4, packed)), "sel": (2, sel)}, ("y", 6))
    assert got.tolist() == fields + [0]


def test_field_sel_elaboration_check_rejects_unreachable_fields(tmp_path):
    need_tool("iverilog")
    with pytest.raises(AssertionError):
        simulate_primitive(tmp_path, "enc_field_sel", dict(WIDTH=4, COUNT=5, SEL_BITS=2),
                           {"fields": (20, np.zeros(2, dtype=np.int64)), "sel": (2, np.zeros(2, dtype=np.int64))},
                           ("y", 4))


# -- simulation against the golden model --------------------------------------------

def _tiny(tmp_path, weights, reuse, **kw):
    ir = synthetic_ir("tiny_conv", "qkeras", seed=3)
    return write_design(generate(ir, weights, reuse=reuse, **kw), tmp_path / f"tiny_{weights}_r{reuse}")


@pytest.mark.parametrize("weights,reuse", [("programmable", 2), ("constant", 4), ("programmable", 5)])
def test_tiny_design_matches_golden_model(tmp_path, weights, reuse):
    need_tool("iverilog")
    d = _tiny(tmp_path, weights, reuse)
    code, s, text, _ = sim(d, tmp_path / "run", vectors=300, seed=5)
    assert code == 0 and s["status"] == "pass", text
    assert s["checked"] >= 300 and s["mismatches"] == 0 and s["overrun_errors"] == 0
    assert s["overrun_flags_seen"] == (2 if reuse >= 3 else 1)        # the two (one) too-soon valids
    assert set(s["latency_seen"]) == {str(2 * (reuse + 1) + 1)}


def test_framed_masked_design_at_r3_matches_golden_model_and_frames(tmp_path):
    need_tool("iverilog")
    ir = synthetic_ir("tiny_masked", "econt", seed=2, overflow="wrap", last_activation="linear")
    d = write_design(generate(ir, "constant", reuse=3, elinks=2, cuts=["charges"]), tmp_path / "d")
    code, s, text, _ = sim(d, tmp_path / "run", vectors=300, seed=7)
    assert code == 0 and s["frames_checked"] >= 300 and s["frame_mismatches"] == 0, text


@pytest.mark.parametrize("old,new,what", [
    ("wire accept = valid_taken && busy == 2'd0;", "wire accept = valid_taken;", "guard"),
    ("(phase >= 2'd1) ? m2_prod", "(phase >= 2'd2) ? m2_prod", "gating"),
])
def test_planted_bugs_are_caught(tmp_path, old, new, what):
    need_tool("iverilog")
    d = _tiny(tmp_path, "programmable", 4)
    m = json.loads((d / "manifest.json").read_text())
    file = f"{m['top']}.v" if what == "guard" else f"{m['top']}_conv.v"
    bad = plant(d, tmp_path / "bad", file, old, new)
    code, s, text, _ = sim(bad, tmp_path / "run", vectors=200, seed=5)
    assert code != 0 and s["status"] == "mismatch", text
    assert s["mismatches"] + s["stale_outputs"] + s["overrun_errors"] > 0


def test_constant_products_form_matches_golden_model(tmp_path):
    """The other constant-weight form (R shift-and-add products muxed), kept for the cost measurement."""
    need_tool("iverilog")
    ir = synthetic_ir("tiny_conv", "econt", seed=3)
    d = write_design(generate(ir, "constant", reuse=3, reuse_constants="products"), tmp_path / "d")
    assert "enc_mul.v" not in d.joinpath("manifest.json").read_text()
    code, s, text, _ = sim(d, tmp_path / "run", vectors=300, seed=5)
    assert code == 0 and s["mismatches"] == 0 and s["overrun_errors"] == 0, text


# -- the merge with main: shadow bank, control registers, options not combined yet ---------------

@pytest.mark.parametrize("kw,flags", [({"config_port": "i2c"}, ("--reuse 2", "--config-port i2c")),
                                      ({"tmr_mode": "config"}, ("--reuse 2", "--tmr config"))])
def test_reuse_with_i2c_or_tmr_is_refused_in_one_line(kw, flags):
    with pytest.raises(UserError) as e:
        generate(ir_case("econt_8x8_qkeras"), "programmable", reuse=2, **kw)
    assert all(f in str(e.value) for f in flags) and "\n" not in str(e.value)


def test_reuse_with_bulk_mode_is_refused_in_one_line(tmp_path):
    from encoder.verif.runner import SimOptions, run
    d = _tiny(tmp_path, "constant", 2)
    with pytest.raises(UserError) as e:
        run(d, SimOptions(sim="icarus", vectors=10, bulk=True, out=str(tmp_path / "run")), log=lambda *a: None)
    assert "--bulk" in str(e.value) and "--reuse 2" in str(e.value) and "\n" not in str(e.value)


def test_reuse_commit_strobes_wait_for_a_crossing_boundary(tmp_path):
    """Each layer's bank copies on its own strobe (stage of its phase 0), held while a crossing is
    between two of its phases."""
    d = _tiny(tmp_path, "programmable", 4)
    m = json.loads((d / "manifest.json").read_text())
    top = (d / f"{m['top']}.v").read_text()
    # conv's phase 0 is 1 cycle after the crossing is taken, dense's 1 + 5 = 6; commit stages 0..6
    assert m["registers"]["control"]["commit_stages"] == 7
    assert "wire mid_conv = valid_pipe[0] || valid_pipe[1] || valid_pipe[2];" in top
    assert "assign cfg_commit_conv = (cfg_commit[1] || commit_held_conv) && !mid_conv;" in top
    assert "assign cfg_commit_dense = (cfg_commit[6] || commit_held_dense) && !mid_dense;" in top


@pytest.mark.parametrize("reuse", [2, 4])
def test_reuse_live_reloads_match_the_golden_model(tmp_path, reuse):
    need_tool("iverilog")
    d = _tiny(tmp_path, "programmable", reuse)
    code, s, text, run_dir = sim(d, tmp_path / "run", vectors=1000, seed=3)
    assert code == 0 and s["status"] == "pass", text
    assert s["live_reloads"] >= 3 and s["config_errors"] == 0 and s["mismatches"] == 0
    # Each live COMMIT came with a weight write in every cycle of the drop window: dropped up to the last
    # layer's copy, which waited for a crossing (held) in at least one of them.
    m = json.loads((d / "manifest.json").read_text())["registers"]["control"]
    result = json.loads(next((run_dir / "shards").iterdir()).joinpath("result.json").read_text())
    done = [e for e in result["events"] if e["event"] == "commit_with_writes"]
    assert len(done) == s["live_reloads"], done
    assert all(m["commit_stages"] - 1 <= e["dropped"] <= m["dropped_after_commit"][1] for e in done), done
    assert any(e["held"] for e in done), done


def test_a_write_while_the_last_layers_copy_is_held_must_be_dropped(tmp_path):
    """With --reuse the last layer's bank may copy after its strobe, once the crossing between its phases
    is through. A design whose drop window ignores that wait takes the write into the shadow bank, and
    the held copy then carries it into the last layer alone: the active field read back is wrong and
    crossings after the COMMIT mismatch."""
    need_tool("iverilog")
    d = _tiny(tmp_path, "programmable", 4)
    bad = plant(d, tmp_path / "bad", "enc_cfg_ctrl.v",
                "wire last_waits = (commit_pipe[STAGES-1] || last_held) && last_mid;", "wire last_waits = 1'b0;")
    code, s, text, _ = sim(bad, tmp_path / "run", vectors=1000, seed=3)
    assert code != 0 and s["config_errors"] >= 1 and s["mismatches"] > 0, text


def test_reuse_commit_without_the_hold_mixes_weight_sets_and_is_caught(tmp_path):
    need_tool("iverilog")
    d = _tiny(tmp_path, "programmable", 4)
    m = json.loads((d / "manifest.json").read_text())
    bad = plant(d, tmp_path / "bad", f"{m['top']}.v",
                "assign cfg_commit_conv = (cfg_commit[1] || commit_held_conv) && !mid_conv;",
                "assign cfg_commit_conv = cfg_commit[1];")
    code, s, text, _ = sim(bad, tmp_path / "run", vectors=1000, seed=3)
    assert code != 0 and s["mismatches"] > 0, text


@pytest.mark.parametrize("weights", ["programmable", "constant"])
def test_an_output_with_no_product_takes_its_bias_at_phase_0_like_the_others(weights):
    """econt_8x8's conv has 32 outputs whose kernel reaches no input cell: the bias alone. With
    programmable weights their bias must be registered at phase 0, as every other output's sum is;
    read combinationally at the output cycle, a COMMIT in between showed those 32 outputs the new
    bias while the rest of the crossing had the old set (one mismatch per live reload on econt_8x8 at
    R = 2 and 4). Constant biases are literals and need no register."""
    import re
    from pathlib import Path
    from encoder.verif.presets import preset_ir
    ir = preset_ir(Path(__file__).resolve().parents[1] / "configs" / "econt_8x8.yaml", seed=11)
    files = generate(ir, weights, reuse=2).files
    conv = next(text for name, text in files.items() if name.endswith("_conv.v"))
    lonely = re.findall(r"// (conv_r\d+_c\d+_f\d+): 0 no product", conv)
    assert len(lonely) == 32
    for n in lonely:
        registered = f"u_{n}_acc (" in conv and f".init({n}_bias), .add(18'd0)" in conv
        assert registered == (weights == "programmable"), n
        literal = re.search(rf"wire \[\d+:0\] {n}_acc = -?\d+'d\d+;", conv) is not None
        assert literal == (weights == "constant"), n


# -- --product-register ------------------------------------------------------------------------

@pytest.mark.parametrize("weights,reuse,cuts", [("programmable", 2, None), ("constant", 3, None),
                                                ("programmable", 2, ["input_path"])])
def test_registered_products_match_the_golden_model_one_cycle_later_per_layer(tmp_path, weights, reuse, cuts):
    need_tool("iverilog")
    d = _tiny(tmp_path, weights, reuse, product_register=True, cuts=cuts)
    m = json.loads((d / "manifest.json").read_text())
    assert m["reuse"]["product_register"] is True and m["reuse"]["cycles_per_layer"] == reuse + 2
    code, s, text, _ = sim(d, tmp_path / "run", vectors=300, seed=5)
    assert code == 0 and s["status"] == "pass", text
    assert s["checked"] >= 300 and s["mismatches"] == 0 and s["overrun_errors"] == 0
    # two layers of R + 2 cycles, the output registers, and the input-side stage if cut
    assert set(s["latency_seen"]) == {str(2 * (reuse + 2) + 1 + len(cuts or []))}


def test_registered_products_keep_live_reloads_whole(tmp_path):
    """The bias is read a phase later (with the first registered products): still inside the crossing's
    R phases, so a commit between crossings reaches every output of a crossing or none."""
    need_tool("iverilog")
    d = _tiny(tmp_path, "programmable", 2, product_register=True)
    code, s, text, _ = sim(d, tmp_path / "run", vectors=1000, seed=3)
    assert code == 0 and s["status"] == "pass", text
    assert s["live_reloads"] >= 3 and s["config_errors"] == 0 and s["mismatches"] == 0


def test_registered_products_have_one_register_per_multiplier_and_a_delayed_phase():
    d = generate(ir_case("chip"), "programmable", reuse=8, product_register=True)
    dense = next(t for n, t in d.files.items() if n.endswith("_dense.v"))
    assert len(re.findall(r"always @\(posedge clk\) m\d+_q <= m\d+_rounded;", dense)) == 256
    assert "always @(posedge clk) phase_q <= phase;" in dense and ".first(phase_q_first)" in dense
    assert ".first(phase_first)" not in dense
    plain = generate(ir_case("chip"), "programmable", reuse=8)
    assert d.manifest["latency"] == plain.manifest["latency"] + 2               # one cycle per layer


def test_product_register_without_reuse_is_refused_in_one_line():
    with pytest.raises(UserError) as e:
        generate(ir_case("econt_8x8_qkeras"), "programmable", product_register=True)
    assert "--product-register" in str(e.value) and "\n" not in str(e.value)
