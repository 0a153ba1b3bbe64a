"""`encoder rtl`: what it writes, the manifest's facts, determinism and the register image."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

from encoder.cli import main
from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, register_image
from rtl_helpers import CHIP_IR, DATA, ir_case


def test_generation_is_byte_identical_and_fast_for_econt_8x8(tmp_path):
    ir = ir_case("econt_8x8_qkeras")
    t0 = time.perf_counter()
    a = generate(ir, "programmable", 0)
    elapsed = time.perf_counter() - t0
    b = generate(synthetic_ir("econt_8x8", "qkeras", seed=11), "programmable", 0)
    assert a.files == b.files
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    c = generate(ir, "constant", 1)
    d = generate(ir, "constant", 1)
    assert c.files == d.files


def test_cli_writes_design_and_refuses_to_overwrite(tmp_path, capsys):
    ir_path = save_ir(ir_case("econt_8x8_econt"), tmp_path / "ir.json")
    out = tmp_path / "design"
    assert main(["rtl", str(ir_path), "--out", str(out), "--weights", "constant"]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["sources"]) <= set(first) and "ir.json" in first
    assert (out / "ir.json").read_bytes() == ir_path.read_bytes()
    assert main(["rtl", str(ir_path), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first        # untouched
    assert main(["rtl", str(ir_path), "--out", str(out), "--weights", "constant", "--force"]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first        # same bytes again


def test_cli_rejects_bad_ir_and_pipeline_depth_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["rtl", str(bad), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert "bad.json" in err and "\n" not in err
    assert main(["rtl", str(CHIP_IR), "--out", str(tmp_path / "y"), "--pipeline", "9"]) == 1
    err = capsys.readouterr().err.strip()
    assert "--pipeline" in err and "\n" not in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_rtl_command_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from encoder.cli import main; "
            f"rc = main(['rtl', {str(CHIP_IR)!r}, '--out', {str(tmp_path / 'd')!r}]); "
            "assert rc == 0; assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_default_latency_is_two_cycles_and_pipeline_adds_stages():
    ir = ir_case("chip")
    lat = [generate(ir, "programmable", n).manifest["latency"] for n in range(3)]
    assert lat == [2, 3, 4]          # 2 cycles = 50 ns at 40 MHz


def test_chip_manifest_states_ports_bank_and_accumulators():
    m = generate(ir_case("chip"), "programmable", 0).manifest
    ports = {p["role"]: p for p in m["ports"]}
    assert ports["in_counts"]["width"] == 48 * 22 and ports["in_counts"]["field_width"] == 22
    assert ports["out_latents"]["fields"] == 16 and ports["out_latents"]["field_width"] == 9
    assert ports["out_sum_code"]["width"] == 9
    regs = m["registers"]
    assert regs["fields"] == 2144 and regs["total_bits"] == 2144 * 6 == 12864
    assert regs["data_width"] == 6 and regs["addr_width"] == 12
    assert [(g["name"], g["address"], g["count"]) for g in regs["groups"]] == [
        ("conv_weight", 0, 72), ("conv_bias", 72, 8), ("dense_weight", 80, 2048), ("dense_bias", 2128, 16)]
    # Accumulators bound every weight the 6-bit format allows (hand computation):
    # conv: 9 taps of floor(255 * w / 32), w in [-32, 31], plus bias * 4
    lo = 9 * ((255 * -32) >> 5) + (-32 << 2)
    hi = 9 * ((255 * 31) >> 5) + (31 << 2)
    conv = m["layers"][0]["accumulator"]
    assert conv["range"] == [lo, hi] and conv["bits"] == 13 and conv["signed"]
    # register bits: 12,864 configuration + pipeline registers + 6-bit read-back
    assert m["register_bits"]["config"] == 12864 and m["register_bits"]["readback"] == 6


def test_register_image_equals_the_chip_configuration():
    """register_image of the hand-built chip IR = the weight image the ECON-T chip was loaded with
    (12 blocks of 1,072 bits in init.yaml, field k at bits 6k..6k+5)."""
    init = yaml.safe_load((DATA / "econt" / "AE" / "init.yaml").read_text())

    def find(node):
        if isinstance(node, dict):
            if "AUTOENCODER_0INPUT" in node:
                return node
            for v in node.values():
                r = find(v)
                if r is not None:
                    return r
        return None

    blocks = find(init)
    image = 0
    for b in range(12):
        regs = blocks[f"AUTOENCODER_{b}INPUT"]["registers"]
        block = 0
        for k in range(0, 129, 16):
            block |= int(str(regs[f"weights_byte{k}"]["value"]), 0) << (8 * k)
        image |= block << (1072 * b)
    chip_fields = [(image >> (6 * k)) & 63 for k in range(2144)]
    assert register_image(ir_case("chip")) == chip_fields


def test_register_map_fields_point_at_the_ir_weights():
    """Every manifest map entry (addr -> layer, kind, Keras index) carries the image's code."""
    ir = ir_case("econt_4x4x3_econt")
    m = generate(ir, "programmable", 0).manifest
    image = register_image(ir)
    layers = {layer.name: layer for layer in ir.mac_layers}
    assert len(m["registers"]["map"]) == len(image) == ir.n_params
    for f in m["registers"]["map"]:
        layer = layers[f["layer"]]
        value = (layer.weight.ravel() if f["kind"] == "weight" else layer.bias)[f["index"]]
        assert image[f["addr"]] == int(value) & ((1 << f["bits"]) - 1)


