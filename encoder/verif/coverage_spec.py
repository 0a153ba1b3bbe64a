"""Functional coverage of a generated design: which bins exist, where on the design each is observed,
and which cannot be reached (with the reason).

The bins are sampled on the design by ``encoder.verif.tb.coverage`` from the
signals named here: the ports, the valid pipeline of the top module, and the
requantizers, leading-one detector and module-sum coder found by walking the
instance tree of the generated Verilog. A requantizer's parameters are the
generator's own interval analysis (it builds a clamp only where the
accumulator range can pass the format's limit), so a bin whose hardware was
not built is listed as unreachable with that reason, never dropped.

Bin names are ``group:item``; the groups are in ``GROUPS``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .design import Design

GROUPS = ("rounding_tie", "relu_negative", "saturation_neuron", "saturation_layer", "leading_one",
          "sum_exponent", "elinks", "latent_mask", "reset_in_stage", "cfg_write", "cfg_read",
          "reload_during_traffic")

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_MODULE = re.compile(r"\bmodule\s+(\w+)(.*?)\bendmodule\b", re.S)
_PARAM = re.compile(r"\.(\w+)\s*\(\s*([^()]*?)\s*\)")


def _modules(sources: list[Path]) -> dict[str, str]:
    """Module name -> body (comments removed) over the design's sources."""
    out = {}
    for src in sources:
        text = _COMMENT.sub(" ", src.read_text(errors="replace"))
        for m in _MODULE.finditer(text):
            out[m.group(1)] = m.group(2)
    return out


def instances(body: str, known: set[str]) -> list[tuple[str, str, dict[str, str]]]:
    """(module, instance, parameters as text) of each instantiation of a known module in ``body`` (comments
    removed). Also read by encoder.verify (which primitive parameter set a netlist module came from)."""
    names = "|".join(sorted(known, key=len, reverse=True))
    # \b after the name too: a known name that is a prefix of a longer one (econt_conv of
    # econt_conv_r0_c0_f0) is not an instance of it.
    pat = re.compile(r"\b(" + names + r")\b\s*(#\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?\s*(\w+)\s*\(")
    found = []
    for m in pat.finditer(body):
        params = {k: v for k, v in _PARAM.findall(m.group(2) or "")}
        found.append((m.group(1), m.group(3), params))
    return found


def _walk(mods: dict[str, str], top: str) -> list[tuple[str, str, dict[str, str]]]:
    """(hierarchical path below the top, module, parameters) of every instance under ``top``."""
    known = set(mods)
    out = []

    def rec(module: str, prefix: str) -> None:
        for sub, inst, params in instances(mods[module], known - {module}):
            path = f"{prefix}{inst}"
            out.append((path, sub, params))
            rec(sub, path + ".")

    rec(top, "")
    return out


def _int(v: str | None, default: int = 0) -> int:
    if v is None:
        return default
    v = v.strip()
    m = re.fullmatch(r"(?:\d+)?'[sS]?([dhbDHB])([0-9a-fA-F_]+)", v)
    if m:
        return int(m.group(2).replace("_", ""), {"d": 10, "h": 16, "b": 2}[m.group(1).lower()])
    m = re.match(r"-?\d+", v)
    return int(m.group(0)) if m else default


def _cut_order(layers: list[str]) -> list[str]:
    """Every place a register stage can go, in datapath order (as encoder.rtl_gen.cuts names them)."""
    order = ["charges", "input_path.sum", "input_path"]
    for k, name in enumerate(layers):
        order += [f"{name}.products", f"{name}.tree", f"{name}.accumulator"]
        if k < len(layers) - 1:
            order.append(name)
    return order


def _stage(cuts: list[str], order: list[str], upto: str) -> int:
    """Register stages in front of a point that sits just after cut ``upto``."""
    limit = order.index(upto)
    return sum(1 for c in cuts if c in order and order.index(c) <= limit)


def _output_index(neuron: str, shape: tuple | None) -> int | None:
    """The layer output a MAC instance computes, in the golden model's flat order: dense ``<layer>_j<j>``,
    conv2d ``<layer>_r<row>_c<col>_f<filter>`` over an (H, W, C) output."""
    m = re.search(r"_j(\d+)$", neuron)
    if m:
        return int(m.group(1))
    m = re.search(r"_r(\d+)_c(\d+)_f(\d+)$", neuron)
    if m and shape and len(shape) == 3:
        r, c, f = (int(g) for g in m.groups())
        return (r * shape[1] + c) * shape[2] + f
    return None


