#!/usr/bin/env python3
"""Fault campaign: bad inputs, collisions and interrupts against the `encoder` CLI.

Usage: python tools/fault_campaign.py [--keep DIR] [--only SUBSTRING] [-v]

Every case runs the real command line in a scratch folder and is sorted
into a class:

  A  a one-line error naming the problem, a non-zero exit, nothing written
     (for warning cases: a one-line warning and the work done; for
     interrupts: stopped within seconds, exit 128 + signal, nothing left)
  B  an error with a Python traceback, a message that misses the point, or
     a command that does not stop
  C  silently wrong or accepted: exit 0 on bad input, a half-written or
     leftover output
  D  an existing output or input damaged

It prints one line per case that is not A, then the class counts; the exit
code is 1 unless every case is in class A. Runs in about five minutes on
two cores (Icarus Verilog needed for the simulation cases).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fault_cases import ECONT, INIT, ROOT, Case, cases, setup  # tools/ is on sys.path when run as a script

STOP_SECONDS = 10.0


# -- running the CLI ------------------------------------------------------------------

def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ENCODER_SIM_BUILD": str(Path(W) / "simbuild")}


def encoder(args, cwd, timeout=600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "encoder", *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones included) with a content digest."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if rel.startswith("simbuild"):          # the simulator build cache is the kit's own
            continue
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else "dir"
    return out


@dataclass
class Result:
    case: str
    cls: str
    why: str = ""


W = ""      # the campaign's scratch root


def classify_run(case: Case, cwd: Path) -> Result:
    if case.prepare:
        case.prepare(cwd)
    before = snapshot(cwd)
    protected = {p: (cwd / p).read_bytes() for p in case.protect if (cwd / p).is_file()}
    try:
        r = encoder(case.args, cwd, timeout=300)
    except subprocess.TimeoutExpired:
        return Result(case.name, "B", "did not finish within 300 s")
    after = snapshot(cwd)
    for p, data in protected.items():
        if not (cwd / p).is_file() or (cwd / p).read_bytes() != data:
            return Result(case.name, "D", f"{p} changed")
    changed = sorted(set(after.items()) - set(before.items()))
    err = r.stderr.strip()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if case.expect == "warn":
        warns = [ln for ln in lines if "warning" in ln]
        if r.returncode != 0:
            return Result(case.name, "B", f"exit {r.returncode}: {err[-200:]}")
        if not warns or (case.needle and case.needle not in warns[0]):
            return Result(case.name, "C", "no warning")
        return Result(case.name, "A")
    if r.returncode == 0:
        return Result(case.name, "C", f"accepted (exit 0); stdout {r.stdout.strip()[:120]!r}")
    if "Traceback" in err or len(lines) != 1:
        return Result(case.name, "B", f"{len(lines)} lines: {err[-300:]!r}")
    if case.needle and case.needle not in err:
        return Result(case.name, "B", f"message lacks {case.needle!r}: {err!r}")
    if changed:
        return Result(case.name, "C", f"wrote {[c[0] for c in changed][:4]}")
    return Result(case.name, "A")


# -- interrupts, kills, races and permissions ------------------------------------------

def handlers_installed(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def start(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "encoder", *map(str, args)], cwd=cwd, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def wait_until(cond, seconds) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def ancestors() -> set[int]:
    """This process and its parents (their command lines may name the scratch folder too)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def interrupt_case(name, args, sig, group, ready, cwd: Path) -> Result:
    before = snapshot(cwd)
    p = start(args, cwd)
    wait_until(lambda: p.poll() is not None or handlers_installed(p.pid), 60)
    wait_until(lambda: p.poll() is not None or ready(cwd), 120)
    if p.poll() is not None:
        return Result(name, "B", f"finished (exit {p.returncode}) before the interrupt")
    if group:
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return Result(name, "B", f"still running {STOP_SECONDS:.0f} s after {signal.Signals(sig).name}")
    left = sorted(set(snapshot(cwd)) - set(before))
    time.sleep(0.5)
    survivors = [q for q in subprocess.run(["pgrep", "-f", W], capture_output=True, text=True).stdout.split()
                 if int(q) not in ancestors()]
    builds = Path(W) / "simbuild"
    half_built = [d.name for d in builds.glob("*-*-*") if d.is_dir() and not (d / "build.json").is_file()]
    if p.returncode != 128 + sig or "Traceback" in err:
        return Result(name, "B", f"exit {p.returncode}: {err.strip()[-200:]!r}")
    if left or survivors or half_built:
        return Result(name, "C", f"left {left[:4]} processes {survivors} unfinished builds {half_built}")
    return Result(name, "A")