def test_generated_glue_names_what_it_carries_and_has_a_header():
    d = generate(ir_case("chip"), "constant", 0)
    conv = d.files["econt_chip_conv.v"]
    assert "wire [9:0] conv_r1_c2_f5;" in conv and "pix_r3_c1" in conv
    top = d.files["econt_chip.v"]
    assert top.startswith("// econt_chip: ")
    assert "Generated by encoder" in top and d.plan.ir.hash in top and "--weights constant" in top
    for name in d.sources:
        assert d.files[name].lstrip().startswith("//"), name


@pytest.mark.parametrize("weights", ["programmable", "constant"])
def test_masked_and_padding_taps_have_no_product(weights):
    """econt_8x8: pixels of the zero quadrant and the bottom/right padding row never reach a product;
    an output whose window lies entirely in the masked quadrant has none at all."""
    d = generate(ir_case("chip"), weights, 0)
    text = d.files["econt_chip_conv.v"]
    for r in range(4, 8):
        for c in range(4, 8):
            assert f"pix_r{r}_c{c}" not in text
    by_layer = {row["layer"]: row for row in d.manifest["multipliers"]["by_layer"]}
    assert by_layer["conv"]["removed_taps"]["masked"] > 0 and by_layer["conv"]["removed_taps"]["padding"] > 0
    if weights == "programmable":
        assert "econt_chip_conv_mac0 u_conv_r3_c3_f0" in text


def test_wide_fields_and_unusual_formats_generate(tmp_path):
    """Random bit widths, wrap overflow and signed linear latents all produce a design."""
    for seed in range(4):
        ir = synthetic_ir("tiny_masked", "econt", seed=seed, overflow="wrap", last_activation="linear")
        for mode in ("programmable", "constant"):
            d = generate(ir, mode, 1)
            assert d.manifest["latency"] == 3
            lat = {p["role"]: p for p in d.manifest["ports"]}["out_latents"]
            assert lat["signed"] and lat["field_width"] == ir.latent_format.bits



def test_floored_negative_product_is_complement_plus_exact_bit():
    """The constant-weight form of a floored product with a negative weight, checked exhaustively:
    floor(-x*m / 2^e) = ~floor(x*m / 2^e) + (x mod 2^e == 0) for odd m (two's complement ~v = -v-1)."""
    for m in range(1, 32, 2):
        for e in range(1, 6):
            for x in range(256):
                hi = (x * m) >> e
                assert (-x * m) >> e == -hi - 1 + (x % (1 << e) == 0)


def test_odd_multiple_recipes_build_every_multiple_with_one_adder_each():
    from encoder.rtl_gen.emit import _multiple_recipes
    for needed in ({3}, {7}, {27}, {11, 13}, set(range(3, 64, 2))):
        value = {1: 1}
        for m, a, k, op, b in _multiple_recipes(needed):
            assert a in value and b in value            # built from x or earlier multiples
            value[m] = (value[a] << k) + (value[b] if op == "+" else -value[b])
            assert value[m] == m
        assert needed <= set(value)


@pytest.mark.parametrize("label", ["chip", "econt_8x8_qkeras"])
def test_shared_sums_cover_each_output_terms_exactly_once(label):
    """Every constant-weight output still adds each of its products once, whether directly or
    through sums shared with other outputs, and the exact bit of each negative floored product
    once (its own port, or folded into the shared sum that holds the product); and the sharing
    saves adders on ECON-T-sized dense layers."""
    from encoder.rtl_gen.emit import _mac_inputs, _operand_terms, const_products, shared_sums
    from encoder.rtl_gen.plan import plan_design
    plan = plan_design(ir_case(label), "constant")

    def folded(sh, item):                       # exact-bit terms a shared sum adds, nested ones too
        if item[0] == "term":
            return []
        return ([op for op in sh.sums[item[1]] if op[0] == "term" and sh.terms[op].exact_source]
                + [t for op in sh.sums[item[1]] for t in folded(sh, op)])

    for lp in plan.layers:
        sh = shared_sums(lp)
        for n, items in zip(sorted(lp.neurons, key=lambda n: n.out_index), sh.items):
            got = sorted(t for item in items for t in _operand_terms(sh, item))
            assert got == sorted(("term", t.src, t.weight) for t in n.taps)
            prods = const_products(lp, n)
            ports = {i.port for i in _mac_inputs(lp, n)[0]}
            exact = sorted([("term", n.taps[p.tap].src, p.weight) for p in prods if p.exact_port in ports]
                           + [t for item in items for t in folded(sh, item)])
            assert exact == sorted(("term", n.taps[p.tap].src, p.weight) for p in prods if p.exact_port)
    dense = plan.layers[-1]
    assert len(shared_sums(dense).sums) > 100
