"""`make signoff`: coverage, mutation score and formal equivalence on one preset, both weight modes, one table.

    python -m encoder.verify.signoff --out out/signoff [--preset econt_8x8] [--mutants 40]

Designs: the preset's config with seeded random weights (encoder.verif.presets), generated with
constant and programmable weights at --pipeline 0, plus --pipeline 2 of each for the
pipeline equivalence, and optionally (--netlist) the constant design mapped to SKY130 HD for
the RTL-against-netlist proof. Coverage comes from `encoder sim DIR --coverage`; its summary
keys are read defensively (``n/a`` when this build of the kit has no coverage or the key is
absent). Every step's JSON lands in OUT; the table is printed and written to OUT/signoff.txt.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_N = 2


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def _encoder(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "encoder", *args], capture_output=True, text=True)


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def coverage(design: Path, out: Path, vectors: int, sim: str) -> dict:
    """The coverage keys of `encoder sim --coverage` (None where absent), and why when the run gave none."""
    run = out / f"coverage_{design.name}"
    p = _encoder("sim", str(design), "--coverage", "--sim", sim, "--vectors", str(vectors), "--out", str(run),
                 "--force")
    summary = {}
    if (run / "summary.json").is_file():
        summary = json.loads((run / "summary.json").read_text())
    cov = {"hit": _get(summary, "coverage", "functional", "hit"), "total": _get(summary, "coverage", "functional", "total"),
           "line_pct": _get(summary, "coverage", "code", "line_pct"),
           "toggle_pct": _get(summary, "coverage", "code", "toggle_pct"), "status": summary.get("status")}
    if p.returncode != 0 and not summary:
        cov["note"] = (p.stderr.strip().splitlines() or ["encoder sim --coverage failed"])[-1][:200]
    return cov


def _generate(ir_path: Path, weights: str, pipeline: int, dest: Path) -> Path:
    from ..rtl_gen.design import generate_from_file, write_design
    if not (dest / "manifest.json").is_file():
        write_design(generate_from_file(ir_path, weights, pipeline=pipeline), dest)
    return dest


def _fmt_pct(x) -> str:
    return "n/a" if x is None else f"{x:.1f} %"


def table(preset: str, results: dict, commit: str) -> str:
    modes = ("constant", "programmable")
    rows = []

    def row(check, *cells):
        rows.append((check, *cells))
    for m in modes:
        results.setdefault(m, {})
    cov = {m: results[m].get("coverage", {}) for m in modes}
    row("functional coverage (bins hit)", *(f"{c['hit']}/{c['total']}" if c.get("hit") is not None
                                             and c.get("total") else "n/a" for c in cov.values()))
    row("line coverage", *(_fmt_pct(c.get("line_pct")) for c in cov.values()))
    row("toggle coverage", *(_fmt_pct(c.get("toggle_pct")) for c in cov.values()))
    mut = {m: results[m].get("mutation") for m in modes}
    row("mutants", *(str(r["mutants"]) if r else "n/a" for r in mut.values()))
    row("  killed (simulation)", *(str(r["killed"]) if r else "n/a" for r in mut.values()))
    row("  killed by build", *(str(r["killed_by_build"]) if r else "n/a" for r in mut.values()))
    row("  equivalent (proven)", *(str(r["equivalent"]) if r else "n/a" for r in mut.values()))
    row("    of them in context", *(str(r.get("equivalent_in_context", 0)) if r else "n/a" for r in mut.values()))
    row("  survived", *(str(r["survived"]) if r else "n/a" for r in mut.values()))
    row("mutation score", *(_fmt_pct(100 * r["score"]) if r and r["score"] is not None else "n/a"
                             for r in mut.values()))
    tied = results.get("equiv_tied", {}).get("modules", [])
    for t in tied:
        name = t["module"].rsplit("_", 1)[-1] if not t["module"].endswith("input_path") else "input_path"
        row(f"equiv const = prog tied: {name}", f"{t['result']} ({t['seconds']} s)", "(same proof)")
    piped: dict[str, list[str]] = {}              # one row per module, a cell per weight mode
    for m in modes:
        for t in results[m].get("equiv_pipeline", {}).get("modules", []):
            name = t["module"].rsplit("_", 1)[-1] if not t["module"].endswith("input_path") else "input_path"
            if t.get("compared", "").startswith("tops"):
                name = "top, latency accounted for"
            piped.setdefault(name, ["", ""])[modes.index(m)] = f"{t['result']} ({t['seconds']} s)"
    for name, cells in piped.items():
        row(f"equiv pipeline 0 = {PIPELINE_N}: {name}", *cells)
    netlist = results.get("equiv_netlist", {}).get("modules", [])
    if netlist:
        # One netlist module per generated module and primitive parameter set: counts, then the top.
        counts = {}
        for t in netlist:
            counts[t["result"]] = counts.get(t["result"], 0) + 1
        # A primitive set from its parent's parameters is proven inside the parent: one proof, two modules.
        modules = sum(1 + len(t.get("inside", [])) for t in netlist)
        proofs = "" if modules == len(netlist) else f" in {len(netlist)} proofs"
        row(f"equiv RTL = SKY130 netlist ({modules} modules{proofs})",
            ", ".join(f"{n} {r}" for r, n in sorted(counts.items())), "not run")
        top = netlist[0]
        row("equiv RTL = SKY130 netlist: top", f"{top['result']} ({top['seconds']} s)", "not run")
    w = max(len(r[0]) for r in rows) + 2
    c = max(max(len(x) for x in r[1:]) for r in rows) + 2
    head = f"sign-off: {preset} (seeded random weights), commit {commit}"
    lines = [head, f"{'check':<{w}}{'constant':<{c}}{'programmable':<{c}}", "-" * (w + 2 * c)]
    lines += [f"{r[0]:<{w}}{r[1]:<{c}}{r[2]:<{c}}" for r in rows]
    for m in modes:
        for s in (results[m].get("mutation") or {}).get("survivors", []):
            lines.append(f"survivor ({m}): {s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="signoff", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/signoff")
    ap.add_argument("--preset", default="econt_8x8")
    ap.add_argument("--seed", type=int, default=11, help="weights and mutation seed")
    ap.add_argument("--mutants", type=int, default=40, help="mutants per weight mode")
    ap.add_argument("--vectors", type=int, default=300, help="vectors per mutant")
    ap.add_argument("--coverage-vectors", type=int, default=2000)
    ap.add_argument("--sim", default="icarus")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per equivalence proof")
    ap.add_argument("--netlist", action="store_true", help="also map the constant design to SKY130 HD and prove it")
    ap.add_argument("--skip", default="", help="comma-separated steps to skip: coverage, mutation, equiv")
    args = ap.parse_args(argv)

    from ..ir import save_ir
    from ..verif.presets import preset_ir
    from .equiv import compare
    from .mutate import MutateOptions, run_mutation

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    t0 = time.monotonic()
    ir_path = out / "ir.json"
    save_ir(preset_ir(ROOT / "configs" / f"{args.preset}.yaml", seed=args.seed), ir_path)
    results: dict = {"preset": args.preset, "seed": args.seed, "commit": _git_commit()}
    designs = {m: _generate(ir_path, m, 0, out / f"rtl_{m}") for m in ("constant", "programmable")}

    def save():                     # after every step: a long run killed midway keeps what it measured
        (out / "signoff.json").write_text(json.dumps(results, indent=1) + "\n")
    for m, d in designs.items():
        results[m] = {}
        if "coverage" not in skip:
            print(f"signoff: coverage of {d}", flush=True)
            results[m]["coverage"] = coverage(d, out, args.coverage_vectors, args.sim)
            save()
        if "mutation" not in skip:
            print(f"signoff: {args.mutants} mutants of {d}", flush=True)
            opts = MutateOptions(mutants=args.mutants, seed=args.seed, sim=args.sim, vectors=args.vectors,
                                 out=str(out / f"mutation_{m}"), force=True)
            _, rep = run_mutation(d, opts)
            results[m]["mutation"] = {k: v for k, v in rep.items() if k != "mutants_detail"}
            save()
    if "equiv" not in skip:
        for m, d in designs.items():
            piped = _generate(ir_path, m, PIPELINE_N, out / f"rtl_{m}_p{PIPELINE_N}")
            print(f"signoff: equivalence of {d} and {piped}", flush=True)
            results[m]["equiv_pipeline"] = compare(d, piped, timeout=args.timeout)
            save()
        print("signoff: equivalence of the constant design and the programmable one with its weights tied", flush=True)
        results["equiv_tied"] = compare(designs["constant"], designs["programmable"], timeout=args.timeout)
        save()
        if args.netlist:
            synth = out / "synth_constant"
            if not (synth / "netlist.v").is_file():
                p = _encoder("synth", str(designs["constant"]), "--liberty", "sky130hd", "--out", str(synth), "--force")
                if p.returncode != 0:
                    print(f"signoff: encoder synth failed: {p.stderr.strip()[-300:]}", flush=True)
            if (synth / "netlist.v").is_file():
                results["equiv_netlist"] = compare(designs["constant"], synth, timeout=args.timeout)
    results["seconds"] = round(time.monotonic() - t0, 1)
    save()
    text = table(args.preset, results, results["commit"])
    (out / "signoff.txt").write_text(text + "\n")
    print(text)
    print(f"signoff: {results['seconds']} s; wrote {out / 'signoff.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