def spec(design: Design, ir=None) -> dict:
    """What the coverage monitor samples and the bins it can hit, plus the unreachable bins."""
    m = design.manifest
    mods = _modules(design.sources)
    top_body = mods.get(design.top, "")
    insts = _walk(mods, design.top) if design.top in mods else []
    layers = [lay["name"] for lay in m.get("layers", [])]
    order = _cut_order(layers)
    cuts = [c for c in m.get("cuts", []) if c in order]
    bins: list[str] = []
    unreachable: list[dict] = []
    not_sampled: list[dict] = []

    def add(name: str, reason: str | None = None) -> None:
        bins.append(name)
        if reason:
            unreachable.append({"bin": name, "reason": reason})

    datapath = design.initiation_interval == 1 and not design.gate_level
    shapes = {}
    if ir is not None:
        shapes = {lay.name: tuple(getattr(lay, "output_shape", ()) or ()) for lay in ir.mac_layers}
    requants, leading, sumcode = [], None, None
    if datapath:
        for path, mod, p in insts:
            if mod == "enc_requant":
                parts = path.split(".")
                layer = next((n for n in layers if parts[0] == f"u_{n}"), parts[0])
                neuron = parts[-2][2:] if len(parts) > 1 and parts[-2].startswith("u_") else path
                par = {k: _int(p.get(k), d) for k, d in (
                    ("IN_BITS", 13), ("IN_SIGNED", 1), ("RELU", 1), ("SHIFT", 0), ("ROUNDING", 0),
                    ("OVERFLOW", 0), ("OUT_BITS", 16), ("OUT_SIGNED", 0), ("CLAMP_HI", 1), ("CLAMP_LO", 1))}
                requants.append({"path": path, "layer": layer, "neuron": neuron, "params": par,
                                 "index": _output_index(neuron, shapes.get(layer)),
                                 "stage": _stage(cuts, order, f"{layer}.accumulator") if layer in layers else 0})
            elif mod == "enc_leading_one" and leading is None:
                leading = {"path": path, "in_bits": _int(p.get("IN_BITS"), 1), "stage": _stage(cuts, order, "charges")}
            elif mod == "enc_sum_code" and sumcode is None:
                sumcode = {"path": path, "sum_bits": _int(p.get("SUM_BITS"), 1), "mant_bits": _int(p.get("MANT_BITS"), 1),
                           "exp_bits": _int(p.get("EXP_BITS"), 1), "stage": _stage(cuts, order, "input_path.sum")}
    else:
        why = ("gate-level netlist: the internal signals are cells" if design.gate_level else
               f"--reuse {design.initiation_interval} design: the time-multiplexed datapath is not sampled")
        not_sampled.append({"groups": ["rounding_tie", "relu_negative", "saturation_neuron", "saturation_layer",
                                       "leading_one", "sum_exponent"], "reason": why})

    # ---- datapath bins -----------------------------------------------------
    by_layer: dict[str, list[dict]] = {}
    for r in requants:
        p, n = r["params"], r["neuron"]
        by_layer.setdefault(r["layer"], []).append(r)
        add(f"rounding_tie:{n}", None if p["SHIFT"] > 0 else
            "no rounding here: the accumulator has no more fraction bits than the output (SHIFT <= 0)")
        add(f"relu_negative:{n}", None if p["RELU"] and p["IN_SIGNED"] else
            ("no ReLU on this layer" if not p["RELU"] else
             "interval analysis: the accumulator is never negative (built unsigned)"))
        sat = p["OVERFLOW"] == 0
        add(f"saturation_neuron:{n}:top", None if sat and p["CLAMP_HI"] else
            ("overflow wraps (no saturation)" if not sat else
             "interval analysis: the accumulator cannot pass the format's top (no clamp built)"))
        add(f"saturation_neuron:{n}:bottom", None if sat and p["CLAMP_LO"] else
            ("overflow wraps (no saturation)" if not sat else
             "interval analysis: the value cannot fall below the format's bottom (ReLU or range; no clamp built)"))
    for layer, rs in by_layer.items():
        can = any(r["params"]["OVERFLOW"] == 0 and (r["params"]["CLAMP_HI"] or r["params"]["CLAMP_LO"]) for r in rs)
        add(f"saturation_layer:{layer}", None if can else
            "interval analysis: no output of this layer can pass its format (no clamp built)")
    ip = m.get("input_path", {})
    max_sum = int(ip.get("cells_used", ip.get("cells", 1))) * ((1 << int(ip.get("charge_bits", 1))) - 1)
    top_pos = max_sum.bit_length() - 1
    if leading is not None:
        leading["max_pos"] = top_pos
        add("leading_one:zero_sum")
        for pos in range(leading["in_bits"]):
            add(f"leading_one:{pos}", None if pos <= top_pos else
                f"the module sum is at most {max_sum} (cells x largest count), below 2^{pos}")
    if sumcode is not None:
        mant = sumcode["mant_bits"]
        top_exp = max(top_pos + 1 - mant, 0)
        for e in range(max(sumcode["sum_bits"] - mant, 0) + 1):
            add(f"sum_exponent:{e}", None if e <= top_exp else
                f"the module sum is at most {max_sum}: exponent at most {top_exp}")

    # ---- framing -----------------------------------------------------------
    fr = design.framing
    frame_sig = None
    if fr is not None:
        frame_sig = {"elinks": "frame_elinks" if re.search(r"\bframe_elinks\b", top_body) else None,
                     "mask": "frame_mask" if re.search(r"\bframe_mask\b", top_body) else None}
        for n in range(1 << fr.count_bits):
            add(f"elinks:{n}")
        lat = design.port("out_latents")
        n_lat, lw = lat.fields, lat.element_width
        add("latent_mask:all_ones")
        add("latent_mask:zero")
        for j in range(n_lat):
            for kind in ("sent", "masked", "partial"):
                add(f"latent_mask:latent{j}:{kind}", None if kind != "partial" or lw > 1 else
                    "a one-bit latent is either sent or masked")
        frame_sig.update(n_latents=n_lat, latent_bits=lw)

    # ---- reset in every stage -----------------------------------------------
    valid_pipe = "valid_pipe" if re.search(r"\bvalid_pipe\b", top_body) else None
    stage0 = "valid_taken" if re.search(r"\bvalid_taken\b", top_body) else None
    add("reset_in_stage:input")
    if valid_pipe:
        for k in range(design.latency):
            add(f"reset_in_stage:{k}")
    if fr is not None:
        add("reset_in_stage:frame")

    # ---- configuration port ------------------------------------------------
    cfg = None
    if design.has_cfg:
        points = []           # (label, address, writable, readable)
        regs = design.registers
        reg_m = m.get("registers", {})
        if regs is not None:
            for g in reg_m.get("groups", []):
                base, count = int(g["address"]), int(g["count"])
                blocks = [_int(p.get("COUNT"), count) for path, mod, p in insts
                          if mod in ("enc_cfg_block", "enc_cfg_block_tmr")
                          and re.fullmatch(rf"u_cfg_{re.escape(g['name'])}_b\d+", path)] or [count]
                a = base
                for k, c in enumerate(blocks):
                    label = g["name"] if len(blocks) == 1 else f"{g['name']}_b{k}"
                    points += [(f"{label}:first", a, True, True), (f"{label}:last", a + c - 1, True, True)]
                    a += c
            for r in (reg_m.get("control") or {}).get("registers", []):
                points.append((r["name"], int(r["addr"]), "w" in r["access"], "r" in r["access"]))
        if fr is not None:
            points.append(("elinks", fr.count_addr, True, True))
            points.append(("latent_mask:first", fr.mask_addr, True, True))
            points.append(("latent_mask:last", fr.mask_addr + fr.mask_words - 1, True, True))
        limit = 1 << design.port("cfg_addr").width
        used = {a for _, a, _, _ in points} | (set(regs.addresses) if regs is not None else set())
        free = [a for a in range(limit) if a not in used]
        for label, addr, w, r in points:
            if w:
                add(f"cfg_write:{label}")
            if r:
                add(f"cfg_read:{label}")
        if free:
            add("cfg_write:unmapped")
            add("cfg_read:unmapped")
        cfg = {"points": [{"label": lb, "addr": a, "write": w, "read": r} for lb, a, w, r in points],
               "mapped": sorted(used)}
    ctrl = design.registers.control if design.registers is not None else None
    if design.programmable:
        add("reload_during_traffic", None if ctrl and design.registers.bank == "shadow" else
            "weights are written in place (direct bank): a reload needs the datapath idle")
    # enc_cfg_ctrl's own wire: high while a bank has yet to copy the last COMMIT.
    pending = "u_cfg_ctrl.pending" if re.search(r"\benc_cfg_ctrl(_tmr)?\b", top_body) and not design.gate_level \
        else None
    if pending and design.registers.bank == "shadow":
        add("weight_write_while_copying", None if design.registers.commit_stages > 1 else
            "one commit stage: every bank copies on the edge after the COMMIT write, no write can fall in the copy")
    if fr is not None:
        add("framing_write_during_traffic")

    return {
        "top": design.top, "latency": design.latency, "valid_pipe": valid_pipe, "stage0_valid": stage0,
        "requants": requants, "leading_one": leading, "sum_code": sumcode, "framing": frame_sig,
        "cfg": cfg, "commit_addr": ctrl["COMMIT"] if ctrl and "COMMIT" in ctrl else None, "pending": pending,
        "bins": bins, "unreachable": unreachable, "not_sampled": not_sampled,
    }


