"""Time `encoder rtl` generation and print each design's size facts.

Designs: the ECON-T chip IR (tests/data/econt_chip_ir_handbuilt.json) and
random-weight econt_8x8 / econt_4x4x3 IRs (encoder.ir.synthetic, seed 1),
both weight modes. Target: under 2 s for econt_8x8.
"""

from __future__ import annotations

import time
from pathlib import Path

from encoder.ir import load_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    irs = {"chip (ECON-T weights)": load_ir(ROOT / "tests/data/econt_chip_ir_handbuilt.json"),
           "econt_8x8 qkeras (random)": synthetic_ir("econt_8x8", "qkeras", seed=1),
           "econt_8x8 econt (random)": synthetic_ir("econt_8x8", "econt", seed=1),
           "econt_4x4x3 qkeras (random)": synthetic_ir("econt_4x4x3", "qkeras", seed=1)}
    print(f"{'design':<30} {'weights':<13} {'gen s':>6} {'files':>5} {'lines':>7} {'mults':>6} "
          f"{'latency':>7} {'reg bits':>9}  accumulators")
    for name, ir in irs.items():
        for mode in ("programmable", "constant"):
            t0 = time.perf_counter()
            d = generate(ir, mode, 0)
            dt = time.perf_counter() - t0
            lines = sum(d.files[s].count("\n") for s in d.sources)
            m = d.manifest
            accs = " ".join(f"{la['name']}:{'s' if la['accumulator']['signed'] else 'u'}{la['accumulator']['bits']}"
                            for la in m["layers"])
            print(f"{name:<30} {mode:<13} {dt:>6.2f} {len(d.sources):>5} {lines:>7} "
                  f"{m['multipliers']['total']:>6} {m['latency']:>7} {m['register_bits']['total']:>9}  {accs}")


if __name__ == "__main__":
    main()