def kill9_rtl_case(cwd: Path) -> Result:
    """kill -9 during rtl --force, at several moments: the design is always the old or the new one, whole."""
    name = "kill -9 during rtl --force"
    for delay in (0.4, 0.8, 1.2, 1.6):
        p = start(["rtl", "ir.json", "--out", "design", "--force", "--weights", "constant"], cwd)
        time.sleep(delay)
        p.kill()
        p.wait()
        m = cwd / "design" / "manifest.json"
        if not m.is_file():
            return Result(name, "D", f"no manifest.json after a kill at {delay} s")
        sources = json.loads(m.read_text())["sources"]
        missing = [s for s in sources if not (cwd / "design" / s).is_file()]
        if missing:
            return Result(name, "D", f"{len(missing)} of {len(sources)} files missing")
    r = encoder(["rtl", "ir.json", "--out", "design", "--force"], cwd)
    hidden = [q.name for q in cwd.iterdir() if q.name.startswith(".design.")]
    if r.returncode != 0 or hidden:
        return Result(name, "C", f"rerun exit {r.returncode}, leftovers {hidden}")
    return Result(name, "A")


def kill9_synth_case(cwd: Path) -> Result:
    name = "kill -9 during data synth, then a rerun"
    p = start(["data", "synth", "--modules", "400000", "--seed", "1", "--out", "k.npz"], cwd)
    wait_until(lambda: p.poll() is not None or any(q.name.startswith(".k.npz.") and "-new-" in q.name
                                                   for q in cwd.iterdir()), 120)
    p.kill()
    p.wait()
    r = encoder(["data", "synth", "--modules", "50", "--seed", "1", "--out", "k.npz", "--force"], cwd)
    hidden = [q.name for q in cwd.iterdir() if q.name.startswith(".k.npz.")]
    if r.returncode != 0 or hidden:
        return Result(name, "C", f"rerun exit {r.returncode}, leftovers {hidden}")
    return Result(name, "A")


def race_case(cwd: Path) -> Result:
    """Two sims with the same --out, no --force: one result, one refusal; never two 'wrote' lines."""
    name = "two sims, one --out"
    args = ["sim", "verif/tiny", "--vectors", "3000", "--out", "race"]
    encoder(["sim", "verif/tiny", "--vectors", "10", "--out", "warm"], cwd)       # build once
    a, b = start(args, cwd), start(args, cwd)
    ea, eb = a.communicate(timeout=600)[1], b.communicate(timeout=600)[1]
    codes = sorted([a.returncode, b.returncode])
    if codes == [0, 0]:
        return Result(name, "C", "both exited 0")
    if codes[0] != 0 or codes[1] == 0:
        return Result(name, "B", f"exits {codes}: {ea[-150:]!r} {eb[-150:]!r}")
    loser = eb if b.returncode else ea
    lines = [ln for ln in loser.strip().splitlines() if ln.strip()]
    if len(lines) != 1 or "Traceback" in loser:
        return Result(name, "B", f"refusal was {loser[-200:]!r}")
    return Result(name, "A")


def umask_case(cwd: Path) -> Result:
    name = "umask 002 honoured"
    old = os.umask(0o002)
    try:
        r = encoder(["econt", "import", INIT, "--out", "um.json"], cwd)
        r2 = encoder(["rtl", "ir.json", "--out", "um_design"], cwd)
    finally:
        os.umask(old)
    if r.returncode or r2.returncode:
        return Result(name, "B", r.stderr + r2.stderr)
    modes = ((cwd / "um.json").stat().st_mode & 0o777, (cwd / "um_design").stat().st_mode & 0o777)
    if modes != (0o664, 0o775):
        return Result(name, "C", f"modes {oct(modes[0])} {oct(modes[1])}")
    return Result(name, "A")


