"""Every primitive in rtl/ refuses parameters it cannot honour, at elaboration, on Icarus and Verilator.

A failed check instantiates a module named after the check (which does not exist), so the tools stop
with the check's name in the message; the same wrapper with good parameters elaborates cleanly.
"""

from __future__ import annotations

import pytest

from rtl_helpers import RTL, need_tool, run

# module -> (good parameters, [(bad parameters, name of the failing check)])
CASES = {
    "enc_leading_one": ({"IN_BITS": 32, "OUT_BITS": 5}, [({"IN_BITS": 33, "OUT_BITS": 5}, "IN_BITS_must_not_exceed")]),
    "enc_mul_const": ({"B_VALUE": 3}, [({"B_VALUE": 0}, "B_VALUE_must_not_be_0")]),
    "enc_round_shift": ({"SHIFT": 1}, [({"SHIFT": 0}, "SHIFT_must_be_at_least_1"),
                                       ({"ROUNDING": 3}, "ROUNDING_must_be_0_1_or_2")]),
    "enc_mul": ({"A_BITS": 4}, [({"A_SIGNED": 2}, "A_SIGNED_must_be_0_or_1")]),
    "enc_requant": ({}, [({"CODE_BITS": 17}, "CODE_BITS_must_be_1_to_OUT_BITS")]),
    "enc_normalise": ({}, [({"ROUNDING": 5}, "ROUNDING_must_be_0_1_or_2")]),
    "enc_sum_code": ({}, [({"MANT_BITS": 0}, "MANT_BITS_must_be_at_least_1")]),
    "enc_elink_frame": ({}, [({"N_ELINKS": 14}, "N_ELINKS_must_be_1_to_13"),
                             ({"CROSSING": 0}, "CROSSING_must_be_at_least_1"),
                             ({"LAG": -1}, "LAG_must_not_be_negative")]),
    "enc_cfg_block": ({}, [({"COUNT": 65}, "COUNT_must_be_1_to_2_pow_ADDR_BITS"),
                           ({"SHADOW": 2}, "SHADOW_must_be_0_or_1")]),
    "enc_cfg_ctrl": ({}, [({"BASE": 4090}, "BASE_plus_7_must_fit_ADDR_BITS")]),   # 4090 + 7 > 2^12
}
BAD = [(mod, params, check) for mod, (_, bads) in CASES.items() for params, check in bads]


def _wrapper(tmp_path, module: str, params: dict) -> str:
    """A top that instantiates the module with the parameters and leaves its ports open: only
    elaboration matters here."""
    overrides = ", ".join(f".{k}({v})" for k, v in params.items())
    text = (f"module top;\n  {module} {'#(' + overrides + ') ' if overrides else ''}dut ();\nendmodule\n")
    path = tmp_path / "top.v"
    path.write_text(text)
    return str(path)


def _icarus(tmp_path, module, params):
    return run(["iverilog", "-g2001", "-s", "top", "-o", str(tmp_path / "a.out"), _wrapper(tmp_path, module, params),
                str(RTL / f"{module}.v")])


def _verilator(tmp_path, module, params):
    # Open ports are fine for this purpose; only the elaboration errors count.
    return run(["verilator", "--lint-only", "-Wno-fatal", "-Wno-PINMISSING", "--top-module", "top",
                _wrapper(tmp_path, module, params), str(RTL / f"{module}.v")])


@pytest.mark.parametrize("module", list(CASES))
def test_good_parameters_elaborate(tmp_path, module):
    need_tool("iverilog")
    need_tool("verilator")
    good = CASES[module][0]
    r = _icarus(tmp_path, module, good)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _verilator(tmp_path, module, good)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("module,params,check", BAD, ids=[f"{m}-{c}" for m, _, c in BAD])
def test_bad_parameter_fails_elaboration_on_icarus_and_verilator(tmp_path, module, params, check):
    need_tool("iverilog")
    need_tool("verilator")
    for tool in (_icarus, _verilator):
        r = tool(tmp_path, module, params)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and check in out, f"{tool.__name__}: {out}"
