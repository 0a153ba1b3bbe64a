"""`encoder verify mutate`: the mutation score of the regression on a generated design.

Each mutant is a copy of the design with one bug planted (encoder.verify.sites); the design
folder itself is never written. The regression (`encoder sim`, a short vector count, in a child
process so that a hung simulator can be stopped) runs on every mutant:

- killed: the run failed (mismatch, stale output, X/Z, wrong latency, read-back error) or hung
  (no result in ten times the unmutated run's time);
- killed by build: the simulator's build rejected the mutant (counted apart: no stimulus needed);
- equivalent: the run passed and yosys proves the mutated module equal to the original one
  (encoder.verify.equiv: a SAT miter per module, per parameter set for a primitive), or, for a
  neuron module of a constant-weight design, equal on every accumulator value the design can
  reach (encoder.verify.context: "in context", counted apart);
- survived: the run passed and no proof of equivalence was found; its site points at stimulus
  the regression lacks.

score = killed (both kinds) / (mutants - equivalent).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import atomic_dir
from ..verif.design import load_design
from . import context, equiv, sites, wires

MAX_MUTANTS = 10_000


@dataclass
class MutateOptions:
    mutants: int = 20
    seed: int = 1
    sim: str = "icarus"
    vectors: int = 300
    out: str | None = None
    force: bool = False
    build_root: str | None = None       # the unmutated design's build (cached); mutants build in OUT
    equiv_timeout: float = 120.0        # seconds per yosys proof
    keep: bool = False                  # keep every mutant's copy and run folder


def _verdict(summary: dict) -> str:
    """Why a failing run failed, most specific first."""
    if summary.get("errors"):
        return "simulator error"
    if summary.get("x_or_z_samples"):
        return "X/Z on an output"
    lat = set(summary.get("latency_seen", {}))
    if lat and lat != {str(summary.get("latency_expected"))}:
        return "latency"
    for key, what in (("mismatches", "mismatch"), ("frame_mismatches", "frame mismatch"),
                      ("stale_outputs", "stale output"), ("register_read_back_errors", "read-back"),
                      ("config_errors", "config error")):
        if summary.get(key):
            return what
    return "failed"


def _simulate(design_dir: Path, run_dir: Path, opts: MutateOptions, build_root: Path,
              timeout: float | None = None) -> tuple[str, str, float]:
    """(outcome, detail, seconds) of the regression on one design: pass, killed, build or hang.

    The runner (`encoder sim`, encoder.verif.runner.run) runs in a child process of its own: a
    mutant can hang the simulator (a loop counter turned the wrong way never ends), and only a
    process can be stopped from outside; a run past ``timeout`` counts as killed ("hang")."""
    cmd = [sys.executable, "-m", "encoder", "sim", str(design_dir), "--sim", opts.sim, "--vectors",
           str(opts.vectors), "--seed", str(opts.seed), "--out", str(run_dir), "--force",
           "--build-dir", str(build_root)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "TQDM_DISABLE": "1"})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "hang", f"no result in {timeout:.0f} s", time.monotonic() - t0
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    seconds = time.monotonic() - t0
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    if summary is None:
        text = (err.strip().splitlines() or ["encoder sim wrote no summary"])[-1]
        if "build of" in text and "failed" in text:
            return "build", text[:300], seconds
        raise UserError(f"encoder sim on {design_dir} failed: {text}")
    if proc.returncode == 0 and summary.get("status") == "pass":
        return "pass", f"{summary.get('checked', 0)} vectors checked", seconds
    return "killed", _verdict(summary), seconds


def run_mutation(design_dir: str | Path, opts: MutateOptions, log=print) -> tuple[int, dict]:
    design_dir = Path(design_dir)
    design = load_design(design_dir)
    if not 1 <= opts.mutants <= MAX_MUTANTS:
        raise UserError(f"--mutants: {opts.mutants} outside 1..{MAX_MUTANTS}")
    if not 0 <= opts.seed < 2**32:
        raise UserError(f"--seed: {opts.seed} outside 0..{2**32 - 1}")
    if design.gate_level:
        raise UserError(f"{design_dir}: a gate-level design; mutate the RTL design")
    sources = equiv.rel_sources(design)
    # Only files the top instantiates: a primitive copied but unused (enc_mul_const beside the
    # constant-weight layers' own shift-and-add) cannot change the design, every mutant of it equivalent.
    where, texts = equiv.module_index(design.dir, sources)
    live = equiv.closure(design.top, where, texts)
    found = sites.design_sites(design.dir, [s for s in sources if s in live])
    chosen = sites.choose(found, opts.mutants, opts.seed)
    out = Path(opts.out) if opts.out else design_dir.parent / f"{design_dir.name}_mutation_s{opts.seed}"
    t0 = time.monotonic()
    with atomic_dir(out, overwrite=opts.force, marker="mutation.json") as stage:
        base_root = Path(opts.build_root) if opts.build_root else stage / "build"
        log(f"encoder verify mutate: {len(found)} sites in {len(live)} files of {design.top} "
            f"({len(sources) - len(live)} not instantiated); "
            f"{len(chosen)} mutants (seed {opts.seed}), {opts.vectors} vectors each on {opts.sim}")
        outcome, detail, base_seconds = _simulate(design.dir, stage / "baseline", opts, base_root)
        # A mutant gets ten times the unmutated run (the build included) before it counts as hung.
        hang_after = max(120.0, 10 * base_seconds)
        if outcome != "pass":
            raise UserError(f"{design_dir}: the unmutated design fails its own regression ({detail}); "
                            "a mutation score would mean nothing")
        if not opts.keep:
            shutil.rmtree(stage / "baseline", ignore_errors=True)
        rows = []
        ranges = context.neuron_ranges(design.dir, design.top) if design.weights == "constant" else {}
        prims = [s for s in sources if Path(s).name.startswith("enc_")]
        for i, site in enumerate(chosen):
            mdir = stage / "mutants" / f"m{i:03d}"
            copy = mdir / "design"
            shutil.copytree(design.dir, copy)
            sites.plant(copy, site)
            t = time.monotonic()
            outcome, detail, _ = _simulate(copy, mdir / "run", opts, mdir / "build", timeout=hang_after)
            row = {"id": i, "site": site.to_json(), "where": site.describe()}
            if outcome == "hang":
                row.update(status="killed", detail=f"hang ({detail})")
            elif outcome == "build":
                row.update(status="killed_by_build", detail=detail)
            elif outcome == "killed":
                row.update(status="killed", detail=detail)
            else:
                proof = equiv.prove_mutant(design.dir, copy, site, sources, timeout=opts.equiv_timeout)
                if proof["result"] != "equivalent" and not site.primitive and site.module in ranges:
                    line = (design.dir / site.file).read_text().splitlines()[site.line - 1]
                    proof["in_context"] = context.prove_in_context(design.dir, copy, site.file, site.module, prims,
                                                                   ranges, timeout=opts.equiv_timeout,
                                                                   wire=wires.defined_wire(line))
                    if proof["in_context"]["result"] == "equivalent":
                        proof.update(result="equivalent", detail=proof["in_context"]["detail"])
                row.update(status="equivalent" if proof["result"] == "equivalent" else "survived",
                           detail=detail, proof=proof)
            row["seconds"] = round(time.monotonic() - t, 1)
            rows.append(row)
            proof = ""
            if "proof" in row:
                ctx = row["proof"].get("in_context")
                proof = f"; yosys: {row['proof']['result']}" + (f" (in context: {ctx['result']})" if ctx else "")
            log(f"  m{i:03d} {row['status']:<16} {site.describe()}  [{row.get('detail', '')}{proof}]")
            if not opts.keep:
                shutil.rmtree(mdir)
        report = summarise(rows)
        report.update(design=str(design.dir.resolve()), top=design.top, weights=design.weights,
                      simulator=opts.sim, vectors=opts.vectors, seed=opts.seed, sites=len(found),
                      files_mutated_from=len(live), files_not_instantiated=sorted(set(sources) - set(live)),
                      sites_by_kind={k: sum(s.kind == k for s in found) for k in sites.KINDS},
                      seconds=round(time.monotonic() - t0, 1), mutants_detail=rows)
        (stage / "mutation.json").write_text(json.dumps(report, indent=1) + "\n")
        (stage / "mutation.txt").write_text(table(report) + "\n")
    for line in table(report).splitlines():
        log(line)
    log(f"encoder verify mutate: wrote {out / 'mutation.json'}")
    return 0, report


def summarise(rows: list[dict]) -> dict:
    def counts(rs):
        c = {k: sum(r["status"] == k for r in rs) for k in ("killed", "killed_by_build", "survived", "equivalent")}
        c["mutants"] = len(rs)
        c["equivalent_in_context"] = sum(r["status"] == "equivalent" and "in_context" in r.get("proof", {})
                                         for r in rs)
        live = len(rs) - c["equivalent"]
        c["score"] = round((c["killed"] + c["killed_by_build"]) / live, 4) if live else None
        return c
    by_kind = {k: counts([r for r in rows if r["site"]["kind"] == k]) for k in sites.KINDS}
    by_group = {g: counts([r for r in rows if r["site"]["primitive"] == (g == "primitives")])
                for g in ("generated", "primitives")}
    return {**counts(rows), "by_kind": by_kind, "by_group": by_group,
            "survivors": [r["where"] for r in rows if r["status"] == "survived"]}


def table(report: dict) -> str:
    head = f"{'kind':<12}{'mutants':>8}{'killed':>8}{'by build':>9}{'survived':>9}{'equiv':>7}{'score':>8}"
    lines = [head, "-" * len(head)]

    def row(name, c):
        score = f"{100 * c['score']:.1f}%" if c["score"] is not None else "n/a"
        return (f"{name:<12}{c['mutants']:>8}{c['killed']:>8}{c['killed_by_build']:>9}{c['survived']:>9}"
                f"{c['equivalent']:>7}{score:>8}")
    for kind, c in report["by_kind"].items():
        if c["mutants"]:
            lines.append(row(kind, c))
    for group, c in report["by_group"].items():
        if c["mutants"]:
            lines.append(row(group, c))
    lines.append(row("total", report))
    if report.get("equivalent_in_context"):
        lines.append(f"equivalent in context (accumulator within its reach, encoder.verify.context): "
                     f"{report['equivalent_in_context']}")
    for s in report["survivors"]:
        lines.append(f"survived: {s}")
    return "\n".join(lines)