def run(args) -> int:
    global W
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="fault-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    W = str(root)
    work = root / "work"
    if not (work / "ir.json").is_file():
        work.mkdir(exist_ok=True)
        setup(work, encoder)
    results: list[Result] = []

    def show(r: Result):
        results.append(r)
        if r.cls != "A" or args.verbose:
            print(f"  {r.cls}  {r.case}: {r.why}" if r.why else f"  {r.cls}  {r.case}", flush=True)

    t0 = time.monotonic()
    for case in cases():
        if args.only and args.only not in case.name:
            continue
        show(classify_run(case, work))
    special = [
        ("interrupt synth SIGINT (terminal)", lambda: interrupt_case(
            "interrupt synth SIGINT (terminal)", ["data", "synth", "--modules", "3000000", "--seed", "1", "--out",
                                                  "i.npz"], signal.SIGINT, True, lambda w: time.sleep(1) or True, work)),
        ("interrupt synth SIGTERM", lambda: interrupt_case(
            "interrupt synth SIGTERM", ["data", "synth", "--modules", "3000000", "--seed", "1", "--out", "i.npz"],
            signal.SIGTERM, False, lambda w: time.sleep(1) or True, work)),
        ("interrupt golden SIGTERM", lambda: interrupt_case(
            "interrupt golden SIGTERM", ["golden", "ir.json", "--data", "d.npz", "--out", "ig.npz"],
            signal.SIGTERM, False, lambda w: True, work)),
        ("interrupt rtl constant SIGTERM", lambda: interrupt_case(
            "interrupt rtl constant SIGTERM", ["rtl", "ir.json", "--out", "ir_design", "--weights", "constant"],
            signal.SIGTERM, False, lambda w: True, work)),
    ]
    if shutil.which("iverilog"):
        def shards(w):
            return any((p / "progress").is_file() for p in w.glob(".isim.*/shards/*"))
        special += [
            ("interrupt Icarus sim SIGINT (terminal)", lambda: interrupt_case(
                "interrupt Icarus sim SIGINT (terminal)", ["sim", "design", "--vectors", "5000", "--jobs", "2",
                                                           "--out", "isim"], signal.SIGINT, True, shards, work)),
            ("interrupt Icarus sim SIGTERM", lambda: interrupt_case(
                "interrupt Icarus sim SIGTERM", ["sim", "design", "--vectors", "5000", "--jobs", "2", "--out", "isim"],
                signal.SIGTERM, False, shards, work)),
            ("interrupt Icarus sim SIGINT to the command only", lambda: interrupt_case(
                "interrupt Icarus sim SIGINT to the command only", ["sim", "design", "--vectors", "5000", "--jobs",
                                                                    "2", "--out", "isim"],
                signal.SIGINT, False, shards, work)),
            ("interrupt check-rtl SIGTERM", lambda: interrupt_case(
                "interrupt check-rtl SIGTERM", ["econt", "check-rtl", "--config", INIT, "--input",
                                                ECONT / "testInput.csv", "--expected", ECONT / "AE" / "testOutput.csv",
                                                "--out", "chk"], signal.SIGTERM, False,
                lambda w: any(w.glob(".chk.*/build/*.vvp")) or any(w.glob(".chk.*/build/sim.log")), work)),
            ("two sims, one --out", lambda: race_case(work)),
        ]
    if shutil.which("yosys"):
        special.append(("interrupt synth (yosys) SIGTERM", lambda: interrupt_case(
            "interrupt synth (yosys) SIGTERM", ["synth", "design", "--out", "isyn"], signal.SIGTERM, False,
            lambda w: time.sleep(3) or True, work)))
    special.append(("interrupt Verilator build SIGINT (terminal)", lambda: interrupt_case(
        "interrupt Verilator build SIGINT (terminal)", ["sim", "design", "--sim", "verilator", "--vectors", "10",
                                                        "--out", "vsim"], signal.SIGINT, True,
        lambda w: time.sleep(8) or True, work)))
    special += [("kill -9 during rtl --force", lambda: kill9_rtl_case(work)),
                ("kill -9 during data synth, then a rerun", lambda: kill9_synth_case(work)),
                ("umask 002 honoured", lambda: umask_case(work))]
    for name, fn in special:
        if args.only and args.only not in name:
            continue
        show(fn())
    counts = {k: sum(r.cls == k for r in results) for k in "ABCD"}
    print(f"fault campaign: {len(results)} cases in {time.monotonic() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    subprocess.run(["chattr", "-i", str(work / "imm")], capture_output=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if counts["A"] == len(results) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    ap.add_argument("--only", metavar="TEXT", help="only the cases whose name contains TEXT")
    ap.add_argument("-v", "--verbose", action="store_true", help="print class-A cases too")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
