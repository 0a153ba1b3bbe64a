"""`encoder sim`: build once, split the vectors into shards, simulate them in parallel, report.

Each shard is one simulator process running the cocotb testbench on its own
plan; the shards share one build. The run directory receives the shard
folders (plan, simulator log, cocotb results, shard result), summary.json,
results.xml (JUnit) and, when something failed, failures.json for
``encoder sim DIR --replay failures.json``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import interrupts
from ..errors import UserError
from ..files import atomic_dir, clean_stale_in
from ..inputs import read_json
from ..ir import load_ir, save_ir
from ..ir.extreme import extreme_ir
from . import build as builder
from . import plan as planner
from . import regmap, report, toolchain
from .design import Design, load_design
from .models import check_design_ir, reweighted, same_architecture
from .stimulus import Vectors, regression_set

TEST_MODULE = "encoder.verif.tb.tests"


def default_build_root() -> Path:
    """Never the caller's working folder: the repository's sim/build when the package runs from a
    checkout (as `make` and the tests do), else the user's cache folder."""
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and (repo / "encoder" / "verif").is_dir():
        return repo / "sim" / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "encoder" / "sim" / "build"

MAX_JOBS = 64
MAX_UPSETS = 1_000_000
MAX_VECTORS = 10_000_000        # the stimulus is held in memory: 48 int64 counts per vector


@dataclass
class SimOptions:
    sim: str = "icarus"
    vectors: int = 2000
    data: str | None = None
    seed: int = 1
    waves: bool = False
    jobs: int = 1
    out: str | None = None
    build_root: str | None = None
    ir: str | None = None
    reload_ir: str | None = None
    weights_set: str = "trained"      # programmable: the IR's codes, or a set at the formats' limits (ir.extreme)
    replay: str | None = None
    force: bool = False
    progress: bool = True
    show: int = 5                     # mismatches printed
    model_opt: str = "auto"           # Verilator C++ optimisation: auto, fast-build or fast-sim
    netlist: str | None = None        # SYNTHDIR of `encoder synth --liberty`: simulate its netlist (gates)
    scheduler: str | None = None      # a Dask scheduler: the shards run on its workers (encoder.verif.dask_shards)
    bulk: bool = False                # stream a cycle image through a harness, compare in NumPy (encoder.verif.bulk)
    seu: int = 0                      # upsets to inject (bulk harness; encoder.verif.seu)
    seu_target: str | None = None     # register kinds upsets may hit (default all)
    seu_multiplicity: int = 1         # bits flipped per upset event (2: double upsets)
    coverage: bool = False            # functional coverage (and Verilator line/toggle coverage): encoder.verif.coverage_run


# Up to this many vectors a Verilator model compiled without optimisation
# finishes sooner (build + run) than an optimised one.
FAST_BUILD_MAX_VECTORS = 20_000


def model_opt(opts: SimOptions, n_vectors: int) -> str:
    if opts.model_opt != "auto":
        return opts.model_opt
    return "fast-build" if n_vectors <= FAST_BUILD_MAX_VECTORS else "fast-sim"


def build_root(opts: SimOptions) -> Path:
    return Path(opts.build_root or os.environ.get("ENCODER_SIM_BUILD") or default_build_root())


def _models(design: Design, opts: SimOptions, stage: Path) -> list[dict]:
    """The weight sets of the run: the design's IR, and for programmable designs a second one loaded mid-run."""
    ir_path = Path(opts.ir) if opts.ir else design.ir_path
    if ir_path is None:
        raise UserError(f"{design.dir / 'manifest.json'}: records no IR; pass --ir")
    ir = load_ir(ir_path)
    check_design_ir(design, ir, str(ir_path))
    models = [{"name": ir.name, "path": str(Path(ir_path).resolve()), "hash": ir.hash}]
    if opts.weights_set != "trained":
        if not design.programmable:
            raise UserError(f"--weights-set {opts.weights_set}: {design.top} has constant weights, fixed in its "
                            f"Verilog; write the set with `encoder ir extreme IR --set {opts.weights_set}` and "
                            "generate a design from it")
        limits = extreme_ir(ir, opts.weights_set, opts.seed)
        path = stage / "models" / f"{limits.name}.json"
        save_ir(limits, path)
        models = [{"name": limits.name, "path": str(path), "hash": limits.hash}]
    if design.programmable:
        regmap.check_coverage(design.registers, ir)
        if opts.reload_ir:
            other = load_ir(opts.reload_ir)
            if not same_architecture(ir, other):
                raise UserError(f"{opts.reload_ir}: not the architecture of {ir_path} (layers, shapes or formats "
                                "differ); a programmable design only takes new weight codes")
            path = Path(opts.reload_ir).resolve()
        else:
            other = reweighted(ir, opts.seed)
            path = stage / "models" / f"{other.name}.json"
            save_ir(other, path)
        models.append({"name": other.name, "path": str(path), "hash": other.hash})
    return models