def bin_group(name: str) -> str:
    return name.split(":", 1)[0]


def merge_reach(reaches: list[dict | None]) -> dict | None:
    """The directed pools' reach of several runs (other seeds or weight sets) as one: a bin is out of
    reach only if no run's golden model finds an input for it with that run's weights."""
    reaches = [r for r in reaches if r]
    if not reaches:
        return None
    out: dict = {}
    for reach in reaches:
        for layer, got in reach.items():
            m = out.setdefault(layer, {"outputs": got.get("outputs")})
            for key, value in got.items():
                if isinstance(value, list):
                    m[key] = sorted(set(m.get(key, [])) | set(value))
    return out


def _weight_limited(spec_: dict, reach: dict | None) -> dict[str, str]:
    """Datapath bins that the golden model finds no input for with the loaded weight set: on a
    programmable design they need other weights (the format's extremes), not other inputs."""
    if not reach:
        return {}
    out = {}
    for r in spec_["requants"]:
        got, j = reach.get(r["layer"]), r.get("index")
        if got is None or j is None:
            continue
        for group, key, suffix in (("relu_negative", "relu_negative", ""), ("rounding_tie", "rounding_tie", ""),
                                   ("saturation_neuron", "saturation_top", ":top")):
            if j not in got.get(key, []):
                out[f"{group}:{r['neuron']}{suffix}"] = (f"golden model: no input of the directed pool reaches it with "
                                                         f"the weight set(s) loaded ({r['layer']}[{j}])")
    for layer in {r["layer"] for r in spec_["requants"]}:
        if all(f"saturation_neuron:{r['neuron']}:top" in out for r in spec_["requants"] if r["layer"] == layer):
            out[f"saturation_layer:{layer}"] = "golden model: no output of the layer passes its top with the weight set(s) loaded"
    return out


