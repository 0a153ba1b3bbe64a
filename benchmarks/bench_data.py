"""Data-path throughput on one core: synthetic generation and CSV import.

Prints the time to generate 1,000,000 synthetic modules, to write them as a
.npz, and to import a 1,000,000-row ECON-T CSV made from them (integer
charges at 35 units per MIP, as in the CMS file; the plain-integer fast
reader) and the same rows written with decimals (NumPy's general reader).
Targets: generation and integer import each under 30 s.

    .venv/bin/python benchmarks/bench_data.py [--modules N] [--skip-decimal]
"""

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from encoder import geometry  # noqa: E402
from encoder.data import save_data  # noqa: E402
from encoder.data.csv_import import import_csv  # noqa: E402
from encoder.data.summary import occupancy  # noqa: E402
from encoder.data.synth import synthesize  # noqa: E402

UNITS_PER_MIP = 35


def write_csv(path: Path, values: np.ndarray, fmt) -> None:
    header = ",".join(f"CALQ_{i}" for i in range(values.shape[1]))
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for start in range(0, len(values), 50_000):
            rows = values[start:start + 50_000].tolist()
            fh.write("\n".join(",".join(map(fmt, r)) for r in rows) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", type=int, default=1_000_000)
    ap.add_argument("--skip-decimal", action="store_true", help="skip the decimal-CSV import")
    args = ap.parse_args()
    n = args.modules
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
          f"one thread; numpy {np.__version__}")

    t = time.perf_counter()
    data = synthesize(n, seed=1, geometry=geometry.load("hgcal"))
    t_synth = time.perf_counter() - t
    occ = occupancy(data.charges)
    print(f"synth {n:,} modules: {t_synth:.1f} s ({n / t_synth:,.0f} modules/s); "
          f"occupancy median {np.median(occ):g}, mean {occ.mean():.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        save_data(tmp / "synth.npz", data)
        t_save = time.perf_counter() - t
        size = (tmp / "synth.npz").stat().st_size / 1e6
        print(f"write .npz: {t_save:.1f} s ({size:.0f} MB compressed)")

        ints = np.rint(data.charges * UNITS_PER_MIP).astype(np.int64)
        csv_int = tmp / "calq_int.csv"
        write_csv(csv_int, ints, str)
        mb = csv_int.stat().st_size / 1e6
        t = time.perf_counter()
        res = import_csv(csv_int, units_per_mip=UNITS_PER_MIP)
        t_int = time.perf_counter() - t
        assert res.data.n_modules == n and np.allclose(res.data.charges, ints / UNITS_PER_MIP, rtol=1e-15, atol=0)
        print(f"import {n:,}-row integer CSV ({mb:.0f} MB): {t_int:.1f} s ({n / t_int:,.0f} rows/s)")
        csv_int.unlink()

        if not args.skip_decimal:
            csv_dec = tmp / "calq_dec.csv"
            write_csv(csv_dec, np.round(data.charges, 3), repr)
            mb = csv_dec.stat().st_size / 1e6
            t = time.perf_counter()
            res = import_csv(csv_dec)
            t_dec = time.perf_counter() - t
            assert res.data.n_modules == n
            print(f"import {n:,}-row decimal CSV ({mb:.0f} MB): {t_dec:.1f} s ({n / t_dec:,.0f} rows/s)")


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_data"))
