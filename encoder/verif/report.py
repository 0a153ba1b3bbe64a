"""Run reports: summary.json, JUnit XML, the failures file for --replay, and the console lines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path


def merge(results: list[dict]) -> dict:
    lat = Counter()
    for r in results:
        lat.update({int(k): v for k, v in r.get("latency_seen", {}).items()})
    merged = {
        "vectors": sum(r["vectors"] for r in results),
        "checked": sum(r["checked"] for r in results),
        "mismatches": sum(r["mismatches"] for r in results),
        "stale_outputs": sum(r["n_unexpected_outputs"] for r in results),
        "x_or_z_samples": sum(len(r["x_events"]) for r in results),
        "register_read_back_errors": sum(len(r["readback_errors"]) for r in results),
        "harness_errors": [e for r in results for e in r["harness_errors"]],
        "flushed_by_reset": sum(r["flushed_by_reset"] for r in results),
        "latency_seen": {str(k): v for k, v in sorted(lat.items())},
        "cycles": sum(r["cycles"] for r in results),
    }
    if any("assertions" in r for r in results):              # protocol checkers (encoder.verif.tb.checkers)
        by = Counter()
        for r in results:
            by.update(r.get("assertions", {}).get("by_checker", {}))
        merged["assertion_violations"] = sum(r.get("assertions", {}).get("violations", 0) for r in results)
        merged["assertions"] = {"by_checker": dict(by),
                                "first": [v for r in results for v in r.get("assertions", {}).get("first", [])][:50],
                                "checkers": next((r["assertions"]["checkers"] for r in results if "assertions" in r), [])}
    if any("overrun_errors" in r for r in results):          # --reuse designs: valid_in too soon
        merged["overrun_errors"] = sum(r.get("overrun_errors", 0) for r in results)
        merged["overrun_flags_seen"] = sum(len(r.get("overrun_seen", [])) for r in results)
    if any("live_reloads" in r for r in results):            # designs with control registers
        merged.update({
            "live_reloads": sum(r.get("live_reloads", 0) for r in results),
            "config_errors": sum(len(r.get("config_errors", [])) for r in results),
            "blocked_before_load": sum(r.get("blocked_before_load", 0) for r in results),
        })
    if any("frames_checked" in r for r in results):          # designs with the e-link framing block
        tx_lat = Counter()
        for r in results:
            tx_lat.update({int(k): v for k, v in r.get("tx_latency_seen", {}).items()})
        merged.update({
            "frames_checked": sum(r.get("frames_checked", 0) for r in results),
            "frame_mismatches": sum(r.get("frame_mismatches", 0) for r in results),
            "stale_frames": sum(r.get("n_unexpected_frames", 0) for r in results),
            "frames_flushed_by_reset": sum(r.get("frames_flushed_by_reset", 0) for r in results),
            "bx_resets": sum(r.get("bx_resets", 0) for r in results),
            "bx_reset_cycles": sum(r.get("bx_reset_cycles", 0) for r in results),
            "framing_writes": sum(r.get("framing_writes", 0) for r in results),
            "tx_latency_seen": {str(k): v for k, v in sorted(tx_lat.items())},
        })
    return merged


def _case(suite, name: str, classname: str, seconds: float, failure: str | None = None,
          skipped: str | None = None, output: str | None = None):
    tc = ET.SubElement(suite, "testcase", name=name, classname=classname, time=f"{seconds:.3f}")
    if failure:
        ET.SubElement(tc, "failure", message=failure.splitlines()[0][:500]).text = failure
    elif skipped:
        ET.SubElement(tc, "skipped", message=skipped)
    if output:
        ET.SubElement(tc, "system-out").text = output
    return tc


def junit(path: Path, suite_name: str, shards: list[dict], programmable: bool, latency: int,
          tx_latency: int | None = None) -> None:
    """One test suite; per shard one test case for each property checked."""
    root = ET.Element("testsuites", name="encoder sim")
    suite = ET.SubElement(root, "testsuite", name=suite_name)
    n = fails = skips = 0
    for s in shards:
        cls = f"{suite_name}.shard{s['shard']}"
        r = s.get("result")
        t = float(r["seconds"]) if r else 0.0
        cases = []
        if r is None:
            cases.append(("simulation_completes", s.get("error") or "no result", None))
        else:
            mm = r["mismatches"]
            cases.append(("vectors_match_golden_model",
                          f"{mm} of {r['vectors']} vectors differ from the golden model" if mm else None, None))
            bad_lat = {k: v for k, v in r["latency_seen"].items() if int(k) != latency}
            cases.append((f"latency_is_{latency}_cycles",
                          f"outputs seen after {bad_lat} cycles" if bad_lat else None, None))
            resets = [e for e in r["events"] if e["event"] == "reset"]
            stale = r["n_unexpected_outputs"]
            cases.append(("reset_mid_stream_leaves_nothing_stale",
                          f"{stale} outputs matched no input" if stale else None,
                          None if resets else "no reset in this shard"))
            if tx_latency is not None and "frames_checked" in r:
                fm, fs = r["frame_mismatches"], r["n_unexpected_frames"]
                cases.append(("frames_match_reference",
                              f"{fm} of {r['frames_checked']} frames differ from the framed golden outputs"
                              + (f"; {fs} stale frames" if fs else "") if fm or fs else None, None))
                bad_tx = {k: v for k, v in r["tx_latency_seen"].items() if int(k) != tx_latency}
                cases.append((f"frame_latency_is_{tx_latency}_cycles",
                              f"frames seen after {bad_tx} cycles" if bad_tx else None, None))
            xs = r["x_events"]
            cases.append(("outputs_free_of_x_and_z_after_reset",
                          f"{len(xs)} samples with X/Z, first: {xs[0]}" if xs else None,
                          None if r.get("x_checked", True) else "two-state simulator: no X or Z to see"))
            if programmable:
                rb = r["readback_errors"]
                cases.append(("weights_read_back_as_loaded",
                              f"{len(rb)} registers differ, first: {rb[0]}" if rb else None, None))
                loads = [e for e in r["events"] if e["event"] == "load"]
                cases.append(("reload_other_model_mid_run",
                              None if not mm else f"{mm} mismatches (see vectors_match_golden_model)",
                              None if loads else "no reload in this shard"))
            if "assertions" in r:
                a = r["assertions"]
                first = a["first"][0] if a["first"] else None
                cases.append(("protocol_assertions_hold",
                              f"{a['violations']} violations ({a['by_checker']}); first: {first['checker']} at cycle "
                              f"{first['cycle']} on {first['signal']}: {first['message']}" if first else None, None))
            if r["harness_errors"]:
                cases.append(("testbench_consistent", "; ".join(r["harness_errors"]), None))
        for name, failure, skipped in cases:
            _case(suite, name, cls, t / max(len(cases), 1), failure, skipped if not failure else None)
            n += 1
            fails += bool(failure)
            skips += bool(skipped and not failure)
    suite.set("tests", str(n))
    suite.set("failures", str(fails))
    suite.set("errors", "0")
    suite.set("skipped", str(skips))
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n")


def format_mismatch(m: dict) -> str:
    if m.get("stream") == "frame":
        return format_frame_mismatch(m)
    got = m["got"]
    got_s = "nothing" if got is None else f"latents {got['latents']} sum_code {got['sum_code']}"
    exp = m["expected"]
    cyc = f"cycle {m['cycle_in']} -> {m['cycle_out']}" if m["cycle_out"] is not None else f"cycle {m['cycle_in']}"
    return (f"vector {m['id']} ({m['label']}, model {m['model_name']}) {m['what']} at {cyc}:\n"
            f"    input    {m['counts']}\n"
            f"    expected latents {exp['latents']} sum_code {exp['sum_code']}\n"
            f"    got      {got_s}")


def format_frame_mismatch(m: dict) -> str:
    exp, got = m["expected"], m["got"]
    cyc = f"cycle {m['cycle_in']} -> {m['cycle_out']}" if m["cycle_out"] is not None else f"cycle {m['cycle_in']}"
    got_s = "nothing" if got is None else " ".join(got["tx_data"])
    return (f"frame of vector {m['id']} ({m['label']}, model {m['model_name']}, bx_reset {m['bx_reset']}) "
            f"{m['what']} at {cyc}:\n"
            f"    expected tx_data {' '.join(exp['tx_data'])} (BX field {exp['bx_field']}, sum_code "
            f"{exp['sum_code']}, latents {exp['latents']}"
            + (f"; e-link count {exp['elinks']}, latent mask {exp['latent_mask']}" if "elinks" in exp else "")
            + ")\n"
            f"    got      tx_data {got_s}")


def failures_file(path: Path, design_dir: Path, models: list[dict], mismatches: list[dict]) -> None:
    path.write_text(json.dumps({"schema": "encoder-sim-failures", "version": 1, "design": str(design_dir),
                                "models": models, "vectors": mismatches}, indent=1) + "\n")
