"""The generated RTL with e-link framing reproduces the ECON-T chip's output words.

- The framing primitive rtl/enc_elink_frame.v equals encoder.econt.framing
  (the Python spec checked against the chip's testOutput.csv) on ports of 2,
  5 and 13 e-links: random latents, sum codes, latent masks and e-link counts
  (0, above the port, every value between) changing every BX, BX-counter
  resets with and without data, gaps in valid: one BX per clock, counted
  whether it carries data or not (Icarus, plain Verilog testbench).
- The design generated from the imported init.yaml, weights loaded through
  the configuration port, gives every one of the 3,564 BX of the chip's
  testOutput.csv (cocotb on Icarus), and a wrong register field does not.
- The framing option: lint clean, manifest facts, one-line errors.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from encoder.econt.framing import bx_counter_field, port_words
from encoder.errors import UserError
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from rtl_helpers import DATA, RTL, need_tool, run

ECONT = DATA / "econt"
CONFIG, INPUT, EXPECTED = ECONT / "AE" / "init.yaml", ECONT / "testInput.csv", ECONT / "AE" / "testOutput.csv"
N_LAT, LAT_BITS, SUM_BITS = 16, 9, 9
WORD = N_LAT * LAT_BITS


def _random_masks(rng, n: int) -> list[int]:
    """All ones, none, low bits only, and random masks of several densities."""
    fixed = [(1 << WORD) - 1, 0, (1 << 40) - 1, ((1 << WORD) - 1) ^ 1]
    out = []
    for i in range(n):
        if i < len(fixed):
            out.append(fixed[i])
        else:
            p = (0.1, 0.5, 0.9, 0.98)[i % 4]
            bits = rng.random(WORD) < p
            out.append(sum(1 << int(k) for k in np.flatnonzero(bits)))
    return out


def _simulate_frame(tmp_path, n_elinks: int, rows: dict) -> list[int]:
    """Drive enc_elink_frame with one row per clock; returns tx_data of every cycle with tx_valid."""
    need_tool("iverilog")
    n = len(rows["valid"])
    frame = 32 * n_elinks
    cb = n_elinks.bit_length()
    for name in ("valid", "bx_reset", "latents", "sum_code", "mask", "count"):
        (tmp_path / f"{name}.hex").write_text("\n".join(f"{int(v):x}" for v in rows[name]) + "\n")
    tb = f"""`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 1;
  reg valid, bx_reset;
  reg [{WORD - 1}:0] latents, mask;
  reg [{SUM_BITS - 1}:0] sum_code;
  reg [{cb - 1}:0] count;
  wire tx_valid;
  wire [{frame - 1}:0] tx_data;
  reg m_valid [0:{n - 1}];
  reg m_bx_reset [0:{n - 1}];
  reg [{WORD - 1}:0] m_latents [0:{n - 1}];
  reg [{WORD - 1}:0] m_mask [0:{n - 1}];
  reg [{SUM_BITS - 1}:0] m_sum_code [0:{n - 1}];
  reg [{cb - 1}:0] m_count [0:{n - 1}];
  integer i, f;
  enc_elink_frame #(.N_ELINKS({n_elinks}), .COUNT_BITS({cb}), .N_LATENT({N_LAT}), .LATENT_BITS({LAT_BITS}), .SUM_BITS({SUM_BITS}))
    dut (.clk(clk), .rst(rst), .valid(valid), .bx_reset(bx_reset), .latents(latents), .sum_code(sum_code),
         .n_elinks(count), .mask(mask), .tx_valid(tx_valid), .tx_data(tx_data));
  always #5 clk = ~clk;
  always @(negedge clk) if (tx_valid) $fdisplay(f, "%h", tx_data);
  initial begin
    $readmemh("valid.hex", m_valid);
    $readmemh("bx_reset.hex", m_bx_reset);
    $readmemh("latents.hex", m_latents);
    $readmemh("mask.hex", m_mask);
    $readmemh("sum_code.hex", m_sum_code);
    $readmemh("count.hex", m_count);
    f = $fopen("tx.hex", "w");
    valid = 0; bx_reset = 1; latents = 0; mask = 0; sum_code = 0; count = 0;
    @(negedge clk); @(negedge clk);
    rst = 0;
    for (i = 0; i < {n}; i = i + 1) begin
      valid = m_valid[i]; bx_reset = m_bx_reset[i];
      latents = m_latents[i]; mask = m_mask[i]; sum_code = m_sum_code[i];
      count = m_count[i];
      @(negedge clk);
    end
    valid = 0;
    @(negedge clk); @(negedge clk);
    $fclose(f);
    $finish;
  end
endmodule
"""
    (tmp_path / "tb.v").write_text(tb)
    r = run(["iverilog", "-g2001", "-Wall", "-o", "sim", "tb.v", str(RTL / "enc_elink_frame.v")], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    r = run(["vvp", "-n", "sim"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return [int(line, 16) for line in (tmp_path / "tx.hex").read_text().split()]


@pytest.mark.parametrize("n_elinks", [2, 5, 13])
def test_framing_primitive_equals_python_framing_spec(tmp_path, n_elinks):
    rng = np.random.default_rng(100 + n_elinks)
    n = 400
    valid = (rng.random(n) < 0.8).astype(int)
    valid[0] = 1
    bx_reset = (rng.random(n) < 0.05).astype(int)
    bx_reset[0] = 1                       # the chip's vectors start on a counter reset
    idle = np.flatnonzero(valid == 0)
    bx_reset[idle[::max(1, len(idle) // 6)][:6]] = 1     # resets without data: taken all the same
    latents = rng.integers(0, 1 << LAT_BITS, size=(n, N_LAT))
    latents[:3] = [[0] * N_LAT, [(1 << LAT_BITS) - 1] * N_LAT, [1 << (j % LAT_BITS) for j in range(N_LAT)]]
    sum_code = rng.integers(0, 1 << SUM_BITS, size=n)
    masks = _random_masks(rng, n)
    # The e-link count register's every value, changing from BX to BX: 0 sends nothing, counts
    # above the port's e-links send on all of them.
    counts = rng.integers(0, 1 << n_elinks.bit_length(), size=n)
    counts[:8] = n_elinks
    words = [sum(int(v) << (LAT_BITS * j) for j, v in enumerate(row)) for row in latents]
    got = _simulate_frame(tmp_path, n_elinks, {"valid": valid, "bx_reset": bx_reset, "latents": words,
                                               "sum_code": sum_code, "mask": masks, "count": counts})

    acc = np.flatnonzero(valid)                 # the rows with data; every row is a BX
    resets = np.flatnonzero(bx_reset)
    bxf = bx_counter_field(n, resets.tolist())[acc]
    expected = []
    for k, i in enumerate(acc):
        row = port_words(latents[i][None, :], [int(sum_code[i])], [int(bxf[k])], int(counts[i]), n_elinks, masks[i])[0]
        expected.append(sum(int(w) << (32 * (n_elinks - 1 - c)) for c, w in enumerate(row)))
    assert set(counts[acc].tolist()) == set(range(1 << n_elinks.bit_length()))   # 0, 1..N, above N
    assert len(got) == len(expected)
    bad = [k for k in range(len(expected)) if got[k] != expected[k]]
    assert not bad, (f"{len(bad)} of {len(expected)} frames differ; first: row {acc[bad[0]]} "
                     f"got {got[bad[0]]:x} expected {expected[bad[0]]:x}")
    assert (bxf == 31).sum() == bx_reset[acc].sum() > 5


@pytest.mark.slow
def test_rtl_reproduces_all_3564_chip_frames(tmp_path):
    """init.yaml -> IR -> RTL (programmable, a port of 13 e-links); the e-link count (5) and the latent
    mask written through the configuration port; every BX's 13 TX_DATA words equal the chip's."""
    need_tool("iverilog")
    from encoder.verif.econt_frames import check_rtl
    r = check_rtl(CONFIG, INPUT, EXPECTED, tmp_path)
    assert (r.n_bx, r.equal, r.n_elinks) == (3564, 3564, 5), r.mismatches
    # 2,144 weight fields, the e-link count and 24 six-bit words of the 144-bit latent mask
    assert (r.fields, r.readback_errors) == (2144 + 1 + 24, 0)
    m = json.loads((tmp_path / "design" / "manifest.json").read_text())
    assert m["framing"]["elinks"] == 13 and m["framing"]["elinks_reset"] == 13   # 5 came through the port
    assert r.csv.read_text() == EXPECTED.read_text()


@pytest.mark.slow
def test_a_wrong_register_field_gives_wrong_frames(tmp_path):
    """One dense weight loaded with its LSB flipped: reads back as written, but frames differ."""
    need_tool("iverilog")
    from encoder.econt.chip import ir_from_config
    from encoder.verif.econt_frames import check_rtl
    d = generate(ir_from_config(CONFIG), "programmable", 0, elinks="chip")
    dense = next(g for g in d.manifest["registers"]["groups"] if g["name"] == "dense_weight")
    r = check_rtl(CONFIG, INPUT, EXPECTED, tmp_path, limit=300, flip_field=dense["address"] + 5)
    assert r.readback_errors == 0 and r.n_bx == 300
    assert r.equal < 300 and r.mismatches and not r.ok


def test_framing_option_manifest_and_lint(tmp_path):
    need_tool("iverilog")
    need_tool("verilator")
    from encoder.econt.chip import ir_from_config
    d = generate(ir_from_config(CONFIG), "programmable", 0, elinks="chip")
    m = d.manifest
    ports = {p["role"]: p for p in m["ports"]}
    assert ports["out_tx_data"]["width"] == 160 and ports["out_tx_data"]["latency"] == m["latency"] + 1
    assert "in_bx_reset" in ports and m["framing"]["elinks"] == 5 and "enc_elink_frame.v" in m["sources"]
    assert m["framing"]["latent_mask"] == hex((1 << WORD) - 1)
    # The framing registers after the 2,144 weight fields, on the weights' 6-bit port: count (3 bits,
    # reset 5), then the 144-bit mask in 24 words; the header states them.
    regs = {r["name"]: r for r in m["registers"]["framing"]}
    assert (regs["elinks"]["addr"], regs["elinks"]["width"], regs["elinks"]["reset"]) == (2144, 3, 5)
    assert (regs["latent_mask"]["addr"], regs["latent_mask"]["words"], regs["latent_mask"]["word_bits"]) == \
        (2145, 24, 6) and regs["latent_mask"]["reset"] == hex((1 << WORD) - 1)
    assert m["registers"]["data_width"] == 6 and m["registers"]["addr_width"] == 12
    top = d.files[f"{d.top}.v"]
    assert "//   address 2144: e-link count, 3 bits, reset 5" in top
    assert "//   addresses 2145..2168: latent mask, 144 bits in 24 words of 6" in top
    # a trained-model IR (constant weights, 2 e-links, all latent bits) lints as clean as the chip's
    small = generate(synthetic_ir("tiny_conv", "econt", seed=3), "constant", 1, elinks=2)
    for label, design in (("chip", d), ("small", small)):
        out = write_design(design, tmp_path / label)
        srcs = [str(out / s) for s in design.manifest["sources"]]
        r = run(["iverilog", "-g2001", "-Wall", "-o", "/dev/null", *srcs])
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr[-2000:]
        r = run(["verilator", "--lint-only", "-Wall", "--top-module", design.top, *srcs])
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr[-2000:]
        assert json.loads((out / "manifest.json").read_text())["framing"]["elinks"] in (5, 2)
    # without the option the design has no framing block, and a constant-weight one no configuration port
    plain = generate(synthetic_ir("tiny_conv", "econt", seed=3), "constant", 0).manifest
    assert "framing" not in plain and "registers" not in plain
    assert not {p["role"] for p in plain["ports"]} & {"cfg_we", "cfg_addr", "cfg_wdata", "cfg_rdata"}


@pytest.mark.parametrize("elinks,msg", [(0, "outside 1..13"), (14, "outside 1..13"), ("x", "expected a number"),
                                        ("chip", "has no chip configuration")])
def test_framing_option_errors(elinks, msg):
    with pytest.raises(UserError, match=msg):
        generate(synthetic_ir("tiny_conv", "econt", seed=3), "constant", 0, elinks=elinks)


@pytest.mark.slow
def test_framing_register_bits_equal_flip_flops_after_synthesis(tmp_path):
    """The manifest counts the framing block's flip-flops as yosys keeps them: the count and mask
    registers, the read-back register of the constant design's own port, and only the tx_data bits
    some e-link count can set (3 latents of 9 bits leave 5 bits zero under every count)."""
    need_tool("yosys")
    from encoder.cli import main
    d = generate(synthetic_ir("tiny_conv", "econt", seed=1), "constant", 0, elinks=2)
    write_design(d, tmp_path / "design")
    assert main(["synth", str(tmp_path / "design"), "--out", str(tmp_path / "rep"), "--no-depth"]) == 0
    rep = json.loads((tmp_path / "rep" / "synth.json").read_text())
    bits = d.manifest["register_bits"]
    assert rep["flip_flops"] == bits["total"] and bits["config"] == 2 + 27 and bits["readback"] == 8
