"""`encoder sim --bulk`: build the harness, stream the cycle images, compare the dumps in NumPy.

Same stimulus, shards, events, reports and failures file as the per-vector
testbench (``encoder.verif.runner``); only the way vectors reach the
simulator and outputs come back differs (see ``encoder.verif.bulk``). With
``--seu N`` the harness also flips register bits (``encoder.verif.seu``)
and the summary says which upsets reached an output.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .. import golden, interrupts
from ..errors import UserError
from ..ir import load_ir
from . import bulk, regmap, report, seu, toolchain
from . import build as builder
from . import plan as planner
from .design import Design
from .stimulus import regression_set

TEST_MODULE = "encoder.verif.tb.bulk_tests"
MAX_LISTED = 200            # mismatches kept per shard for the report and failures.json


def bulk_design(design: Design, stage: Path, targets: list[seu.Register]) -> Design:
    """The design with the harness as its top (one build per design content and harness)."""
    name = bulk.harness_name(design)
    hdir = stage / "harness"
    hdir.mkdir(parents=True, exist_ok=True)
    path = hdir / f"{name}.v"
    path.write_text(bulk.harness(design, targets))
    return dataclasses.replace(design, top=name, sources=list(design.sources) + [path])


def _sim_shard(sim: toolchain.Simulator, top: str, bdir: Path, shard_dir: Path, seed: int, plusargs: list[str],
               img: bulk.Image) -> str | None:
    # Each shard writes its own image and starts at once: one shard simulates while the next writes.
    img.write(shard_dir / "stim.bin")
    runner = toolchain.get_runner(sim)
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=top, hdl_toplevel_lang="verilog", build_dir=str(bdir),
                    test_dir=str(shard_dir), extra_env={"ENCODER_SIM_SHARD": str(shard_dir)},
                    log_file=str(shard_dir / "sim.log"), results_xml=str(shard_dir / "results.xml"),
                    seed=seed, plusargs=plusargs)
    except SystemExit as exc:
        return f"simulator exited with {exc.code}; log: {shard_dir / 'sim.log'}"
    except RuntimeError as exc:
        return f"{exc}; log: {shard_dir / 'sim.log'}"
    if not (shard_dir / "bulk_seconds").is_file():
        return f"the harness did not finish; log: {shard_dir / 'sim.log'}"
    return None


def _match(exp_stamp: np.ndarray, got_stamp: np.ndarray) -> np.ndarray:
    """For each got line, the index of the expected item with its stamp, or -1."""
    order = np.argsort(exp_stamp, kind="stable")
    srt = exp_stamp[order]
    pos = np.searchsorted(srt, got_stamp)
    pos_c = np.minimum(pos, max(len(srt) - 1, 0))
    hit = (pos < len(srt)) & (srt[pos_c] == got_stamp) if len(srt) else np.zeros(len(got_stamp), bool)
    return np.where(hit, order[pos_c], -1)


class ShardCheck:
    """The dumps of one shard against the golden model."""

    def __init__(self, design: Design, irs, names, plan: planner.ShardPlan, img: bulk.Image, table: dict,
                 words, vec_labels, read_latency: int = 1):
        self.design, self.irs, self.names, self.plan = design, irs, names, plan
        self.read_latency = read_latency
        self.img, self.table, self.words, self.labels = img, table, words, vec_labels
        self.listed: list[dict] = []
        self.bad_stamps: list[np.ndarray] = []        # every wrong output or frame: (stamp, crossing's record)
        self.pos = {int(v): k for k, v in enumerate(plan.ids)}

    def _bad(self, stamps: np.ndarray, latency: int) -> None:
        self.bad_stamps.append(np.stack([stamps, stamps - latency - 1], axis=1).astype(np.int64))

    def golden(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.table
        n_lat = self.design.port("out_latents").fields
        lat = np.zeros((len(t["id"]), n_lat), np.int64)
        sc = np.zeros(len(t["id"]), np.int64)
        for m in np.unique(t["model"]):
            idx = np.flatnonzero(t["model"] == m)
            res = golden.run(self.irs[int(m)], counts=t["counts"][idx])
            lat[idx], sc[idx] = res.latents, res.sum_code
        return lat, sc

    def _entry(self, k: int, what: str, stream: str, latency: int, expected: dict, got: dict | None,
               stamp_out: int | None) -> dict:
        t = self.table
        vid = int(t["id"][k])
        p = self.pos.get(vid)
        cyc_in = int(t["rec"][k]) + 1
        e = {"id": vid, "label": str(self.labels[vid]) if vid >= 0 else "reset-filler",
             "model": int(t["model"][k]), "model_name": self.names[int(t["model"][k])],
             "gap": int(self.plan.gaps[p]) if p is not None else 0, "seq": k,
             "counts": [int(c) for c in t["counts"][k]], "cycle_in": cyc_in,
             "cycle_out": stamp_out, "latency": None if stamp_out is None else stamp_out - cyc_in,
             "expected": expected, "got": got, "what": what}
        if stream == "frame":
            e.update(stream="frame", bx_reset=int(t["bx"][k]))
        return e

    def compare(self, shard_dir: Path) -> dict:
        d = self.design
        t = self.table
        L = d.latency
        lat_port = d.port("out_latents")
        lat_mask = (1 << lat_port.element_width) - 1
        sum_w = d.port("out_sum_code").width
        exp_lat, exp_sum = self.golden()
        exp_lat_m = exp_lat & lat_mask
        real = t["id"] >= 0
        stamp = t["rec"] + L + 1
        got, unknown = bulk.read_dump(shard_dir / "out.hex", [("cycle", 1, 32), ("sum", 1, sum_w),
                                                              ("lat", lat_port.fields, lat_port.element_width)])
        j = _match(stamp, got["cycle"])
        paired = j >= 0
        jj = j[paired]
        same = (got["lat"][paired] == exp_lat_m[jj]).all(axis=1) & (got["sum"][paired] == exp_sum[jj])
        wrong = np.zeros(len(t["id"]), bool)
        wrong[jj[~same]] = True
        # A filler (in flight at a reset) may come out or not, but only as itself.
        stale_idx = np.flatnonzero(~paired)
        filler_wrong = np.flatnonzero(wrong & ~real)
        seen = np.zeros(len(t["id"]), bool)
        seen[jj] = True
        missing = np.flatnonzero(real & ~seen)
        mism = np.flatnonzero(wrong & real)
        got_by_j = {int(k): i for i, k in enumerate(j) if k >= 0}
        for k in mism[:MAX_LISTED]:
            i = got_by_j[int(k)]
            self.listed.append(self._entry(int(k), "mismatch", "latents", L,
                                           {"latents": [int(v) for v in exp_lat[k]], "sum_code": int(exp_sum[k])},
                                           {"latents": [int(v) for v in got["lat"][i]], "sum_code": int(got["sum"][i])},
                                           int(got["cycle"][i])))
        for k in missing[:MAX_LISTED]:
            self.listed.append(self._entry(int(k), "missing", "latents", L,
                                           {"latents": [int(v) for v in exp_lat[k]], "sum_code": int(exp_sum[k])},
                                           None, None))
        self._bad(np.concatenate([stamp[mism], stamp[missing], got["cycle"][stale_idx], stamp[filler_wrong]]), L)
        res = {
            "shard": self.plan.shard, "vectors": int(np.count_nonzero(self.plan.ids != -1)),
            "checked": int(np.count_nonzero(real)),
            "matched": int(np.count_nonzero(real & seen & ~wrong)), "mismatches": len(mism) + len(missing),
            "unexpected_outputs": [{"cycle": int(got["cycle"][i]), "latents": [int(v) for v in got["lat"][i]],
                                    "sum_code": int(got["sum"][i])} for i in stale_idx[:50]],
            "n_unexpected_outputs": int(len(stale_idx) + len(filler_wrong)),
            "flushed_by_reset": int(np.count_nonzero(~real & ~seen)),
            "latency_expected": L, "latency_seen": {str(L): int(np.count_nonzero(real & seen))},
            "x_checked": True, "x_events": [{"cycle": int(c)} for c in got["cycle"][unknown][:50]],
            "readback_errors": self._readback(shard_dir), "harness_errors": [],
            "events": [{"event": ev["kind"], "before_vector": int(ev["before"])} for ev in self.plan.events],
            "cycles": int(self.img.n),
        }
        if d.framing is not None:
            res.update(self._frames(shard_dir, exp_lat, exp_sum, real))
        res["errors"] = (res["mismatches"] + res["n_unexpected_outputs"] + len(res["x_events"])
                         + len(res["readback_errors"]) + res.get("frame_mismatches", 0)
                         + res.get("n_unexpected_frames", 0))
        return res

    def _readback(self, shard_dir: Path) -> list[dict]:
        if not self.img.reads:
            return []
        d = self.design
        rl = self.read_latency
        got, unknown = bulk.read_dump(shard_dir / "rd.hex", [("cycle", 1, 32),
                                                             ("word", 1, d.port("cfg_rdata").width)])
        reads = self.img.reads
        stamp = np.array([r[0] for r in reads], np.int64) + rl + 1
        j = _match(got["cycle"], stamp)
        errors = []
        for k, (_, addr, want, mask, when) in enumerate(reads):
            i = int(j[k])
            ok = i >= 0 and not unknown[i] and (int(got["word"][i]) & mask) == want
            if not ok and len(errors) < 200:
                errors.append({"when": when, "addr": addr, "expected": want,
                               "got": None if i < 0 else int(got["word"][i])})
        return errors

    def counters(self, shard_dir: Path) -> dict[str, int]:
        """Counter register -> value read at the end of the shard (--tmr designs)."""
        d = self.design
        if not self.img.counter_reads:
            return {}
        got, unknown = bulk.read_dump(shard_dir / "rd.hex", [("cycle", 1, 32), ("word", 1, d.port("cfg_rdata").width)])
        stamp = np.array([r for r, _ in self.img.counter_reads], np.int64) + self.read_latency + 1
        j = _match(got["cycle"], stamp)
        words = dict(bulk.counter_words(d))
        c = d.manifest["tmr"]["counters"]
        dw = d.port("cfg_rdata").width
        base = {int(b["addr"]): b["register"] for b in c["blocks"]}
        out: dict[str, int] = {}
        for k, (_, addr) in enumerate(self.img.counter_reads):
            i = int(j[k])
            reg = words[addr]
            first = [a for a, r in base.items() if r == reg][0]
            val = 0 if i < 0 or unknown[i] else int(got["word"][i])
            out[reg] = out.get(reg, 0) | (val << (dw * (addr - first)))
        return out

    def _frames(self, shard_dir: Path, exp_lat, exp_sum, real) -> dict:
        d = self.design
        t = self.table
        fr = d.framing
        bxf = bulk.bx_fields(self.img, t, d.initiation_interval)
        exp = bulk.frames(d, self.img, t["rec"], exp_lat, exp_sum, bxf)
        stamp = t["rec"] + fr.latency + 1
        got, unknown = bulk.read_dump(shard_dir / "tx.hex", [("cycle", 1, 32), ("tx", fr.elinks, 32)])
        j = _match(stamp, got["cycle"])
        paired = j >= 0
        jj = j[paired]
        same = (got["tx"][paired] == exp[jj]).all(axis=1)
        wrong = np.zeros(len(t["id"]), bool)
        wrong[jj[~same]] = True
        seen = np.zeros(len(t["id"]), bool)
        seen[jj] = True
        stale_idx = np.flatnonzero(~paired)
        filler_wrong = np.flatnonzero(wrong & ~real)
        missing = np.flatnonzero(real & ~seen)
        mism = np.flatnonzero(wrong & real)
        got_by_j = {int(k): i for i, k in enumerate(j) if k >= 0}

        def hexw(words):
            return [f"{int(w):08x}" for w in words]

        def expected(k):
            return {"tx_data": hexw(exp[k]), "bx_field": int(bxf[k]), "sum_code": int(exp_sum[k]),
                    "latents": [int(v) for v in exp_lat[k]]}
        for k in mism[:MAX_LISTED]:
            i = got_by_j[int(k)]
            self.listed.append(self._entry(int(k), "mismatch", "frame", fr.latency, expected(k),
                                           {"tx_data": hexw(got["tx"][i])}, int(got["cycle"][i])))
        for k in missing[:MAX_LISTED]:
            self.listed.append(self._entry(int(k), "missing", "frame", fr.latency, expected(k), None, None))
        self._bad(np.concatenate([stamp[mism], stamp[missing], got["cycle"][stale_idx], stamp[filler_wrong]]),
                  fr.latency)
        return {"frames_checked": int(np.count_nonzero(real)), "frames_matched": int(np.count_nonzero(real & seen & ~wrong)),
                "frame_mismatches": len(mism) + len(missing), "n_unexpected_frames": int(len(stale_idx) + len(filler_wrong)),
                "unexpected_frames": [{"cycle": int(got["cycle"][i]), "tx_data": hexw(got["tx"][i])} for i in stale_idx[:50]],
                "frames_flushed_by_reset": int(np.count_nonzero(~real & ~seen)),
                "bx_resets": int(t["bx"][real].sum()), "bx_reset_cycles": len(bulk.bx_reset_records(self.img)),
                "tx_latency_expected": fr.latency,
                "tx_latency_seen": {str(fr.latency): int(np.count_nonzero(real & seen))},
                "x_events_frames": int(unknown.sum())}


def run_staged(design: Design, sim: toolchain.Simulator, opts, out: Path, stage: Path, log, after,
               models_for, model_opt, build_root) -> tuple[int, dict]:
    """Like ``runner._run_staged`` for --bulk; returns (exit code, summary)."""
    t_start = time.monotonic()
    if design.gate_level:
        raise UserError("--bulk: gate-level netlists are simulated by the per-vector testbench; drop --bulk")
    models = models_for(design, opts, stage)
    irs = [load_ir(m["path"]) for m in models]
    names = [m["name"] for m in models]
    t0, c0 = time.monotonic(), time.process_time()
    vec, stim = regression_set(irs[0], opts.vectors, opts.seed, opts.data)
    # One reload mid-run, between vectors (live reloads beside the stream are the per-vector testbench's).
    plans = planner.split(vec, opts.jobs, opts.seed, programmable=design.programmable, n_models=len(models),
                          framing=design.framing, live_reload=False)
    words = [regmap.image(design.registers, ir) for ir in irs] if design.programmable else []
    masks = regmap.field_mask(design.registers) if design.programmable else {}
    read_latency = design.registers.read_latency if design.programmable else 1
    targets = seu.inventory(design.dir, design.top, design.sources)
    shard_dirs = [stage / "shards" / f"{p.shard:02d}" for p in plans]
    images = []
    for p, sd in zip(plans, shard_dirs):
        sd.mkdir(parents=True, exist_ok=True)
        img, table = bulk.build_image(p, design, words, opts.seed, read_latency, names, masks)
        images.append((img, table))
    t_stim, cpu_stim = time.monotonic() - t0, time.process_time() - c0

    upsets: list[list[list[seu.Upset]]] = [[] for _ in plans]
    if opts.seu:
        kinds = seu.parse_kinds(opts.seu_target)
        per = np.diff(np.linspace(0, opts.seu, len(plans) + 1).astype(int))
        for k, ((img, table), sd) in enumerate(zip(images, shard_dirs)):
            first, last = int(table["rec"][0]) + 2, int(table["rec"][-1]) - seu.DEFAULT_WINDOW
            ctrl = np.concatenate(img.ctrl)
            writes = np.flatnonzero(ctrl & (bulk.CTRL_CFG_WE | bulk.CTRL_SAMPLE_RD))   # loads and read-backs
            # The BX counter restarts on every bx_reset, data or not (it reaches the counter at the outputs
            # latency + 1 edges after its record), and on resets.
            restarts = np.union1d(bulk.bx_reset_records(img) + design.latency + 1,
                                  np.array(img.resets, np.int64) + 1)
            upsets[k] = seu.campaign(targets, int(per[k]), first, last, opts.seed * 1000 + k, kinds,
                                     multiplicity=opts.seu_multiplicity, writes=writes, restarts=restarts)
            seu.write_events(sd / "seu.txt", targets, upsets[k], seu.DEFAULT_WINDOW)

    bd = bulk_design(design, stage, targets)
    log(f"encoder sim: building {bd.top} (bulk harness) with {sim.name} {sim.version}")
    bdir, binfo = builder.build(bd, sim, build_root(opts), opt=model_opt(opts, len(vec)))
    log(f"encoder sim: {'reusing' if binfo['reused'] else 'built'} {bdir} ({binfo['seconds']} s); "
        f"{len(vec)} vectors in {len(plans)} shard(s), stimulus and cycle images built in {t_stim:.1f} s")

    t1 = time.monotonic()
    # CPU time of the simulators (children) and of this process: on a shared machine the wall-clock
    # figures say how busy it was, these what the run itself costs.
    r0, c1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
    pool = ThreadPoolExecutor(max_workers=min(opts.jobs, len(plans)))
    try:
        futures = []
        for p, sd, (img, _) in zip(plans, shard_dirs, images):
            plus = [f"+bulk_stim={sd / 'stim.bin'}", f"+bulk_out={sd / 'out.hex'}", f"+bulk_tx={sd / 'tx.hex'}",
                    f"+bulk_rd={sd / 'rd.hex'}"] + ([f"+bulk_seu={sd / 'seu.txt'}"] if opts.seu else [])
            futures.append(pool.submit(_sim_shard, sim, bd.top, bdir, sd, p.seed, plus, img))
        errors = [f.result() for f in futures]
    except BaseException:
        interrupts.stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    sim_seconds = time.monotonic() - t1
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_sim = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    cpu_write = time.process_time() - c1          # this process meanwhile: writing the images

    t2, c2 = time.monotonic(), time.process_time()
    shards, listed, crashed, bad = [], [], [], []
    counter_values: dict[str, int] = {}
    for p, sd, (img, table), err in zip(plans, shard_dirs, images, errors):
        if err:
            crashed.append(f"shard {p.shard}: {err}")
            shards.append({"shard": p.shard, "vectors": len(p), "error": err})
            continue
        chk = ShardCheck(design, irs, names, p, img, table, words, vec.labels, read_latency)
        res = chk.compare(sd)
        res["seconds"] = float((sd / "bulk_seconds").read_text())
        res["vectors_per_second"] = res["stream_vectors_per_second"] = len(p) / max(res["seconds"], 1e-9)
        (sd / "result.json").write_text(json.dumps(res, indent=1))
        shards.append({"shard": p.shard, "vectors": res["vectors"], "result": res})
        listed += chk.listed
        for reg, v in chk.counters(sd).items():
            counter_values[reg] = counter_values.get(reg, 0) + v
        bad.append(np.concatenate(chk.bad_stamps) if chk.bad_stamps else np.zeros((0, 2), np.int64))
    compare_seconds, cpu_compare = time.monotonic() - t2, time.process_time() - c2

    results = [s["result"] for s in shards if "result" in s]
    merged = report.merge(results) if results else {}
    wrong = bool(crashed) or not results or any(r["errors"] for r in results)
    summary = {
        "status": "error" if crashed else ("mismatch" if wrong else "pass"),
        "mode": "bulk",
        "design": str(design.dir.resolve()), "top": design.top, "weights": design.weights,
        "simulator": sim.name, "simulator_version": sim.version, "level": "rtl",
        "seed": opts.seed, "jobs": opts.jobs, "shards": len(plans), "weights_set": opts.weights_set,
        "models": models, "stimulus": stim, **merged,
        "latency_expected": design.latency,
        **({"tx_latency_expected": design.framing.latency, "elinks": design.framing.elinks}
           if design.framing else {}),
        "vectors_per_second": round(len(vec) / sim_seconds, 1) if sim_seconds > 0 else None,
        "simulation_seconds": round(sim_seconds, 2),
        "stimulus_seconds": round(t_stim, 2), "compare_seconds": round(compare_seconds, 2),
        "cpu_seconds": {"stimulus": round(cpu_stim, 2), "image_writing": round(cpu_write, 2),
                        "simulators": round(cpu_sim, 2), "comparison": round(cpu_compare, 2)},
        "build": {k: binfo.get(k) for k in ("seconds", "reused", "key", "opt")} | {"dir": str(bdir)},
        "errors": crashed,
        "per_shard": [{"shard": s["shard"], "vectors": s["vectors"],
                       **({k: s["result"][k] for k in ("checked", "mismatches", "frames_checked", "frame_mismatches",
                                                         "vectors_per_second", "seconds") if k in s["result"]}
                          if "result" in s else {"error": s["error"]})} for s in shards],
    }
    if opts.seu:
        counters = None
        if counter_values:
            cbits = int(design.manifest["tmr"]["counters"]["bits"])
            counters = {"blocks": {reg.rsplit(".", 1)[0]: v for reg, v in counter_values.items()},
                        "total": sum(counter_values.values()),
                        "saturated": [r for r, v in counter_values.items() if v == (1 << cbits) - 1]}
        summary.update(seu.summarise(targets, upsets, bad, seu.DEFAULT_WINDOW, counters))
    summary["total_seconds"] = round(time.monotonic() - t_start, 2)

    def final(obj):
        return json.loads(json.dumps(obj).replace(str(stage), str(out)))

    if listed:
        listed.sort(key=lambda m: m["cycle_in"])
        report.failures_file(stage / "failures.json", design.dir.resolve(), final(models), listed)
        summary["failures_file"] = str(out / "failures.json")
    report.junit(stage / "results.xml", f"{design.top}.bulk-{sim.name}", shards, design.programmable,
                 design.latency, design.framing.latency if design.framing else None)
    summary = final(summary)
    (stage / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for c in final(crashed):
        after(f"encoder sim: error: {c}")
    for m in listed[:opts.show]:
        after(report.format_mismatch(m))
    after(f"encoder sim: {summary['status'].upper()} (bulk): {merged.get('checked', 0)} of {len(vec)} vectors "
          f"checked, {merged.get('mismatches', 0)} mismatches, {merged.get('stale_outputs', 0)} stale outputs, "
          f"{merged.get('x_or_z_samples', 0)} X/Z samples, {merged.get('register_read_back_errors', 0)} read-back "
          f"errors; {summary['vectors_per_second']} vectors/s on {len(plans)} shard(s) "
          f"(stimulus {t_stim:.1f} s, image writing and simulation {sim_seconds:.1f} s, comparison "
          f"{compare_seconds:.1f} s)")
    if design.framing:
        after(f"encoder sim: frames on {design.framing.elinks} e-links: {merged.get('frames_checked', 0)} checked, "
              f"{merged.get('frame_mismatches', 0)} mismatches, {merged.get('stale_frames', 0)} stale")
    if opts.seu:
        after(seu.console_line(summary))
    if listed:
        after(f"encoder sim: failing vectors saved to {out / 'failures.json'}; rerun them with "
              f"`encoder sim {design.dir} --replay {out / 'failures.json'}`")
    after(f"encoder sim: wrote {out / 'summary.json'} and {out / 'results.xml'}")
    return (0 if summary["status"] == "pass" else 1), summary