def default_run_dir(root: Path, top: str, sim_name: str) -> Path:
    """BUILD/runs/<top>-<sim>-<time>-<pid>[-k]: the process id keeps runs started in the same second apart."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / "runs" / f"{top}-{sim_name}-{stamp}-{os.getpid()}"
    out, k = base, 1
    while os.path.lexists(out):
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def _run_shard(sim: toolchain.Simulator, design: Design, bdir: Path, shard_dir: Path, waves: bool,
               seed: int, coverage: bool = False) -> dict:
    runner = toolchain.get_runner(sim)
    plusargs = [f"+dumpfile_path={shard_dir / (design.top + '.fst')}"] if waves and sim.name == "icarus" else []
    if coverage and sim.name == "verilator":
        plusargs.append(f"+verilator+coverage+file+{shard_dir / 'coverage.dat'}")
    err = None
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=design.top, hdl_toplevel_lang="verilog",
                    build_dir=str(bdir),
                    test_dir=str(shard_dir), extra_env={"ENCODER_SIM_SHARD": str(shard_dir)},
                    log_file=str(shard_dir / "sim.log"), results_xml=str(shard_dir / "results.xml"),
                    waves=waves, seed=seed, plusargs=plusargs)
    except SystemExit as exc:            # the runner exits on a simulator crash or failing test
        err = f"simulator exited with {exc.code}"
    except RuntimeError as exc:
        err = str(exc)
    res = shard_dir / "result.json"
    if not res.is_file():
        return {"error": f"{err or 'no result'}; log: {shard_dir / 'sim.log'}"}
    return {"result": json.loads(res.read_text()),
            "mismatches": json.loads((shard_dir / "mismatches.json").read_text())}


def _poll_progress(shard_dirs: list[Path], total: int, done: threading.Event, enabled: bool,
                   first_phase: str = "reset", bar=None) -> None:
    """The vectors bar. Its label names the phase: ``first_phase`` (reset, and the weight load of a
    programmable design) until every shard has started its vectors (the testbench writes its first
    progress file then), then "vectors". It is read once more after the shards finish, so a pass
    ends at 100 %."""
    if bar is None:
        from tqdm import tqdm
        bar = tqdm(total=total, unit="vec", desc=f"sim: {first_phase}", disable=None if enabled else True)
    phase = first_phase
    while True:
        stop = done.wait(0.5)
        n, started = 0, 0
        for d in shard_dirs:
            try:
                n += int((d / "progress").read_text() or 0)
                started += 1
            except (OSError, ValueError):
                pass
        want = "vectors" if started == len(shard_dirs) else first_phase
        if want != phase:
            phase = want
            bar.set_description(f"sim: {phase}")
        bar.update(min(n, total) - bar.n)
        if stop:
            break
    bar.close()


def _load_failures(path: str, design: Design) -> dict:
    from .replay import check_failures
    d = read_json(path, "failures file of `encoder sim`", hints=("failures.json",))
    return check_failures(d, path, design)


def run(design_dir: str | Path, opts: SimOptions, log=print) -> tuple[int, dict]:
    """Returns (exit code, summary)."""
    design = load_design(design_dir)
    sim = toolchain.find(opts.sim)
    if opts.jobs < 1 or opts.vectors < 1:
        raise UserError("--jobs and --vectors must be at least 1")
    if not 0 <= opts.seed < 2**32:
        raise UserError(f"--seed: {opts.seed} outside 0..{2**32 - 1}")
    if opts.vectors > MAX_VECTORS:
        raise UserError(f"--vectors: {opts.vectors:,} is more than {MAX_VECTORS:,} (split the run with --seed)")
    if opts.jobs > MAX_JOBS:
        raise UserError(f"--jobs: {opts.jobs} is more than {MAX_JOBS} simulator processes")
    if opts.seu < 0 or opts.seu > MAX_UPSETS:
        raise UserError(f"--seu: {opts.seu} outside 0..{MAX_UPSETS}")
    if not 1 <= opts.seu_multiplicity <= 3:
        raise UserError(f"--seu-multiplicity: {opts.seu_multiplicity} outside 1..3")
    if opts.seu and not opts.bulk:
        opts.bulk = True                 # upsets are injected by the bulk harness
    if opts.bulk and opts.replay:
        raise UserError("--bulk: a replay runs in the per-vector testbench; drop --bulk")
    if opts.bulk and opts.netlist:
        raise UserError("--bulk: gate-level netlists run in the per-vector testbench; drop --bulk")
    if opts.coverage and (opts.bulk or opts.replay or opts.netlist or opts.scheduler):
        raise UserError("--coverage: measured by the per-vector testbench on RTL with local shards; "
                        "drop --bulk, --seu, --replay, --netlist and --scheduler")
    if opts.bulk and design.initiation_interval > 1:
        raise UserError(f"--bulk/--seu: not yet combined with a --reuse {design.initiation_interval} design; "
                        "use the per-vector testbench (drop --bulk and --seu)")
    if opts.netlist:
        from .gates import gate_level
        design = gate_level(design, opts.netlist, build_root(opts))
    out = Path(opts.out) if opts.out else default_run_dir(build_root(opts), design.top, _label(design, sim))
    # Absolute: the simulators run in their build directories, the testbench finds its shard by path.
    out = out.resolve()
    if not opts.out:                    # default names never repeat: clear what killed runs left there
        clean_stale_in(out.parent)
    # The run is staged in a hidden folder and renamed into place at the end; the output name is
    # claimed meanwhile, so a second run for the same --out is refused at once.
    lines: list[str] = []
    with atomic_dir(out, overwrite=opts.force, marker="summary.json") as stage:
        if opts.bulk:
            from . import bulk_run
            code, summary = bulk_run.run_staged(design, sim, opts, out, stage, log, lines.append,
                                                _models, model_opt, build_root)
        else:
            code, summary = _run_staged(design, sim, opts, out, stage, log, lines.append)
    for line in lines:          # only once the run is in place
        log(line)
    return code, summary


def _run_staged(design: Design, sim: toolchain.Simulator, opts: SimOptions, out: Path, stage: Path,
                log, after) -> tuple[int, dict]:
    """Runs into ``stage``; ``log`` prints now, ``after`` once the run has been renamed to ``out``."""
    t_start = time.monotonic()
    if opts.replay:
        failed = _load_failures(opts.replay, design)
        models = failed["models"]
        for m in models:
            if not Path(m["path"]).is_file():
                raise UserError(f"{opts.replay}: model {m['name']} at {m['path']} no longer exists")
        for m in models:
            check_design_ir(design, load_ir(m["path"]), m["path"])
        # A vector whose latents and frame both failed is listed twice: drive it once, before its
        # frame with the BX-counter field the frame should have carried.
        vs, bx_field, framing_cfg = {}, {}, {}
        for v in failed["vectors"]:
            key = (v["id"], v["model"], tuple(v["counts"]))
            vs.setdefault(key, v)
            if v.get("stream") == "frame" and isinstance(v.get("expected"), dict):
                bx_field[key] = int(v["expected"].get("bx_field", -1))
                exp = v["expected"]
                # The framing registers the frame went out with (failures files from before they
                # were registers have none: the reset values then).
                if isinstance(exp.get("elinks"), int) and isinstance(exp.get("latent_mask"), str):
                    try:
                        framing_cfg[key] = (exp["elinks"], int(exp["latent_mask"], 16))
                    except ValueError:
                        raise UserError(f"{opts.replay}: vector {v['id']}: latent_mask "
                                        f"{exp['latent_mask']!r} is not hex") from None
        if not vs:
            raise UserError(f"{opts.replay}: holds no failing vectors")
        keys = list(vs)
        vs = list(vs.values())
        vec = Vectors(np.array([v["counts"] for v in vs], dtype=np.int64), np.array([v.get("label", "?") for v in vs]))
        framing = design.framing is not None
        plans = [planner.replay_plan(vec, np.array([v["id"] for v in vs]), np.array([v["gap"] for v in vs]),
                                     np.array([v["model"] for v in vs]),
                                     np.array([int(v.get("bx_reset", 0)) for v in vs]) if framing else None,
                                     np.array([bx_field.get(k, -1) for k in keys]) if framing else None,
                                     [framing_cfg.get(k) for k in keys] if framing else None,
                                     (design.framing.count_reset, design.framing.mask) if framing else None)]
        stim = {"replay": str(opts.replay), "vectors": len(vs)}
    else:
        models = _models(design, opts, stage)
        vec, stim = regression_set(load_ir(models[0]["path"]), opts.vectors, opts.seed, opts.data,
                                   coverage=opts.coverage,
                                   reloaded=[load_ir(m["path"]) for m in models[1:]] if opts.coverage else ())
        plans = planner.split(vec, opts.jobs, opts.seed, programmable=design.programmable, n_models=len(models),
                              framing=design.framing,
                              live_reload=design.registers is not None and design.registers.live_reload)
        if opts.coverage:
            from . import coverage_run
            coverage_run.extend_plans(plans, design, opts.seed)
    shard_dirs = [stage / "shards" / f"{p.shard:02d}" for p in plans]
    for p, d in zip(plans, shard_dirs):
        planner.write(p, d, design, models, stage, sim.name, replay=bool(opts.replay))
    build_sim = sim
    if opts.coverage:
        from . import coverage_run
        coverage_run.prepare(design, shard_dirs, load_ir(models[0]["path"]))
        build_sim = coverage_run.coverage_simulator(sim)

    log(f"encoder sim: building {design.top} with {sim.name} {sim.version}"
        + (" (coverage build)" if build_sim is not sim else ""))
    bdir, binfo = builder.build(design, build_sim, build_root(opts), waves=opts.waves,
                                opt=model_opt(opts, len(vec)))
    log(f"encoder sim: {'reusing' if binfo['reused'] else 'built'} {bdir} "
        f"({binfo['seconds']} s); {len(vec)} vectors in {len(plans)} shard(s)")

    t0 = time.monotonic()
    done = threading.Event()
    first = "reset + weight load" if design.programmable else "reset"
    poll = threading.Thread(target=_poll_progress, args=(shard_dirs, len(vec), done, opts.progress, first),
                            daemon=True)
    poll.start()
    pool = ThreadPoolExecutor(max_workers=min(opts.jobs, len(plans)))
    try:
        calls = [(sim, design, bdir, d, opts.waves, p.seed, opts.coverage) for p, d in zip(plans, shard_dirs)]
        if opts.scheduler:
            from .dask_shards import run_shards
            outcomes = run_shards(opts.scheduler, _run_shard, calls)
        else:
            futures = [pool.submit(_run_shard, *c) for c in calls]
            outcomes = [f.result() for f in futures]
    except BaseException:
        interrupts.stop_all()            # the shard threads wait on their simulators: stop those first
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        done.set()
        poll.join()
    sim_seconds = time.monotonic() - t0

    shards, mismatches, crashed = [], [], []
    for p, o in zip(plans, outcomes):
        real = int(np.count_nonzero(p.ids != -1))          # not a replay's BX-counter preamble
        shards.append({"shard": p.shard, "vectors": real, **({"result": o["result"]} if "result" in o else
                                                             {"error": o["error"]})})
        if "error" in o:
            crashed.append(f"shard {p.shard}: {o['error']}")
        else:
            mismatches.extend(o["mismatches"])
    results = [s["result"] for s in shards if "result" in s]
    merged = report.merge(results) if results else {}
    bad = bool(crashed) or not results or any(r["errors"] for r in results)
    summary = {
        "status": "error" if crashed else ("mismatch" if bad else "pass"),
        "design": str(design.dir.resolve()), "top": design.top, "weights": design.weights,
        "simulator": sim.name, "simulator_version": sim.version,
        "level": "gates" if design.gate_level else "rtl",
        **({"gate_level": design.gate_level} if design.gate_level else {}),
        "seed": opts.seed, "jobs": opts.jobs, "shards": len(plans), "scheduler": opts.scheduler,
        "weights_set": opts.weights_set, "models": models, "stimulus": stim, **merged,
        "latency_expected": design.latency,
        **({"tx_latency_expected": design.framing.latency, "elinks": design.framing.elinks}
           if design.framing else {}),
        "vectors_per_second": round(len(vec) / sim_seconds, 1) if sim_seconds > 0 else None,
        "simulation_seconds": round(sim_seconds, 2),
        "build": {k: binfo.get(k) for k in ("seconds", "reused", "key", "opt")} | {"dir": str(bdir)},
        "total_seconds": round(time.monotonic() - t_start, 2),
        "errors": crashed,
        "per_shard": [{"shard": s["shard"], "vectors": s["vectors"],
                       **({k: s["result"][k] for k in ("checked", "mismatches", "frames_checked", "frame_mismatches",
                                                         "vectors_per_second", "stream_vectors_per_second",
                                                         "seconds") if k in s["result"]}
                          if "result" in s else {"error": s["error"]})} for s in shards],
    }
    if opts.coverage:
        from . import coverage_run
        # Holes are reported, they do not fail the regression: the target is judged by the reader (or make signoff).
        summary["coverage"] = coverage_run.collect(design, sim, shard_dirs, stage, stim.get("directed_reach"))
    # Paths written now must name the run's final place, not the staging folder.
    def final(obj):
        return json.loads(json.dumps(obj).replace(str(stage), str(out)))

    if mismatches:
        mismatches.sort(key=lambda m: (m["cycle_in"] if m["cycle_in"] is not None else 0))
        report.failures_file(stage / "failures.json", design.dir.resolve(), final(models), mismatches)
        summary["failures_file"] = str(out / "failures.json")
    report.junit(stage / "results.xml", f"{design.top}.{_label(design, sim)}", shards, design.programmable, design.latency,
                 design.framing.latency if design.framing else None)
    summary = final(summary)
    (stage / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    crashed = final(crashed)

    for c in crashed:
        after(f"encoder sim: error: {c}")
    for m in mismatches[:opts.show]:
        after(report.format_mismatch(m))
    if len(mismatches) > opts.show:
        after(f"... and {len(mismatches) - opts.show} more")
    lat = ", ".join(f"{k} cycles x{v}" for k, v in merged.get("latency_seen", {}).items()) or "none"
    after(f"encoder sim: {summary['status'].upper()}: {merged.get('checked', 0)} of {len(vec)} vectors checked, "
          f"{merged.get('mismatches', 0)} mismatches, {merged.get('stale_outputs', 0)} stale outputs, "
          f"{merged.get('x_or_z_samples', 0)} X/Z samples, {merged.get('register_read_back_errors', 0)} "
          f"read-back errors; latency seen {lat} (manifest {design.latency}); "
          f"{summary['vectors_per_second']} vectors/s on {len(plans)} shard(s)")
    if merged.get("assertion_violations"):
        for v in merged["assertions"]["first"][:opts.show]:
            after(f"encoder sim: assertion {v['checker']} failed at cycle {v['cycle']} on {v['signal']}: {v['message']}")
    if design.framing:
        tx_lat = ", ".join(f"{k} cycles x{v}" for k, v in merged.get("tx_latency_seen", {}).items()) or "none"
        after(f"encoder sim: frames on {design.framing.elinks} e-links: {merged.get('frames_checked', 0)} checked, "
            f"{merged.get('frame_mismatches', 0)} mismatches, {merged.get('stale_frames', 0)} stale, "
            f"{merged.get('bx_reset_cycles', 0)} BX-counter resets driven ({merged.get('bx_resets', 0)} with "
            f"data, the others on idle cycles), {merged.get('framing_writes', 0)} writes of "
            f"the e-link count and latent mask; latency seen {tx_lat} "
            f"(manifest {design.framing.latency})")
    if mismatches:
        after(f"encoder sim: failing vectors saved to {out / 'failures.json'}; rerun them with "
            f"`encoder sim {design_dir_arg(design)} --replay {out / 'failures.json'}"
            f"{' --netlist ' + str(opts.netlist) if opts.netlist else ''}`")
    if opts.coverage:
        from . import coverage_run
        for line in coverage_run.table(summary["coverage"]):
            after(f"encoder sim: {line}")
    after(f"encoder sim: wrote {out / 'summary.json'} and {out / 'results.xml'}")
    return (0 if summary["status"] == "pass" else 1), summary


def _label(design: Design, sim: toolchain.Simulator) -> str:
    """Names run directories and JUnit suites: gate-level runs say so."""
    return f"gates-{sim.name}" if design.gate_level else sim.name


def design_dir_arg(design: Design) -> str:
    try:
        return str(design.dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(design.dir)
