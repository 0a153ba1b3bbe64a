"""One equivalence proof with yosys: two module implementations, a SAT miter, induction.

Each side is read into its own yosys design (the two sides may define modules of the same
names), elaborated (parameters set if given), flattened and renamed ``gold`` / ``gate``; both are
then copied into one design and joined by ``miter -equiv``, and ``opt`` merges the logic the two
sides share (identical sub-circuits fold into one, so the SAT problem holds only what differs).
``sat -tempinduct -set-init-zero`` then proves the miter's assertion:

- ``equivalent``: the induction step succeeded: the outputs are equal in every cycle from the
  all-zero register state (for a combinational pair: for every input);
- ``not equivalent``: the base case found input values (a sequence, if sequential) on which the
  outputs differ: a counterexample, not a missing proof;
- ``not proven``: neither within ``maxsteps`` time steps (yosys' message is kept);
- ``timeout``: yosys ran out of ``timeout`` seconds; ``error``: yosys could not build the miter.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError


@dataclass
class Side:
    files: list[Path]
    top: str
    params: dict[str, int] = field(default_factory=dict)
    liberty: list[Path] = field(default_factory=list)   # cell functions (mapped netlists)


def yosys_exe() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise UserError("yosys is not installed (make tools)")
    return exe


def _read(side: Side, name: str) -> list[str]:
    lines = [f"read_liberty -ignore_miss_func {Path(lib).resolve()}" for lib in side.liberty]
    lines.append("read_verilog -sv " + " ".join(f'"{Path(f).resolve()}"' for f in side.files))
    chparam = "".join(f" -chparam {k} {v}" for k, v in side.params.items())
    lines += [f"hierarchy -check -top {side.top}{chparam}", "proc", "flatten", "opt_clean",
              f"rename {side.top} {name}", "select -clear", f"design -stash {name}"]
    return lines


def script(gold: Side, gate: Side, maxsteps: int) -> str:
    lines = _read(gold, "gold") + _read(gate, "gate") + [
        "design -copy-from gold -as gold gold",
        "design -copy-from gate -as gate gate",
        "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter",
        "hierarchy -top miter",
        "opt -fast -full",
        f"sat -tempinduct -prove-asserts -set-init-zero -maxsteps {maxsteps} -verify miter",
    ]
    return "\n".join(lines) + "\n"


def prove(gold: Side, gate: Side, timeout: float = 120.0, maxsteps: int = 8) -> dict:
    """{"result", "seconds", "detail"}; see the module doc for the results."""
    exe = yosys_exe()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="encoder-equiv-") as tmp:
        ys = Path(tmp) / "miter.ys"
        ys.write_text(script(gold, gate, maxsteps))
        proc = subprocess.Popen([exe, "-q", "-l", str(Path(tmp) / "log"), "-s", str(ys)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                cwd=tmp, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"result": "timeout", "seconds": round(time.monotonic() - t0, 1),
                    "detail": f"no answer in {timeout:g} s"}
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        log = (Path(tmp) / "log").read_text(errors="replace") if (Path(tmp) / "log").is_file() else ""
    seconds = round(time.monotonic() - t0, 1)
    if "Induction step proven: SUCCESS!" in log and proc.returncode == 0:
        return {"result": "equivalent", "seconds": seconds, "detail": "induction proven"}
    if "proof did fail" in (err + log):
        if "Reached maximum number of time steps" in log:
            return {"result": "not proven", "seconds": seconds,
                    "detail": f"no counterexample and no induction proof in {maxsteps} steps"}
        failed_at = [ln for ln in log.splitlines() if "failed" in ln.lower() and "induction" not in ln.lower()]
        return {"result": "not equivalent", "seconds": seconds,
                "detail": (failed_at[-1].strip() if failed_at else "base case counterexample")[:200]}
    tail = [ln for ln in (err or log).splitlines() if ln.strip()]
    return {"result": "error", "seconds": seconds, "detail": (tail[-1] if tail else "yosys failed")[:300]}
