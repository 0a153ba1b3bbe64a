"""Simulator builds through the cocotb runner, cached by design content.

A build lives in BUILD_ROOT/<top>-<simulator>-<key>/ where the key hashes
the Verilog sources, the simulator and its version, the build options and
the cocotb version; a finished build holds build.json and is reused by any
later run or test of the same design (several shards share one build). A
lock file keeps two processes from building the same thing at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError
from . import toolchain
from .design import Design

TIMESCALE = ("1ns", "1ps")


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_key(design: Design, sim: toolchain.Simulator, waves: bool, opt: str) -> str:
    import cocotb
    h = hashlib.sha256()
    public, make = "", ""
    if sim.name == "verilator":
        public = " ".join(toolchain.VERILATOR_PUBLIC)
        make = json.dumps({**sim.make_vars, **toolchain.MODEL_OPT[opt]}, sort_keys=True)
    # A gate-level build's sources are the netlist and cell models: their hash keys it apart from RTL.
    level = "gates" if design.gate_level else "rtl"
    args = " ".join(toolchain.build_args(sim, bool(design.gate_level)))
    for part in (level, design.content_hash(), sim.tag, str(waves), args, public, make,
                 cocotb.__version__, "x".join(TIMESCALE)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def build(design: Design, sim: toolchain.Simulator, build_root: str | Path, waves: bool = False,
          opt: str = "fast-sim", quiet: bool = True) -> tuple[Path, dict]:
    """Build (or reuse) the simulation of ``design``; returns (build dir, build info).

    ``opt`` ("fast-sim" or "fast-build") only matters for Verilator.
    """
    root = Path(build_root).resolve()
    key = build_key(design, sim, waves, opt)
    bdir = root / f"{design.top}-{'gates-' if design.gate_level else ''}{sim.name}-{key}"
    stamp = bdir / "build.json"
    with _locked(root / f".{bdir.name}.lock"):
        if stamp.is_file():
            info = json.loads(stamp.read_text())
            info["reused"] = True
            return bdir, info
        bdir.mkdir(parents=True, exist_ok=True)
        log = bdir / "build.log"
        t0 = time.monotonic()
        runner = toolchain.get_runner(sim, opt)
        try:
            with toolchain.build_environment(sim, objcache_dir=root / "verilator-objcache"):
                runner.build(sources=[str(s) for s in design.sources], hdl_toplevel=design.top,
                             build_dir=str(bdir), build_args=toolchain.build_args(sim, bool(design.gate_level)),
                             timescale=TIMESCALE,
                             waves=waves, always=True, log_file=str(log) if quiet else None)
        except KeyboardInterrupt:
            shutil.rmtree(bdir, ignore_errors=True)        # an interrupted build leaves nothing behind
            raise
        except (RuntimeError, SystemExit, ValueError) as exc:
            tail = ""
            if log.is_file():
                lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
                errs = [ln for ln in lines if "rror" in ln]
                tail = (errs or lines or [""])[0][:300]
            raise UserError(f"{sim.name} build of {design.top} failed ({exc}); log: {log}"
                            + (f": {tail}" if tail else "")) from None
        info = {"simulator": sim.name, "version": sim.version, "executable": sim.executable,
                "top": design.top, "key": key, "opt": opt,
                "sources": [str(s) for s in design.sources], "waves": waves,
                "level": "gates" if design.gate_level else "rtl",
                "seconds": round(time.monotonic() - t0, 2)}
        stamp.write_text(json.dumps(info, indent=1))
        info["reused"] = False
        return bdir, info
