"""Upset campaigns on econt_8x8 (`encoder sim --seu`): what --tmr buys, and what it costs.

Generates econt_8x8 (random weights, seeded; or --ir) with --tmr none,
--tmr config and --tmr full, injects --upsets single upsets into each in
bulk mode on Verilator (--vectors vectors, the upsets at least 32 cycles
apart, each held 16 cycles): into the configuration bank with none and
config, into every register (bits drawn uniformly over all of them:
pipeline, valid, output, framing, control, read-back, counters and banks)
with full. Prints per mode: wrong outputs, the upsets that reached an
output, the sensitivity, and the corrected-upset counters against the
upsets injected into the banks' copies. Exits 1 unless --tmr config and
--tmr full show 0 output errors and counters equal to the bank upsets.
With --synth, also the generic yosys figures of each mode (`encoder synth
--liberty none`: flip-flops, estimated transistors).

Usage:
    python benchmarks/bench_seu.py [--upsets 1000] [--vectors 60000] [--modes config,none,full] [--elinks N]
                                   [--synth] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoder.ir import save_ir                                   # noqa: E402
from encoder.rtl_gen.design import generate_from_file, write_design   # noqa: E402
from encoder.verif.presets import preset_ir                      # noqa: E402
from encoder.verif.runner import SimOptions, run                 # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upsets", type=int, default=1000)
    p.add_argument("--vectors", type=int, default=60000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ir", help="a trained IR instead of random weights")
    p.add_argument("--modes", default="config,none,full")
    p.add_argument("--elinks", type=int, default=None, help="add the e-link framing block (its registers join "
                   "the --tmr full campaign); default: latents out only")
    p.add_argument("--synth", action="store_true", help="also `encoder synth --liberty none` of each mode")
    p.add_argument("--work", default=str(ROOT / "sim" / "build" / "bench_seu"))
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ir_path = Path(args.ir) if args.ir else work / "ir.json"
    if not args.ir and not ir_path.exists():
        save_ir(preset_ir(ROOT / "configs" / "econt_8x8.yaml", args.seed), ir_path)
    ok = True
    for mode in args.modes.split(","):
        design = work / f"design_{mode}"
        write_design(generate_from_file(ir_path, "programmable", tmr_mode=mode, elinks=args.elinks), design, force=True)
        out = work / f"run_{mode}"
        if out.exists():
            shutil.rmtree(out)
        t0 = time.monotonic()
        code, s = run(design, SimOptions(sim="verilator", vectors=args.vectors, jobs=2, seed=args.seed, out=str(out),
                                         build_root=str(work / "build"), seu=args.upsets,
                                         seu_target="all" if mode == "full" else "config",
                                         progress=False), log=lambda *a: None)
        sens = s["seu_sensitivity"]
        cnt = s.get("seu_counters") or {}
        where = "over every register" if mode == "full" else "in the configuration bank"
        kinds = ", ".join(f"{k} {v['injected']}" for k, v in sorted(sens["by_kind"].items()))
        print(f"--tmr {mode}: {s['seu_injected']} upsets {where} ({kinds}) over {s['checked']:,} vectors: "
              f"{s['seu_output_errors']} wrong outputs, {sens['upsets_reaching_output']} upsets reached an output "
              f"(sensitivity {sens['fraction']}, {sens['affected_crossings_per_upset']} wrong crossings per upset); "
              + (f"counters {s['seu_corrected']} corrected, equal to the upsets injected: "
                 f"{cnt.get('equal_to_upsets_injected')}; " if cnt else "no counters; ")
              + f"build {s['build']['seconds']} s, run {time.monotonic() - t0:.0f} s", flush=True)
        if mode == "config":
            ok = ok and s["seu_output_errors"] == 0 and bool(cnt.get("equal_to_upsets_injected")) \
                and s["seu_corrected"] == s["seu_injected"]
        if mode == "full":
            ok = ok and s["seu_output_errors"] == 0 and bool(cnt.get("equal_to_upsets_injected")) \
                and s["seu_corrected"] == sens["by_kind"].get("config", {}).get("injected", 0)
        if args.synth:
            rep = work / f"synth_{mode}"
            if rep.exists():
                shutil.rmtree(rep)
            from encoder.cli import main as cli
            t1 = time.monotonic()
            cli(["synth", str(design), "--liberty", "none", "--no-depth", "--out", str(rep)])
            r = json.loads((rep / "synth.json").read_text())
            print(f"--tmr {mode}: synth --liberty none: {r['flip_flops']:,} flip-flops, {r['transistors'] / 1e6:.2f} M "
                  f"estimated transistors ({time.monotonic() - t1:.0f} s)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_seu"))
