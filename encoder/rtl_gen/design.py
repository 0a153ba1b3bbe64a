"""IR + options -> the files of a design (Verilog, manifest, IR copy)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import UserError, warn
from ..files import atomic_dir
from ..ir import EncoderIR, load_ir
from .common import Options
from .input_path import input_path_module
from .layer import layer_module, mac_modules
from . import tmr, tmr_full
from .plan import DesignPlan, plan_design, register_image, register_index
from .cuts import choose_cuts, cut_points
from .mac_reuse import check_reuse, reuse_cuts, reuse_layer_module
from .framing import manifest_registers
from .i2c import manifest_map as i2c_manifest_map
from .i2c import table as i2c_table
from .top import Framing, top_module

def _rtl_dir() -> Path:
    """The hand-written primitives: rtl/ of the source tree (editable install, checkout), else the copy
    a wheel installs under <prefix>/share/encoder/rtl (pyproject's data-files)."""
    tree = Path(__file__).resolve().parents[2] / "rtl"
    if tree.is_dir():
        return tree
    return Path(sys.prefix) / "share" / "encoder" / "rtl"


RTL_DIR = _rtl_dir()

# Primitives each generated design uses, in compile order.
PRIMITIVES_COMMON = ["enc_round_shift", "enc_requant", "enc_leading_one", "enc_normalise", "enc_sum_code"]
PRIMITIVES_BY_MODE = {"programmable": ["enc_mul", "enc_cfg_block", "enc_cfg_ctrl"], "constant": ["enc_mul_const"]}
CONFIG_BANKS = ("shadow", "direct")
CONFIG_PORTS = ("parallel", "i2c")
# --config-port i2c: the byte-image bank and the I2C target instead of the field banks.
PRIMITIVES_I2C = ["enc_mul", "enc_cfg_image", "enc_cfg_ctrl", "enc_i2c_sync_filter", "enc_i2c_target"]
PRIMITIVES_FRAMING = ["enc_frame_cfg", "enc_elink_frame"]
# --reuse R > 1: general multipliers (constant weights too: a constant per phase), selectors, accumulators.
PRIMITIVES_REUSE = {"programmable": ["enc_mul", "enc_field_sel", "enc_acc_tm", "enc_cfg_block", "enc_cfg_ctrl"],
                    "constant": ["enc_mul", "enc_field_sel", "enc_acc_tm"],
                    "constant-products": ["enc_mul_const", "enc_field_sel", "enc_acc_tm"]}


def primitive_path(name: str) -> Path:
    p = RTL_DIR / f"{name}.v"
    if not p.is_file():
        raise UserError(f"{p}: primitive not found (reinstall the package, or run from the source tree)")
    return p


@dataclass
class GeneratedDesign:
    plan: DesignPlan
    files: dict[str, str]          # file name -> text (generated modules and copied primitives)
    sources: list[str]             # compile order
    manifest: dict

    @property
    def top(self) -> str:
        return self.plan.top


def _layer_inputs(plan: DesignPlan, k: int) -> tuple[list[int], list[str]]:
    """Bus slot of every flat input of layer k, and a description of the x bus."""
    lp = plan.layers[k]
    if lp.first:
        ip = plan.input
        slot_of_cell = {c: i for i, c in enumerate(ip.used_cells)}
        p2c = plan.ir.input.pixel_to_cell
        slots = [slot_of_cell[int(c)] if c >= 0 else -1 for c in p2c]
        desc = [f"input codes of the used cells, cell order (pixel -> cell: {plan.ir.input.arrangement})",
                "Input pixels (masked pixels are constant zero and have no wire):"]
        return slots, desc
    prev = plan.layers[k - 1]
    return list(range(len(prev.neurons))), [f"outputs of layer \"{prev.layer.name}\", flat (row, col, channel) order"]


def _multiplier_facts(plan: DesignPlan) -> dict:
    prog = plan.weights == "programmable"
    by_width: Counter = Counter()
    per_layer = []
    for lp in plan.layers:
        wf = lp.layer.weight_format
        layer_count: Counter = Counter()
        for n in lp.neurons:
            for t in n.taps:
                key = (lp.in_bits, lp.in_signed, wf.bits, wf.signed) if prog else (lp.in_bits, lp.in_signed, t.weight)
                layer_count[key] += 1
        for key, c in layer_count.items():
            by_width[(lp.name,) + key] += c
        removed = {"padding": sum(n.removed_padding for n in lp.neurons),
                   "masked": sum(n.removed_masked for n in lp.neurons),
                   "zero_weight": sum(n.removed_zero_weight for n in lp.neurons)}
        per_layer.append({"layer": lp.layer.name, "products": lp.n_products, "removed_taps": removed})
    if prog:
        rows = [{"layer": k[0], "a_bits": k[1], "a_signed": k[2], "b_bits": k[3], "b_signed": k[4], "count": c}
                for k, c in sorted(by_width.items())]
        kind = "enc_mul: signed multiply of a_bits x b_bits (an unsigned operand is zero-extended by one bit)"
    else:
        agg: Counter = Counter()
        for k, c in by_width.items():
            agg[k[:3]] += c
        rows = [{"layer": k[0], "a_bits": k[1], "a_signed": k[2], "constant": True, "count": c}
                for k, c in sorted(agg.items())]
        kind = ("constant weights, multiplier-free: each input's odd multiples x*m (one shift-and-add each) "
                "computed once per layer, a product = a slice (complemented when negative) of one of them, "
                "sums of terms common to several outputs computed once; enc_mul_const (canonical signed "
                "digits) per product only for signed inputs or products rounded other than by floor")
    return {"total": sum(lp.n_products for lp in plan.layers), "primitive": kind, "by_width": rows,
            "by_layer": per_layer}


def chip_registers(ir: EncoderIR) -> dict:
    """The non-weight chip registers an IR from `encoder econt import` keeps in its source (else empty)."""
    src = ir.source.get("econt") if isinstance(ir.source, dict) else None
    return src if isinstance(src, dict) else {}


def framing_for(plan: DesignPlan, elinks: int | str | None) -> Framing | None:
    """The framing block for ``--elinks``: None (no framing), a count, or "chip" (the IR's chip configuration).

    The latent mask is the chip configuration's (mask_ae above mask_ae2) when
    the IR has one, else all ones.
    """
    if elinks is None:
        return None
    ir = plan.ir
    regs = chip_registers(ir)
    if elinks == "chip":
        if "n_elinks" not in regs:
            raise UserError(f"--elinks chip: IR {ir.name!r} has no chip configuration (not from `encoder econt "
                            f"import`); give the number of e-links")
        elinks = regs["n_elinks"]
    try:
        n = int(elinks)
    except (TypeError, ValueError):
        raise UserError(f"--elinks: expected a number of e-links or 'chip', got {elinks!r}") from None
    word = ir.n_latent * plan.latent_bits
    if "mask_ae" in regs and "mask_ae2" in regs:
        try:
            mask = (int(str(regs["mask_ae"]), 16) << 16) | int(str(regs["mask_ae2"]), 16)
        except ValueError:
            raise UserError(f"IR {ir.name!r}: source.econt latent masks must be hex strings") from None
        framing = Framing(n, mask, "the chip configuration's mask_ae, mask_ae2")
    else:
        framing = Framing(n, (1 << word) - 1, "all latent bits")
    framing.check(word, plan.input.sum_code_bits)
    selected = bin(framing.mask).count("1")
    room = framing.field_bits(plan.input.sum_code_bits)
    if selected > room:
        warn(f"--elinks {n}: the frame has room for {room} latent bits, so {selected - room} of the {selected} "
             f"latent bits ({ir.n_latent} x {plan.latent_bits}-bit latents{', after the mask' if selected < word else ''}) "
             f"are dropped; use more e-links or narrower latents")
    return framing


def generate(ir: EncoderIR, weights: str = "programmable", pipeline: int = 0, ir_text: str | None = None,
             elinks: int | str | None = None, cuts: list[str] | tuple[str, ...] | None = None,
             config_bank: str = "shadow", tmr_mode: str = "none", config_port: str = "parallel",
             i2c_address: int = 0x20, operand_isolation: bool = True, reuse: int = 1,
             reuse_constants: str = "multiplier", product_register: bool = False) -> GeneratedDesign:
    """Everything `encoder rtl` writes, as text in memory (deterministic).

    ``elinks``: add the e-link framing block (see ``framing_for``); None: latents out only.
    ``cuts``: the exact set of register stages by name (see ``encoder.rtl_gen.cuts``; order does
    not matter), instead of ``pipeline``; [] leaves only the output registers.
    ``reuse``: products per multiplier (``encoder.rtl_gen.mac_reuse``); 1 is the fully parallel design.
    ``reuse_constants`` (constant weights, reuse > 1): "multiplier" (a general multiplier fed a per-phase
    literal, the default: the cheaper one measured) or "products" (R shift-and-add constant products
    muxed), kept for the measurement in benchmarks/bench_reuse.py.
    ``product_register`` (reuse > 1): a register after every multiplier, one more cycle per layer.
    ``config_bank`` (programmable weights): "shadow" (writes to a shadow bank, COMMIT copies it into
    the active bank) or "direct" (one bank written in place).
    """
    if config_bank not in CONFIG_BANKS:
        raise UserError(f"--config-bank: {config_bank!r} is not one of {', '.join(CONFIG_BANKS)}")
    if config_port not in CONFIG_PORTS:
        raise UserError(f"--config-port: {config_port!r} is not one of {', '.join(CONFIG_PORTS)}")
    if config_port == "i2c" and weights != "programmable":
        raise UserError("--config-port i2c: constant weights have no configuration registers to reach; "
                        "use --weights programmable")
    plan = plan_design(ir, weights)
    reuse = check_reuse(reuse)
    if reuse > 1 and (config_port != "parallel" or tmr_mode != "none"):
        raise UserError(f"--reuse {reuse} is not yet combined with "
                        + ("--config-port i2c" if config_port != "parallel" else f"--tmr {tmr_mode}")
                        + "; use --reuse 1 or the parallel port without --tmr")
    if reuse > 1:
        chosen = reuse_cuts(plan, reuse, pipeline, list(cuts) if cuts is not None else None)
    else:
        chosen = choose_cuts(plan, pipeline, list(cuts) if cuts is not None else None)
    # The headers name the stages as --cuts would, in datapath order.
    given = None if cuts is None else tuple(c.name for c in cut_points(plan) if c.name in set(cuts))
    if product_register and reuse == 1:
        raise UserError("--product-register needs --reuse R with R > 1: the fully parallel layers place their "
                        "stages with --pipeline or --cuts")
    if reuse_constants not in ("multiplier", "products"):
        raise UserError(f"reuse_constants: {reuse_constants!r} is not 'multiplier' or 'products'")
    if tmr_mode != "none" and config_port == "i2c":
        raise UserError("--tmr: the triplicated banks are built for the parallel configuration port, "
                        "not --config-port i2c")
    opts = Options(weights, pipeline, given, frozenset(c.name for c in chosen), config_bank=config_bank,
                   tmr=tmr.check_mode(tmr_mode, weights), config_port=config_port, i2c_address=i2c_address,
                   operand_isolation=operand_isolation, reuse=reuse,
                   reuse_constants=reuse_constants, product_register=bool(product_register))
    framing = framing_for(plan, elinks)
    files: dict[str, str] = {}
    gen_order: list[str] = []
    inner_flops = 0
    clocked: set[str] = set()

    reuse_mults: list[list] = []
    for k, lp in enumerate(plan.layers):
        if reuse > 1:
            slots, desc = _layer_inputs(plan, k)
            mod = f"{plan.top}_{lp.name}"
            em, mults = reuse_layer_module(plan, opts, lp, slots, desc)
            files[f"{mod}.v"] = em.text
            gen_order.append(f"{mod}.v")
            inner_flops += em.flops
            reuse_mults.append(mults)
            continue
        macs = mac_modules(plan, opts, lp)
        for mod, (em, count) in macs.items():
            files[f"{mod}.v"] = em.text
            gen_order.append(f"{mod}.v")
            inner_flops += em.flops * count
        slots, desc = _layer_inputs(plan, k)
        mod = f"{plan.top}_{lp.name}"
        layer = layer_module(plan, opts, lp, slots, desc, frozenset(m for m, (em, _) in macs.items() if em.flops))
        files[f"{mod}.v"] = layer.text
        gen_order.append(f"{mod}.v")
        inner_flops += layer.flops
        if layer.flops or any(em.flops for em, _ in macs.values()):
            clocked.add(mod)
    ipath = input_path_module(plan, opts)
    files[f"{plan.top}_input_path.v"] = ipath.text
    gen_order.append(f"{plan.top}_input_path.v")
    inner_flops += ipath.flops
    if ipath.flops:
        clocked.add(f"{plan.top}_input_path")
    top_text, facts = top_module(plan, opts, chosen, framing, frozenset(clocked))
    facts["pipeline_bits"] += inner_flops
    facts["cuts"] = [c.name for c in chosen]
    facts["config_bank"] = config_bank
    facts["product_register"] = opts.product_register
    files[f"{plan.top}.v"] = top_text
    gen_order.append(f"{plan.top}.v")

    mode = "constant-products" if weights == "constant" and reuse_constants == "products" else weights
    base = (PRIMITIVES_REUSE[mode] if reuse > 1 else PRIMITIVES_I2C if config_port == "i2c"
            else PRIMITIVES_BY_MODE[weights])
    prims = (base + PRIMITIVES_COMMON
             + (PRIMITIVES_FRAMING if framing else []))
    if tmr_mode != "none":
        prims = [p for p in prims if p != "enc_cfg_block"] + tmr.PRIMITIVES
    for p in prims:
        files[f"{p}.v"] = primitive_path(p).read_text()
    if tmr_mode == "full":
        prims = _triplicate_all(files, prims, gen_order, facts, plan.top)
    sources = [f"{p}.v" for p in prims] + gen_order

    files["ir.json"] = ir_text if ir_text is not None else json.dumps(ir.to_dict(), indent=1) + "\n"
    manifest = _manifest(plan, opts, facts, sources, framing)
    if reuse > 1:
        _reuse_manifest(manifest, plan, reuse, facts, reuse_mults)
    files["manifest.json"] = json.dumps(manifest, indent=1) + "\n"
    # cocotb habits: a file list and a Makefile, so that `make -C DIR SIM=icarus` runs the kit's testbench.
    from ..verif.cocotb_make import files_f, makefile_text
    files["files.f"] = files_f(sources)
    files["Makefile"] = makefile_text(plan.top)
    if config_port == "i2c":
        files["i2c_map.md"] = i2c_table(manifest)
    return GeneratedDesign(plan, files, sources, manifest)


def _triplicate_all(files: dict[str, str], prims: list[str], gen_order: list[str], facts: dict, top: str
                    ) -> list[str]:
    """--tmr full: every module with registers rewritten (encoder.rtl_gen.tmr_full), the primitives with
    registers replaced by their triplicated forms; the manifest's list of triplicated registers read back
    from the result. Returns the primitives' new names."""
    from ..verif.seu import inventory_of_texts, triplet
    for name in gen_order:
        files[name] = tmr_full.rewrite(files[name], tmr_full.RENAMES)[0]
    out = []
    for p in prims:
        if p in tmr_full.RENAMES:
            new = tmr_full.RENAMES[p]
            files[f"{new}.v"] = tmr_full.primitive(p, files.pop(f"{p}.v"))
            p = new
        out.append(p)
    regs = inventory_of_texts(top, {n[:-2]: files[n] for n in [f"{p}.v" for p in out] + gen_order})
    loose = [r.path for r in regs if triplet(r.path) is None]
    if loose:
        raise RuntimeError(f"--tmr full left register {loose[0]} single")
    trip: dict[str, dict] = {}
    for r in regs:
        name, _ = triplet(r.path)
        t = trip.setdefault(name, {"register": name, "what": r.kind, "bits": r.width, "copies": []})
        t["copies"].append(r.path)
    facts["tmr"]["triplicated"] = list(trip.values())
    facts["tmr"]["triplicated_bits"] = sum(t["bits"] for t in trip.values())
    return out


def _manifest(plan: DesignPlan, opts: Options, facts: dict, sources: list[str], framing: Framing | None = None
              ) -> dict:
    ir, ip = plan.ir, plan.input
    layers = []
    for lp in plan.layers:
        layer = lp.layer
        layers.append({
            "name": layer.name, "op": layer.op,
            "input": {"bits": lp.in_bits, "signed": lp.in_signed, "frac": lp.in_frac, "range": [lp.in_lo, lp.in_hi]},
            "weight_format": layer.weight_format.to_dict(), "bias_format": layer.bias_format.to_dict(),
            "product": {"exact": lp.product_shift == 0, "frac": lp.product_frac,
                        "rounding": layer.product_rounding if lp.product_shift else None},
            "accumulator": {"bits": lp.acc_bits, "signed": lp.acc_signed, "frac": lp.acc_frac,
                            "range": [lp.acc_lo, lp.acc_hi], "analysis": lp.acc_analysis},
            "activation": layer.activation,
            "output": {**layer.output.to_dict(), "carried_bits": lp.code_bits, "range": [lp.out_lo, lp.out_hi]},
            "outputs": len(lp.neurons), "products": lp.n_products,
        })
    m = {
        "generator": {"tool": "encoder rtl", "version": __version__},
        "top": plan.top,
        "sources": sources,
        "ir": "ir.json",
        "ir_name": ir.name,
        "ir_hash": ir.hash,
        "arithmetic": ir.arithmetic,
        "weights": opts.weights,
        "pipeline": opts.pipeline if opts.cuts is None else None,
        "latency": facts["latency"],
        "initiation_interval": 1,
        "register_stages": facts["stages"],
        "cuts": facts["cuts"],
        "clock": "clk",
        "reset": {"name": "rst", "active": "high", "sync": True},
        "operand_isolation": opts.operand_isolation,
        "ports": facts["ports"],
        "input_path": {"cells": ip.n_cells, "charge_bits": ip.charge_bits, "module_sum_bits": ip.sum_bits,
                       "shift_bits": ip.shift_bits, "normalisation": ip.normalisation,
                       "code_format": ir.input.format.to_dict(), "rounding": ip.rounding,
                       "cells_used": len(ip.used_cells), "sum_code_bits": ip.sum_code_bits},
        "layers": layers,
        "multipliers": _multiplier_facts(plan),
        "register_bits": _register_bits(plan, facts),
    }
    fregs = facts.get("framing_regs")
    if framing:
        m["framing"] = {
            "elinks": framing.elinks, "elink_bits": 32, "latency": facts["latency"] + 1,
            "frame": f"BX counter (5 bits) | module-sum code ({ip.sum_code_bits} bits) | latent field "
                     f"(32 count - {5 + ip.sum_code_bits} bits) on TX_DATA_0..count-1, TX_DATA_0 most "
                     f"significant; e-links count..{framing.elinks - 1} zero",
            "elinks_reset": framing.elinks,
            "latent_mask": f"0x{framing.mask:x}", "latent_mask_source": framing.mask_source,
            "registers": ["elinks", "latent_mask"],
            "takes_effect": "a write with cfg_we high in cycle t applies to every BX with valid_out high after "
                            "cycle t; rst loads the reset values",
            "bx_counter": "counts every crossing (BX), with data or not, modulo 16 from reset; bx_reset, taken on "
                          "any cycle, starts a crossing that sends 31, and the next ones send 1, 2, ...; a frame "
                          "carries the BX of the crossing its data came in on",
            "crossing_cycles": opts.reuse,
            "reference": "encoder.econt.framing.frame_words",
        }
    if opts.weights == "programmable":
        fields = []
        for lp in plan.layers:
            layer = lp.layer
            n_w = layer.weight.size
            reg_to_keras = [0] * n_w
            for k in range(n_w):
                reg_to_keras[register_index(layer, k)] = k
            for r in range(n_w):
                fields.append({"addr": lp.weight_base + r, "layer": layer.name, "kind": "weight",
                               "index": reg_to_keras[r], "bits": layer.weight_format.bits})
            for b in range(layer.bias.size):
                fields.append({"addr": lp.bias_base + b, "layer": layer.name, "kind": "bias", "index": b,
                               "bits": layer.bias_format.bits})
        m["registers"] = {
            "data_width": plan.cfg_data_bits, "addr_width": plan.cfg_addr_bits, "read_latency": 1,
            "keep_through_reset": True, "fields": plan.n_fields, "total_bits": plan.config_bits,
            "blocks": facts["cfg_blocks"], "bank": opts.config_bank, "port": opts.config_port,
            "control": _control_map(plan, opts, facts),
            "groups": [{"name": g.name, "layer": g.layer, "kind": g.kind, "address": g.base, "count": g.count,
                        "width": g.bits, "order": g.order} for g in plan.groups],
            "image_function": "encoder.rtl_gen.register_image(ir)",
            "map": fields,
        }
    if fregs:
        # The framing registers, on the weights' port (programmable) or on a port of their own.
        regs = m.setdefault("registers", {"read_latency": 1, "keep_through_reset": False, "fields": 0,
                                          "total_bits": 0, "blocks": 0, "groups": [], "map": []})
        regs.update(data_width=fregs.data_bits, addr_width=fregs.addr_bits)
        regs["framing"] = manifest_registers(framing, fregs)
    if "tmr" in facts:
        # Triplicated registers and the counters; the counters may have widened the address.
        t = dict(facts["tmr"])
        m["registers"]["addr_width"] = t.pop("addr_width")
        m["tmr"] = t
        counter_bits = t["counters"]["bits"] * len(t["counters"]["blocks"])
        if t["mode"] == "full":
            # Every flip-flop is in a triplet, the counters' too. triplicated_bits counts declared bits; the
            # register stages' low bits known to be zero have no flip-flop (register_bits counts none).
            one = m["register_bits"]["total"] + counter_bits
            t["flip_flops_per_copy"] = one
            m["register_bits"]["tmr_copies"] = 2 * one
        else:
            m["register_bits"]["tmr_copies"] = 2 * t["triplicated_bits"]
        m["register_bits"]["tmr_counters"] = counter_bits
        m["register_bits"]["total"] += m["register_bits"]["tmr_copies"] + counter_bits
    if facts.get("i2c_map") is not None:
        # Over I2C the registers are bytes: the field addresses of the parallel port do not apply.
        regs = m["registers"]
        regs.update(port="i2c", data_width=8, addr_width=16, map=[],
                    i2c=i2c_manifest_map(plan, facts["i2c_map"], regs.get("framing")))
    return m


def _reuse_manifest(m: dict, plan: DesignPlan, reuse: int, facts: dict, mults: list[list]) -> None:
    """What --reuse R changes in the manifest (R = 1 keeps today's manifest, without these keys)."""
    lat = facts["latency"]
    m["initiation_interval"] = reuse
    m["reuse"] = {
        "factor": reuse,
        "clock_ratio": reuse,
        "clock_mhz_for_40mhz_modules": 40 * reuse,
        "initiation_interval_cycles": reuse,
        "latency_cycles": lat,
        "latency_modules": lat / reuse,
        "latency_ns_at_40mhz_modules": lat * 25.0 / reuse,
        "valid_in": f"at most once every {reuse} cycles; a valid_in within {reuse - 1} cycles of the last one "
                    f"taken is ignored (no output for it) and raises overrun the next cycle",
        "packing": "each layer's products in output order, product g on multiplier g // R in phase g % R",
    }
    if facts["product_register"]:
        # Only when set: the manifests of designs without it stay as they were (and their reports valid).
        m["reuse"].update(product_register=True, cycles_per_layer=reuse + 2)
    rows: Counter = Counter()
    per_layer = []
    for lp, ms in zip(plan.layers, mults):
        for f in ms:
            rows[(lp.name, f.a_bits, f.a_signed, f.b_bits, f.b_signed)] += 1
        per_layer.append({"layer": lp.layer.name, "products": lp.n_products, "multipliers": len(ms),
                          "bound": -(-lp.n_products // reuse)})
    mult = m["multipliers"]
    mult["products"] = mult["total"]
    mult["total"] = sum(len(ms) for ms in mults)
    mult["primitive"] = ("enc_mul: signed multiply of a_bits x b_bits, each serving up to R products (one per "
                         "phase); operands through enc_field_sel" + ("" if plan.weights == "programmable" else
                                                                       ": with constant weights, a literal per phase"))
    mult["by_width"] = [{"layer": k[0], "a_bits": k[1], "a_signed": k[2], "b_bits": k[3], "b_signed": k[4],
                         "count": c} for k, c in sorted(rows.items())]
    for row, extra in zip(mult["by_layer"], per_layer):
        row.update(multipliers=extra["multipliers"], bound=extra["bound"])


def _control_map(plan: DesignPlan, opts: Options, facts: dict) -> dict:
    """The control and status registers (rtl/enc_cfg_ctrl.v) and the commit protocol, for the manifest."""
    base = facts["ctrl_base"]
    data_bits = facts["cfg_data_bits"]
    return {
        "base": base,
        "registers": [
            {"name": "COMMIT", "addr": base, "access": "w", "meaning": "write 1: copy the shadow banks into the "
                                                                          "active banks (reads 0)"},
            {"name": "ENABLE", "addr": base + 1, "access": "rw", "meaning": "bit 0: let valid_in through once a "
                                                                              "weight set is committed"},
            {"name": "RD_ACTIVE", "addr": base + 2, "access": "rw", "meaning": "bit 0: read-back shows the "
                                                                                 "active banks (0: shadow)"},
            {"name": "STATUS", "addr": base + 3, "access": "r",
             "meaning": "bit 0: weights loaded (a commit since the configuration reset); bit 1: a commit is still "
                        "copying, weight writes are dropped"},
            {"name": "COMMITS", "addr": base + 4, "access": "r",
             "meaning": f"commits since the configuration reset, modulo 2^{data_bits}"},
            {"name": "UNMAPPED", "addr": base + 5, "access": "r",
             "meaning": f"writes that hit no register, saturating at {(1 << data_bits) - 1}"},
            {"name": "DROPPED", "addr": base + 6, "access": "r",
             "meaning": f"weight writes dropped while a commit was copying (STATUS bit 1), saturating at "
                        f"{(1 << data_bits) - 1}"},
        ],
        "unmapped_read_value": 0,
        "commit_stages": facts["commit_stages"],
        "first_crossing_after_commit": 2,
        # Weight writes in the cycles after the COMMIT write's cycle while a bank has yet to copy are
        # dropped (STATUS bit 1, DROPPED): cycles 1 .. commit_stages - 1 after it; with --reuse a layer's
        # copy also waits for a crossing boundary, up to reuse - 1 cycles more.
        "dropped_after_commit": ([1, facts["commit_stages"] - 1 + (opts.reuse - 1)]
                                 if opts.config_bank == "shadow" and facts["commit_stages"] - 1 + opts.reuse > 1
                                 else None),
        "dropped_window_exact": opts.reuse == 1,
        "commit": ("a crossing sampled on valid_in 2 or more clock edges after the edge that takes the COMMIT "
                   "write uses the new weight set, every earlier crossing the old one"
                   if opts.config_bank == "shadow" else
                   "direct bank: writes take effect at once; COMMIT only marks the weights loaded"),
        "reset": "cfg_rst clears both banks to zero and every control register",
    }


def _register_bits(plan: DesignPlan, facts: dict) -> dict:
    """Flip-flops by purpose: pipeline (data and valid), configuration fields (the active bank), the shadow
    bank, control and status, read-back register."""
    config = plan.config_bits if plan.groups else 0
    shadow = config if plan.groups and facts.get("config_bank") == "shadow" else 0
    control = facts.get("control_bits", 0)
    readback = plan.cfg_data_bits if plan.groups else 0
    fregs = facts.get("framing_regs")
    if fregs:
        config += fregs.count_bits + fregs.mask_bits
        readback = fregs.data_bits
    return {"pipeline": facts["pipeline_bits"], "config": config, "shadow": shadow, "control": control,
            "readback": readback, "total": facts["pipeline_bits"] + config + shadow + control + readback}


def control_writes(manifest: dict) -> list[tuple[int, int]]:
    """(address, word) written after a design's weight image to put it in force: COMMIT, RD_ACTIVE (the
    read-back then shows what the datapath uses) and ENABLE. Empty for designs without control registers."""
    control = manifest.get("registers", {}).get("control")
    if not control:
        return []
    addr = {r["name"]: r["addr"] for r in control["registers"]}
    return [(addr["COMMIT"], 1), (addr["RD_ACTIVE"], 1), (addr["ENABLE"], 1)]


def has_cfg_reset(manifest: dict) -> str | None:
    """The configuration reset port's name (held high with the datapath reset at power-up), or None."""
    return next((p["name"] for p in manifest.get("ports", []) if p.get("role") == "cfg_reset"), None)


def write_design(design: GeneratedDesign, out: str | Path, force: bool = False) -> Path:
    """Write every file into out atomically (a temporary directory renamed into place)."""
    out = Path(out)
    with atomic_dir(out, overwrite=force, marker="manifest.json") as tmp:
        for name, text in design.files.items():
            (tmp / name).write_text(text)
    return out


def generate_from_file(ir_path: str | Path, weights: str = "programmable", pipeline: int = 0,
                       elinks: int | str | None = None, cuts: list[str] | None = None,
                       config_bank: str = "shadow", tmr_mode: str = "none", config_port: str = "parallel",
                       i2c_address: int = 0x20, operand_isolation: bool = True, reuse: int = 1,
                       reuse_constants: str = "multiplier", product_register: bool = False) -> GeneratedDesign:
    ir_path = Path(ir_path)
    ir = load_ir(ir_path)
    return generate(ir, weights, pipeline, ir_text=ir_path.read_text(), elinks=elinks, cuts=cuts,
                    config_bank=config_bank, tmr_mode=tmr_mode, config_port=config_port, i2c_address=i2c_address,
                    operand_isolation=operand_isolation, reuse=reuse,
                    reuse_constants=reuse_constants, product_register=product_register)


__all__ = ["GeneratedDesign", "generate", "generate_from_file", "write_design", "register_image", "RTL_DIR",
           "control_writes", "has_cfg_reset"]
