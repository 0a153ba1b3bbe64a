"""One equivalence proof with yosys: two module implementations, a SAT miter, induction.

Each side is read into its own yosys design (the two sides may define modules of the same
names), elaborated (parameters set if given), flattened and renamed ``gold`` / ``gate``; both are
then copied into one design and joined by ``miter -equiv``, and ``opt`` merges the logic the two
sides share (identical sub-circuits fold into one, so the SAT problem holds only what differs).
A combinational miter (no registers left) goes to ABC (``iprove``: SAT sweeping, much stronger
than plain SAT on arithmetic), or with ``engine`` "algebra" to algebraic rewriting of each output
word (encoder.verify.algebra), or with "both" to iprove for half the time and what it leaves open to
algebraic rewriting; a sequential one to ABC's ``dprove`` or, without ABC,
``sat -tempinduct -set-init-zero``:

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
from .algebra import prove_algebraic as algebraic

# Engines of a combinational pair: "sat" ABC's iprove; "algebra" algebraic rewriting of each output
# word (encoder.verify.algebra); "both" iprove for SAT_SHARE of the time, then algebra for the rest.
ENGINES = ("sat", "algebra", "both")
SAT_SHARE = 0.5


@dataclass
class Side:
    files: list[Path]
    top: str
    params: dict[str, int] = field(default_factory=dict)
    liberty: list[Path] = field(default_factory=list)   # cell functions (mapped netlists)
    cut: list[str] = field(default_factory=list)        # instances cut out (encoder.verify.netlist)
    cut_modules: list[str] = field(default_factory=list)  # every instance of these cut (encoder.verify.cutpoint)
    rejoin: list[str] = field(default_factory=list)     # words cut in the file, joined back (the same)
    cut_registers: bool = False                         # every flip-flop cut: <q>.d out, <q>.q in
    outputs: list[str] = field(default_factory=list)    # only these outputs compared (all if empty)
    netlist_name: str = ""                              # a netlist side: the module's name in netlist.v


def yosys_exe() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise UserError("yosys is not installed (make tools)")
    return exe


def _read(side: Side, name: str, formal: bool = False) -> list[str]:
    """One side elaborated, flattened and stashed as ``name`` (``formal``: its assume statements kept)."""
    lines = [f"read_liberty -ignore_miss_func {Path(lib).resolve()}" for lib in side.liberty]
    verilog = [f for f in side.files if Path(f).suffix != ".il"]
    lines += [f'read_rtlil "{Path(f).resolve()}"' for f in side.files if Path(f).suffix == ".il"]
    if verilog:
        lines.append(f"read_verilog -sv{' -formal' if formal else ''} "
                     + " ".join(f'"{Path(f).resolve()}"' for f in verilog))
    chparam = "".join(f" -chparam {k} {v}" for k, v in side.params.items())
    lines += [f"hierarchy -check -top {side.top}{chparam}", "proc"]
    for w in side.rejoin:
        # A file cut at <w> (driver out at <w>.o, readers in at <w>.i): the two become one wire again.
        # -nounset: plain -set would also undrive what <w>.i feeds by another name, leaving it x.
        lines += [f"delete -port {side.top}/w:{w}.o {side.top}/w:{w}.i", f"cd {side.top}",
                  f"connect -nounset -set \\{w}.i \\{w}.o", "cd .."]
    if side.cut:
        # The cut instances stay (keep_hierarchy); expose -evert then turns their inputs into outputs of
        # the top and their outputs into its inputs, named <instance>.<port> on both sides.
        lines += [f"setattr -set keep_hierarchy 1 {side.top}/c:{i}" for i in side.cut]
    if side.cut_modules:
        # Every instance of these modules, at any depth: the hierarchy as elaborated is written first
        # (<name>.hier.json, in yosys' working folder) so that each cut's path and parameters are known.
        kinds = " ".join(f"*/t:{m} */t:$paramod*\\{m}" for m in side.cut_modules)
        lines += [f"write_json {name}.hier.json", f"setattr -set keep_hierarchy 1 {kinds}"]
    lines += ["flatten"]
    if side.cut_registers:
        # Enables and synchronous resets become logic first, so that both sides' flip-flops are plain.
        lines += ["dffunmap", "opt_clean", f"expose -dff -evert-dff {side.top}"]
    if side.cut:
        lines += ["expose -evert " + " ".join(f"{side.top}/c:{i}" for i in side.cut)]
    if side.cut_modules:
        lines += ["expose -evert " + " ".join(f"{side.top}/t:{m} {side.top}/t:$paramod*\\{m}"
                                              for m in side.cut_modules)]
    if side.outputs:
        # The other outputs are proven elsewhere: their ports go, and opt_clean takes the logic only they used.
        keep = " ".join(f"{side.top}/w:{o}" for o in side.outputs) + " %u" * (len(side.outputs) - 1)
        lines.append(f"delete -port {side.top}/o:* {keep} %d")
    lines += ["opt_clean", f"rename {side.top} {name}", "select -clear", f"design -stash {name}"]
    return lines


def script(gold: Side, gate: Side, maxsteps: int) -> str:
    lines = _read(gold, "gold") + _read(gate, "gate") + [
        "design -copy-from gold -as gold gold",
        "design -copy-from gate -as gate gate",
        # No -ignore_gold_x: with it, techmap + opt folded a non-equivalent miter to a constant (yosys 0.23).
        "miter -equiv -flatten -make_assert gold gate miter",
        "hierarchy -top miter",
        "opt -fast -full", "dffunmap",
        f"sat -tempinduct -prove-asserts -set-init-zero -maxsteps {maxsteps} -verify miter",
    ]
    return "\n".join(lines) + "\n"


def aiger_script(gold: Side, gate: Side, aig: Path) -> str:
    lines = _read(gold, "gold") + _read(gate, "gate") + [
        "design -copy-from gold -as gold gold",
        "design -copy-from gate -as gate gate",
        "miter -equiv -flatten gold gate miter",
        "hierarchy -top miter",
        "opt -fast -full", "techmap", "opt -fast", "dffunmap",
        "setundef -zero -init",         # every register starts at 0 (else -zinit gives them free initial values)
        "aigmap",
        f"write_aiger -zinit {aig}",
    ]
    return "\n".join(lines) + "\n"


def _run(cmd: list[str], cwd: str, timeout: float) -> tuple[int | None, str]:
    """(exit code, stdout + stderr), or (None, "") when ``timeout`` ran out (the process group is killed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, ""
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc.returncode, out


def run_script(lines: list[str], name: str, tmp: Path, timeout: float, what: str) -> bool:
    """Run yosys on ``lines`` (saved as ``<name>.ys`` in ``tmp``, its working folder): False when it ran out
    of ``timeout``; a failure is a one-line UserError saying ``what`` it could not do."""
    (tmp / f"{name}.ys").write_text("\n".join(lines) + "\n")
    code, log = _run([yosys_exe(), "-q", "-s", f"{name}.ys"], str(tmp), timeout)
    if code is None:
        return False
    if code != 0:
        tail = [ln for ln in log.splitlines() if ln.strip()]
        raise UserError(f"yosys could not {what}: {(tail[-1] if tail else 'no message')[:200]}")
    return True


def _latches(aig: Path) -> int:
    header = aig.read_bytes().split(b"\n", 1)[0].split()       # aig M I L O A
    return int(header[3])


def prove(gold: Side, gate: Side, timeout: float = 120.0, maxsteps: int = 8, engine: str = "sat") -> dict:
    """{"result", "seconds", "detail"}; see the module doc for the results and the engines."""
    if engine not in ENGINES:
        raise UserError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    exe = yosys_exe()
    t0 = time.monotonic()

    def left():
        return timeout - (time.monotonic() - t0)

    def timed_out():
        return {"result": "timeout", "seconds": round(time.monotonic() - t0, 1), "detail": f"no answer in {timeout:.0f} s"}
    with tempfile.TemporaryDirectory(prefix="encoder-equiv-") as tmp:
        aig = Path(tmp) / "miter.aig"
        (Path(tmp) / "aig.ys").write_text(aiger_script(gold, gate, aig))
        code, out = _run([exe, "-q", "-s", "aig.ys"], tmp, left())
        if code is None:
            return timed_out()
        if code != 0 or not aig.is_file():
            tail = [ln for ln in out.splitlines() if ln.strip()]
            return {"result": "error", "seconds": round(time.monotonic() - t0, 1),
                    "detail": (tail[-1] if tail else "yosys failed")[:300]}
        abc = shutil.which("yosys-abc") or shutil.which("berkeley-abc")
        if abc and _latches(aig) == 0:
            code, out = None, ""
            if engine != "algebra":
                code, out = _run([abc, "-c", f"read_aiger {aig}; iprove"], tmp,
                                 left() * (SAT_SHARE if engine == "both" else 1.0))
                seconds = round(time.monotonic() - t0, 1)
                if code is not None and "UNSATISFIABLE" in out:
                    return {"result": "equivalent", "seconds": seconds, "detail": "combinational, ABC iprove"}
                if code is not None and "SATISFIABLE" in out:
                    return {"result": "not equivalent", "seconds": seconds, "detail": "combinational counterexample"}
                if engine == "sat":
                    return timed_out() if code is None else {"result": "not proven", "seconds": seconds,
                                                             "detail": "ABC iprove: undecided"}
            # SAT sweeping found too few shared points, or was not asked: rewrite both sides' words.
            try:
                r = algebraic(gold, gate, Path(tmp), left())
            except UserError as e:
                r = {"result": "not proven", "detail": f"algebraic rewriting: {e}"}
            r["seconds"] = round(time.monotonic() - t0, 1)
            if r["result"] in ("equivalent", "not equivalent") or engine == "algebra":
                return r
            why = "ABC iprove: no answer in its share of the time" if code is None else "ABC iprove: undecided"
            return {**r, "result": "timeout" if r["result"] == "timeout" else "not proven",
                    "detail": f"{why}; {r['detail']}"}
        if abc:
            # Sequential: ABC's dprove (induction with SAT sweeping, registers from zero as -zinit wrote them).
            code, out = _run([abc, "-c", f"read_aiger {aig}; dprove"], tmp, left())
            seconds = round(time.monotonic() - t0, 1)
            if code is None:
                return timed_out()
            if "Networks are equivalent" in out or "Property proved" in out:
                return {"result": "equivalent", "seconds": seconds, "detail": "sequential, ABC dprove from all-zero state"}
            if "not equivalent" in out.lower():
                return {"result": "not equivalent", "seconds": seconds, "detail": "sequential counterexample"}
            return {"result": "not proven", "seconds": seconds, "detail": "ABC dprove: undecided"}
        (Path(tmp) / "miter.ys").write_text(script(gold, gate, maxsteps))
        code, err = _run([exe, "-q", "-l", "log", "-s", "miter.ys"], tmp, left())
        if code is None:
            return timed_out()
        log = (Path(tmp) / "log").read_text(errors="replace") if (Path(tmp) / "log").is_file() else ""
        proc = subprocess.CompletedProcess([], code)
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