def summarise(spec_: dict, hits: dict[str, int], reach: dict | None = None) -> dict:
    """coverage.functional of summary.json: hit / total over the reachable bins, the missed ones
    (each with why, where the golden model can tell: a limit of the weight set, else a stimulus
    hole), the unreachable ones with their reasons, and per group."""
    unreachable = {u["bin"]: u["reason"] for u in spec_["unreachable"]}
    reachable = [b for b in spec_["bins"] if b not in unreachable]
    hit = [b for b in reachable if hits.get(b, 0) > 0]
    missed = [b for b in reachable if not hits.get(b, 0)]
    groups: dict[str, dict] = {}
    for b in spec_["bins"]:
        g = groups.setdefault(bin_group(b), {"hit": 0, "total": 0, "unreachable": 0})
        if b in unreachable:
            g["unreachable"] += 1
        else:
            g["total"] += 1
            g["hit"] += int(hits.get(b, 0) > 0)
    # Bins the design hit although called unreachable would mean the reasoning is wrong: say so.
    contradicted = [b for b in unreachable if hits.get(b, 0)]
    limited = _weight_limited(spec_, reach)
    return {"hit": len(hit), "total": len(reachable),
            "missed_why": {b: limited.get(b, "stimulus hole") for b in missed},
            "pct": round(100.0 * len(hit) / len(reachable), 2) if reachable else 100.0,
            "unreachable": [{"bin": b, "reason": r} for b, r in unreachable.items()],
            "missed": missed, "groups": groups, "not_sampled": spec_["not_sampled"],
            "unreachable_but_hit": contradicted,
            "hits": {b: int(hits[b]) for b in spec_["bins"] if hits.get(b)}}


def table(func: dict) -> list[str]:
    """Readable lines: per group hit / reachable (unreachable)."""
    lines = [f"functional coverage: {func['hit']} of {func['total']} reachable bins hit ({func['pct']} %), "
             f"{len(func['unreachable'])} unreachable"]
    for g, v in func["groups"].items():
        lines.append(f"  {g:<26} {v['hit']:>5} / {v['total']:<5}" + (f"  ({v['unreachable']} unreachable)"
                                                                      if v["unreachable"] else ""))
    if func["missed"]:
        holes = [b for b in func["missed"] if func["missed_why"].get(b) == "stimulus hole"]
        lines.append(f"  missed: {len(func['missed'])}, of which {len(func['missed']) - len(holes)} out of reach of the "
                     f"weight set loaded (golden model) and {len(holes)} stimulus holes"
                     + (f": {', '.join(holes[:12])}" + (" ..." if len(holes) > 12 else "") if holes else ""))
    return lines
