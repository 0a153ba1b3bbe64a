"""The top module: ports, pipeline registers, valid pipeline, register file."""

from __future__ import annotations

from dataclasses import dataclass

from .common import Options, _assign_concat, _instance, header
from .cuts import MAC_STAGES, Cut, available_cuts, choose_cuts, cut_points, pipeline_order  # noqa: F401  (API)
from .framing import BX_FIELD_BITS, ELINK_BITS, MAX_ELINKS, Framing, FramingRegs, framing_regs  # noqa: F401  (API)
from .framing import emit as _emit_framing
from .framing import header_lines as _framing_header
from . import tmr
from .plan import CFG_CONTROL_REGS, DesignPlan
from . import i2c
from .verilog import Writer, fmt_name, ports_block, vec

CFG_BLOCK = 64          # fields per configuration block (one enc_cfg_block)


@dataclass
class CfgBlock:
    group: str            # e.g. dense_weight
    index: int            # block number within the group
    first: int            # first field (within the group)
    count: int
    bits: int
    addr_bits: int        # local address width


def cfg_blocks(plan: DesignPlan) -> list[CfgBlock]:
    blocks = []
    for g in plan.groups:
        if g.count <= CFG_BLOCK:
            blocks.append(CfgBlock(g.name, 0, 0, g.count, g.bits, max(1, (g.count - 1).bit_length())))
        else:
            for k, first in enumerate(range(0, g.count, CFG_BLOCK)):
                blocks.append(CfgBlock(g.name, k, first, min(CFG_BLOCK, g.count - first), g.bits,
                                       (CFG_BLOCK - 1).bit_length()))
    return blocks


def top_module(plan: DesignPlan, opts: Options, cuts: list[Cut], framing: Framing | None = None,
               clocked: frozenset[str] = frozenset()) -> tuple[str, dict]:
    """Returns the Verilog text and facts for the manifest (ports, latency, register bits).
    ``clocked``: the input path and layer modules (by name) with register stages inside."""
    ip = plan.input
    prog = opts.weights == "programmable"
    cut_after = {c.name for c in cuts}
    R = opts.reuse
    # --reuse R: each layer takes R + 1 cycles (input register, R phases), one more with its
    # products registered; see mac_reuse.
    step = R + 1 + int(opts.product_register)
    latency = len(cuts) + 1 + (len(plan.layers) * step if R > 1 else 0)
    n_lat = plan.ir.n_latent
    lat_bits = plan.latent_bits
    lat_fmt = plan.ir.latent_format
    aw, dw = (plan.cfg_addr_bits, plan.cfg_data_bits) if prog else (0, 0)
    # The framing registers share the configuration port (and may widen it); without
    # programmable weights they are its only registers.
    fregs = framing_regs(plan, framing) if framing else None
    if fregs:
        aw, dw = fregs.addr_bits, fregs.data_bits
    has_cfg = prog or fregs is not None
    # Control and status registers (programmable weights) after the weights and the framing registers.
    ctrl_base = plan.n_fields + (fregs.count if fregs else 0)
    # --tmr config: corrected-upset counters after the control registers (the port widens only if it must).
    counters = None
    if opts.tmr != "none":
        counters = tmr.Counters(ctrl_base + CFG_CONTROL_REGS, [f"{b.group}_b{b.index}" for b in cfg_blocks(plan)], dw)
        aw = max(aw, counters.addr_bits())
    # --config-port i2c: the same registers as bytes behind an I2C target (programmable weights only).
    i2c_map = i2c.i2c_map(plan, framing, opts.i2c_address) if opts.config_port == "i2c" else None
    if i2c_map:
        aw, dw = i2c.ADDR_BITS, i2c.DATA_BITS
        fregs = i2c.framing_regs_i2c(plan, framing, i2c_map) if framing else None
        ctrl_base = i2c_map.control_base
    pipe_bits = 0

    w = Writer()
    stages = ", ".join(c.label for c in cuts) + ", on the outputs"
    w.block(header(plan, opts, plan.top, "autoencoder encoder, raw cell counts in, latent codes out.", [
        f"{ip.n_cells} counts of {ip.charge_bits} bits in; {n_lat} latents of {fmt_name(lat_fmt)} and the "
        f"{ip.sum_code_bits}-bit module-sum code out.",
    ] + (_stages_lines(f"One module per clock (initiation interval 1); latency {latency} cycles, register stages: "
                       f"{stages}.", wrap=[c.name for c in cuts] != pipeline_order(plan)[:len(cuts)]) if R == 1
         else _reuse_lines(R, latency, cuts, len(plan.layers), opts.product_register)) + [
        "Single clock, synchronous active-high reset (clears the valid pipeline and the outputs;",
        ("register stages in this module load only with a valid crossing (operand isolation), those in"
         if opts.operand_isolation else "inner data registers load every cycle and need none"
         + ("; configuration fields keep their value)." if prog else ")."))] + (
        ["its submodules every cycle" + ("; configuration fields keep their value)." if prog else ").")]
        if opts.operand_isolation else []) + (
        ["rst also loads the framing registers' reset values (below)."] if framing else []) + [
    ] + ((([f"Weights: configuration register file of {plan.n_fields} fields ({plan.config_bits} bits), one field per",
           f"address on cfg_addr; writes on cfg_we, read-back on cfg_rdata one cycle after the address (a read",
           "of the address being written shows the value before the write, the next cycle the written one). The",
           "port works through rst; writes while cfg_rst is high are dropped (the reset wins)."]
          if not i2c_map else
          [f"Configuration over I2C (target address 7'h{opts.i2c_address:02x}, 16-bit register addresses, byte "
           f"registers, auto-increment):",
           f"the weight image ({plan.config_bits} bits) in bytes 0..{i2c_map.image_bytes - 1}; map in "
           f"manifest.json and i2c_map.md."]) + [
          (f"Writes land in shadow banks until a COMMIT (address {ctrl_base}); " if opts.config_bank == "shadow"
           else "One bank written in place (--config-bank direct); ")
          + "valid_in is ignored until a weight set",
          f"is committed and ENABLE (address {ctrl_base + 1}) is set; cfg_rst clears the configuration."])
         if prog else ["Weights: constants (zero weights have no multiplier)."])
      + (_framing_header(framing, fregs, latency, R) if framing else [])
      + (tmr.header_lines(counters, opts.tmr) if counters else [])))
    w("`default_nettype none")
    w()
    w(f"module {plan.top} (")
    ports = [("input  wire", "", "clk"),
             ("input  wire", "", "rst  // synchronous, active high"),
             ("input  wire", "", "valid_in"),
             ("input  wire", f"[{ip.n_cells}*{ip.charge_bits}-1:0]", f"charges  // cell c at [{ip.charge_bits}*c +: {ip.charge_bits}]"),
             ("output wire", "", "valid_out"),
             ("output reg ", f"[{n_lat}*{lat_bits}-1:0]", f"latents  // latent j at [{lat_bits}*j +: {lat_bits}]"),
             ("output reg ", vec(ip.sum_code_bits), "sum_code")]
    if R > 1:
        ports.append(("output reg ", "", f"overrun  // high the cycle after a valid_in ignored as too soon (< {R} cycles)"))
    if framing:
        ports += [("input  wire", "", "bx_reset  // BX-counter reset, taken on any cycle"),
                  ("output wire", "", "tx_valid"),
                  ("output wire", f"[{framing.elinks}*{ELINK_BITS}-1:0]",
                   f"tx_data  // e-link i at [{ELINK_BITS}*({framing.elinks}-1-i) +: {ELINK_BITS}]")]
    if prog:
        ports += [("input  wire", "", "cfg_rst  // configuration reset, synchronous, active high")]
    if i2c_map:
        ports += i2c.ports()
    elif has_cfg:
        ports += [("input  wire", "", "cfg_we"),
                  ("input  wire", vec(aw), "cfg_addr"),
                  ("input  wire", vec(dw), "cfg_wdata"),
                  ("output reg ", vec(dw), "cfg_rdata")]
    for line in ports_block(ports):
        w(line)
    w(");")

    # -- configuration register file
    blocks = cfg_blocks(plan) if prog else []
    stage_of = commit_stages(plan, cut_after) if prog else {}
    held = {}                  # --reuse R > 1: group -> the layer's held commit strobe (see _reuse_commits)
    if prog and R > 1:
        # A time-multiplexed layer k reads its banks in phases 0..R-1, cycles d_k .. d_k+R-1 after the
        # crossing is taken: its commit strobe is stage d_k, held while a crossing is between phases.
        first = {lp.layer.name: (lp, len(cuts) + k * step + 1) for k, lp in enumerate(plan.layers)}
        stage_of = {g.name: first[g.layer][1] for g in plan.groups}
        if opts.config_bank == "shadow":
            held = {g.name: f"cfg_commit_{first[g.layer][0].name}" for g in plan.groups}
    n_commit = max(stage_of.values(), default=0) + 1
    readback = []              # (select, read data, width) of every register on the port
    if i2c_map:
        i2c.emit_target(w, i2c_map)
        _control(w, aw, dw, ctrl_base, n_commit, f"cfg_addr < {aw}'d{i2c_map.image_bytes}"
                 + (f" || (cfg_addr >= {aw}'d{fregs.base} && cfg_addr < {aw}'d{fregs.base + fregs.count})"
                    if fregs else ""), set(stage_of.values()), f"cfg_addr < {aw}'d{i2c_map.image_bytes}",
                 opts.config_bank == "shadow")
        readback = i2c.emit_image(w, plan, opts.config_bank == "shadow", stage_of, n_commit, i2c_map) \
            + [("cfg_sel_ctrl", "cfg_rd_ctrl", dw)]
    elif prog:
        if held:
            w()
            w(f"// --reuse {R}: each layer's banks copy on its own commit strobe, held until no crossing is", 1)
            w("// between two phases of that layer (see below the valid pipeline).", 1)
            for name in sorted(set(held.values())):
                w(f"wire {name};", 1)
        readback = _config(w, plan, opts, aw, dw, ctrl_base, blocks, stage_of, n_commit, counters, held)

    # -- valid pipeline
    valid = "valid_in"
    if prog:
        w()
        w("// Nothing enters the datapath before a weight set has been committed and ENABLE set.", 1)
        w("wire valid_taken = valid_in && cfg_run;", 1)
        valid = "valid_taken"
    if R > 1:
        pipe_bits += _accept(w, R, valid)
        valid = "accept"
    w()
    w(f"// Valid pipeline: valid_out follows {valid} by {latency} cycles.", 1)
    w(f"reg {vec(latency)} valid_pipe;", 1)
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"valid_pipe <= {latency}'d0;", 3)
    w("end else begin", 2)
    w("valid_pipe <= " + (f"{valid};" if latency == 1 else f"{{valid_pipe[{latency - 2}:0], {valid}}};"), 3)
    w("end", 2)
    w("end", 1)
    w(f"assign valid_out = valid_pipe[{latency - 1}];" if latency > 1 else "assign valid_out = valid_pipe;", 1)
    if held:
        pipe_bits += _reuse_commits(w, plan, R, step, len(cuts), n_commit)
        last = plan.layers[-1].name
        w("// The last layer's copy, held while a crossing is between its phases: the commit is pending.", 1)
        w(f"assign cfg_last_held = commit_held_{last};", 1)
        w(f"assign cfg_last_mid  = mid_{last};", 1)

    order = [c.name for c in cut_points(plan)]

    def register(bus: str, bits_expr: str, bits: int, cut: str) -> str:
        """A register stage at ``cut``; with operand isolation it loads only when the crossing it
        takes is valid (the valid bit entering that stage), so idle cycles leave it still."""
        nonlocal pipe_bits
        pipe_bits += bits
        w(f"reg [{bits_expr}-1:0] {bus}_q;", 1)
        if opts.operand_isolation:
            k = sum(1 for c in order[:order.index(cut)] if c in cut_after)
            w(f"always @(posedge clk) if ({valid if k == 0 else f'valid_pipe[{k - 1}]'}) {bus}_q <= {bus};", 1)
        else:
            w(f"always @(posedge clk) {bus}_q <= {bus};", 1)
        return f"{bus}_q"

    # -- charges
    w()
    charges = "charges"
    if "charges" in cut_after:
        w("// Register stage on the charge inputs.", 1)
        charges = register("charges", f"{ip.n_cells}*{ip.charge_bits}", ip.n_cells * ip.charge_bits, "charges")
        w()
    elif opts.operand_isolation:
        # Operand isolation: while no valid crossing comes in, the input path sees zeros, not the
        # pins' idle traffic (one AND per input bit, on the path into the module sum).
        w("// Operand isolation: the input path sees zeros while no valid crossing comes in.", 1)
        w(f"wire [{ip.n_cells}*{ip.charge_bits}-1:0] charges_isolated = "
          f"charges & {{{ip.n_cells * ip.charge_bits}{{{valid}}}}};", 1)
        charges = "charges_isolated"
        w()
    nu = len(ip.used_cells)
    w("// Input path: module sum, leading one, normalised input codes, module-sum code.", 1)
    w(f"wire [{nu}*{ip.code_bits}-1:0] cell_codes;", 1)
    w(f"wire {vec(ip.sum_code_bits)} module_sum_code;", 1)
    clk = [("clk", "clk")] if f"{plan.top}_input_path" in clocked else []
    _instance(w, f"{plan.top}_input_path", [], "u_input_path",
              clk + [("charges", charges), ("cell_codes", "cell_codes"), ("sum_code", "module_sum_code")])
    bus, sum_bus = "cell_codes", "module_sum_code"
    if "input_path" in cut_after:
        w()
        w("// Register stage after the input path.", 1)
        bus = register("cell_codes", f"{nu}*{ip.code_bits}", nu * ip.code_bits, "input_path")
        sum_bus = register("module_sum_code", str(ip.sum_code_bits), ip.sum_code_bits, "input_path")

    # -- layers
    if R > 1:
        bus, sum_bus, more = _reuse_layers(w, plan, R, step, len(cuts), bus, sum_bus, prog)
        pipe_bits += more
    for lp in (plan.layers if R == 1 else []):
        layer = lp.layer
        n_out = len(lp.neurons)
        out_bus = f"{lp.name}_out"
        w()
        w(f"// Layer \"{layer.name}\" ({layer.op}): {lp.n_products} products, {n_out} outputs.", 1)
        w(f"wire [{n_out}*{lp.code_bits}-1:0] {out_bus};", 1)
        conns = [("clk", "clk")] if f"{plan.top}_{lp.name}" in clocked else []
        conns.append(("x", bus))
        if prog:
            conns += [("weight", f"cfg_{lp.name}_weight"), ("bias", f"cfg_{lp.name}_bias")]
        conns.append(("y", out_bus))
        _instance(w, f"{plan.top}_{lp.name}", [], f"u_{lp.name}", conns)
        bus = out_bus
        inner = [k for k in MAC_STAGES if f"{lp.name}.{k}" in cut_after]
        if inner:
            w(f"// The module-sum code waits out the register stages inside the layer ({', '.join(inner)}).", 1)
            for k in inner:
                cut = f"{lp.name}.{k}"
                sum_bus = register(sum_bus, str(ip.sum_code_bits), ip.sum_code_bits, cut) \
                    if sum_bus == "module_sum_code" else _carry(w, sum_bus, ip.sum_code_bits, f"{lp.name}_{k}",
                                                                lambda *a: register(*a, cut))
        if lp.name in cut_after:
            w()
            w(f"// Register stage after layer \"{layer.name}\".", 1)
            bus = register(out_bus, f"{n_out}*{lp.code_bits}", n_out * lp.code_bits, lp.name)
            sum_bus = register(sum_bus, str(ip.sum_code_bits), ip.sum_code_bits, lp.name) \
                if sum_bus == "module_sum_code" \
                else _carry(w, sum_bus, ip.sum_code_bits, lp.name, lambda *a: register(*a, lp.name))

    # -- outputs
    w()
    # Outputs load only with valid data and clear on reset: before the first
    # configuration write the datapath computes from unwritten fields (X in
    # simulation), and nothing of that may reach the pins.
    w("// Output registers: cleared by reset, loaded only when the stage before them holds valid data.", 1)
    pipe_bits += n_lat * lat_bits + ip.sum_code_bits
    out_valid = valid if latency == 1 else f"valid_pipe[{latency - 2}]"
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"latents  <= {n_lat * lat_bits}'d0;", 3)
    w(f"sum_code <= {ip.sum_code_bits}'d0;", 3)
    w(f"end else if ({out_valid}) begin", 2)
    w(f"latents  <= {bus};", 3)
    w(f"sum_code <= {sum_bus};", 3)
    w("end", 2)
    w("end", 1)
    if framing:
        pipe_bits += _emit_framing(w, plan, framing, fregs, latency, R)
        readback.append(("cfg_sel_framing", "cfg_rd_framing", dw))
    if readback:
        # After the framing registers: the read-back mux takes theirs too.
        _readback(w, dw, readback)
    w("endmodule")
    w()
    w("`default_nettype wire")

    port_facts = [
        {"name": "clk", "direction": "input", "width": 1, "role": "clock"},
        {"name": "rst", "direction": "input", "width": 1, "role": "reset"},
        {"name": "valid_in", "direction": "input", "width": 1, "role": "in_valid"},
        {"name": "charges", "direction": "input", "width": ip.n_cells * ip.charge_bits, "role": "in_counts",
         "fields": ip.n_cells, "field_width": ip.charge_bits},
        {"name": "valid_out", "direction": "output", "width": 1, "role": "out_valid"},
        {"name": "latents", "direction": "output", "width": n_lat * lat_bits, "role": "out_latents",
         "fields": n_lat, "field_width": lat_bits, "signed": lat_fmt.signed},
        {"name": "sum_code", "direction": "output", "width": ip.sum_code_bits, "role": "out_sum_code"},
    ]
    if R > 1:
        port_facts.append({"name": "overrun", "direction": "output", "width": 1, "role": "out_overrun"})
    if prog:
        port_facts.append({"name": "cfg_rst", "direction": "input", "width": 1, "role": "cfg_reset"})
    if i2c_map:
        port_facts += i2c.port_facts()
    elif has_cfg:
        port_facts += [
            {"name": "cfg_we", "direction": "input", "width": 1, "role": "cfg_we"},
            {"name": "cfg_addr", "direction": "input", "width": aw, "role": "cfg_addr"},
            {"name": "cfg_wdata", "direction": "input", "width": dw, "role": "cfg_wdata"},
            {"name": "cfg_rdata", "direction": "output", "width": dw, "role": "cfg_rdata"},
        ]
    if framing:
        port_facts += [
            {"name": "bx_reset", "direction": "input", "width": 1, "role": "in_bx_reset"},
            {"name": "tx_valid", "direction": "output", "width": 1, "role": "out_tx_valid",
             "latency": latency + 1},
            {"name": "tx_data", "direction": "output", "width": ELINK_BITS * framing.elinks, "role": "out_tx_data",
             "fields": framing.elinks, "field_width": ELINK_BITS, "order": "TX_DATA_0 in the most significant bits",
             "latency": latency + 1},
        ]
    facts = {"latency": latency, "ports": port_facts, "pipeline_bits": pipe_bits + latency,
             "stages": [c.label for c in cuts] + ["on the outputs"],
             "cfg_blocks": len(blocks), "framing_regs": fregs, "commit_stages": n_commit,
             "control_bits": (3 + 3 * dw + n_commit) if prog else 0, "ctrl_base": ctrl_base, "cfg_data_bits": dw,
             "i2c_map": i2c_map}
    if counters:
        shadow = opts.config_bank == "shadow"
        banks = [("u_written", "shadow bank" if shadow else "bank")] + ([("g_shadow.u_active", "active bank")]
                                                                       if shadow else [])
        facts["tmr"] = tmr.manifest(counters, [
            {"register": f"u_cfg_{b.group}_b{b.index}.{inst}", "what": what, "bits": b.count * b.bits,
             "copies": [f"u_cfg_{b.group}_b{b.index}.{inst}.u_copy{k}.q" for k in range(3)]}
            for b in blocks for inst, what in banks], opts.tmr)
        facts["tmr"]["addr_width"] = aw
    return w.text(), facts


def commit_stages(plan: DesignPlan, cut_after: set[str]) -> dict[str, int]:
    """Register group -> the pipeline stage that consumes it: the number of register stages a
    crossing has passed when it meets the group's fields. A layer's weights meet it at the
    products, its bias in the adder tree (after a products stage, before a tree stage)."""
    order = [c.name for c in cut_points(plan)]

    def before(name: str) -> int:
        return sum(1 for c in order[:order.index(name)] if c in cut_after)

    stages = {}
    for g in plan.groups:
        lp = next(lp for lp in plan.layers if lp.layer.name == g.layer)
        stages[g.name] = before(f"{lp.name}.products" if g.kind == "weight" else f"{lp.name}.tree")
    return stages


def _config(w: Writer, plan: DesignPlan, opts: Options, aw: int, dw: int, base: int, blocks: list[CfgBlock],
            stage_of: dict[str, int], n_commit: int, counters: tmr.Counters | None = None,
            held: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    """The register file: the weight banks (enc_cfg_block, or enc_cfg_block_tmr with ``counters``) and
    control/status (enc_cfg_ctrl, at ``base``); returns the read-back sources (select, read data, width)."""
    shadow = opts.config_bank == "shadow"
    w()
    w(f"// Configuration register file: {plan.n_fields} fields, one per address, in blocks of up to "
      f"{CFG_BLOCK}.", 1)
    for g in plan.groups:
        w(f"// {g.name}: addresses {g.base}..{g.base + g.count - 1}, {g.bits} bits each, {g.order}.", 1)
    w(f"// Control and status: addresses {base}..{base + CFG_CONTROL_REGS - 1} (COMMIT, ENABLE, RD_ACTIVE, "
      f"STATUS, COMMITS, UNMAPPED, DROPPED); above: unmapped.", 1)
    if shadow:
        w("// Writes land in shadow banks; a COMMIT copies them into the active banks that the datapath", 1)
        w("// reads, each bank when the first crossing after the commit reaches the stage that uses it.", 1)
    else:
        w("// --config-bank direct: one bank per block, written in place (a reload mixes weight sets).", 1)
    _control(w, aw, dw, base, n_commit, f"cfg_addr < {aw}'d{base}", set(stage_of.values()),
             f"cfg_addr < {aw}'d{plan.n_fields}", shadow, bool(held))
    for g in plan.groups:
        w()
        stage = stage_of[g.name]
        commit = "cfg_commit" if n_commit == 1 else f"cfg_commit[{stage}]"
        if held:
            commit = held[g.name]
        w(f"wire [{g.count}*{g.bits}-1:0] cfg_{g.name};  // read in pipeline stage {stage}", 1)
        g_blocks = [b for b in blocks if b.group == g.name]
        off = f"cfg_off_{g.name}"
        if g.base:
            w(f"wire {vec(aw)} {off} = cfg_addr - {aw}'d{g.base};  // address within the group", 1)
        else:
            w(f"wire {vec(aw)} {off} = cfg_addr;  // address within the group", 1)
        w(f"wire cfg_in_{g.name} = {off} < {aw}'d{g.count};", 1)
        for b in g_blocks:
            tag = f"{g.name}_b{b.index}"
            w(f"wire [{b.count}*{b.bits}-1:0] cfg_fields_{tag};", 1)
            if g.count > CFG_BLOCK:
                hi_bits = aw - b.addr_bits
                w(f"wire cfg_sel_{tag} = cfg_in_{g.name} && ({off}[{aw - 1}:{b.addr_bits}] == "
                  f"{hi_bits}'d{b.index});", 1)
            else:
                w(f"wire cfg_sel_{tag} = cfg_in_{g.name};", 1)
            w(f"wire {vec(b.bits)} cfg_rd_{tag};", 1)
            params = [("COUNT", str(b.count)), ("WIDTH", str(b.bits)), ("ADDR_BITS", str(b.addr_bits)),
                      ("SHADOW", str(int(shadow))), ("CLEAR_ON_RESET", "1")]
            conns = [("clk", "clk"), ("cfg_rst", "cfg_rst"), ("we", f"cfg_bank_we && cfg_sel_{tag}"),
                     ("addr", f"{off}[{b.addr_bits - 1}:0]" if b.addr_bits > 1 else f"{off}[0]"),
                     ("wdata", f"cfg_wdata[{b.bits - 1}:0]" if b.bits > 1 else "cfg_wdata[0]"),
                     ("commit", commit), ("rd_active", "cfg_rd_active"),
                     ("fields", f"cfg_fields_{tag}"), ("rdata", f"cfg_rd_{tag}")]
            if counters:
                w(f"wire [{counters.bits}-1:0] seu_corrected_{tag};", 1)
                _instance(w, "enc_cfg_block_tmr", params + [("CNT_BITS", str(counters.bits))], f"u_cfg_{tag}",
                          conns + [("corrected", f"seu_corrected_{tag}")])
            else:
                _instance(w, "enc_cfg_block", params, f"u_cfg_{tag}", conns)
        _assign_concat(w, f"cfg_{g.name}", [f"cfg_fields_{g.name}_b{b.index}" for b in g_blocks])
    if counters:
        tmr.emit_counters(w, counters, aw)
    return [(f"cfg_sel_{b.group}_b{b.index}", f"cfg_rd_{b.group}_b{b.index}", b.bits) for b in blocks] \
        + [("cfg_sel_ctrl", "cfg_rd_ctrl", dw)] + ([("cfg_sel_seu", "cfg_rd_seu", dw)] if counters else [])


def _control(w: Writer, aw: int, dw: int, base: int, n_commit: int, mapped: str, used: set[int],
             banked: str, shadow: bool, held: bool = False) -> None:
    """The control and status registers (enc_cfg_ctrl) at ``base``; ``mapped``: the other registers' decode;
    ``used``: the pipeline stages that read weights; ``banked``: the weight fields' decode; ``held``: --reuse
    holds the last layer's copy while a crossing is between its phases (cfg_last_held and cfg_last_mid,
    assigned after the valid pipeline)."""
    unused = len(used) < n_commit
    if unused:
        w("// Stages before the first layer read no weights: their commit strobes go unused.", 1)
        w("/* verilator lint_off UNUSEDSIGNAL */", 1)
    w(f"wire {vec(n_commit)} cfg_commit;  // cfg_commit[k]: the banks read by pipeline stage k copy", 1)
    if unused:
        w("/* verilator lint_on UNUSEDSIGNAL */", 1)
    if held:
        w("wire cfg_last_held;  // the last layer's copy is held back", 1)
        w("wire cfg_last_mid;   // a crossing is between two phases of the last layer", 1)
    w("wire cfg_bank_we;    // a write that may reach the weight banks (none while a COMMIT is copying)", 1)
    w("wire cfg_run;        // ENABLE and a committed weight set: valid_in may enter", 1)
    w("wire cfg_rd_active;  // read-back shows the active banks", 1)
    w("wire cfg_sel_ctrl;", 1)
    w(f"wire {vec(dw)} cfg_rd_ctrl;", 1)
    _instance(w, "enc_cfg_ctrl", [("ADDR_BITS", str(aw)), ("DATA_BITS", str(dw)), ("BASE", str(base)),
                                  ("STAGES", str(n_commit)), ("SHADOW", str(int(shadow)))], "u_cfg_ctrl", [
        ("clk", "clk"), ("cfg_rst", "cfg_rst"), ("we", "cfg_we"), ("addr", "cfg_addr"), ("mapped", mapped),
        ("banked", banked), ("last_held", "cfg_last_held" if held else "1'b0"),
        ("last_mid", "cfg_last_mid" if held else "1'b0"), ("wdata", "cfg_wdata"),
        ("commit", "cfg_commit"), ("bank_we", "cfg_bank_we"), ("run", "cfg_run"), ("rd_active", "cfg_rd_active"), ("sel", "cfg_sel_ctrl"),
        ("rdata", "cfg_rd_ctrl")])


def _readback(w: Writer, dw: int, sources: list[tuple[str, str, int]]) -> None:
    """cfg_rdata: the addressed register (select, read data, width), zero-extended, registered."""
    w()
    w("// Read-back: the addressed register, zero-extended, registered (0 at an unmapped address).", 1)
    terms = []
    for sel, rd, bits in sources:
        val = rd if bits == dw else f"{{{dw - bits}'d0, {rd}}}"
        terms.append(f"({{{dw}{{{sel}}}}} & {val})" if dw > 1 else f"({sel} & {val})")
    w(f"wire {vec(dw)} cfg_rdata_next =", 1)
    for i, t in enumerate(terms):
        w(("  " if i == 0 else "| ") + t + (";" if i == len(terms) - 1 else ""), 2)
    # Not reset: the configuration interface works whatever the datapath does (weights
    # are loaded and read back while the encoder is held in reset).
    w("always @(posedge clk) cfg_rdata <= cfg_rdata_next;", 1)


def _stages_lines(text: str, wrap: bool) -> list[str]:
    """The header's register-stage sentence, wrapped; on one line for the sets --pipeline makes (as it was)."""
    import textwrap
    return textwrap.wrap(text, 100) if wrap else [text]


def _carry(w: Writer, sum_bus: str, bits: int, after: str, register) -> str:
    """Delay the module-sum code alongside the data through another register stage."""
    name = f"module_sum_code_{after}"
    w(f"wire {vec(bits)} {name} = {sum_bus};", 1)
    return register(name, str(bits), bits)


# -- --reuse R > 1 ----------------------------------------------------------

def _reuse_lines(R: int, latency: int, cuts: list[Cut], n_layers: int, product_register: bool) -> list[str]:
    import textwrap
    before = ", ".join(c.label for c in cuts) if cuts else "none"
    return textwrap.wrap(
        f"Time-multiplexed (--reuse {R}): clock {R} x the module rate, each multiplier serves up to {R} products, "
        f"one per cycle. One module every {R} cycles (initiation interval {R}): a valid_in fewer than {R} cycles "
        f"after the last one taken is ignored and raises overrun for one cycle. Latency {latency} cycles "
        f"({latency / R:g} module periods): register stages before the first layer: {before}; then per layer "
        f"(x{n_layers}) its input register and {R} phases"
        f"{', then its product register' if product_register else ''}; then the output registers.", 100)


def _accept(w: Writer, R: int, valid: str = "valid_in") -> int:
    """The initiation-interval guard; returns its flip-flops."""
    cb = max(1, (R - 1).bit_length())
    w()
    w(f"// Initiation interval {R}: a module is taken when {R} cycles have passed since the last one taken.", 1)
    w("// A valid_in sooner than that is ignored (the layers are still busy with the module before) and", 1)
    w("// raises overrun on the next cycle.", 1)
    w(f"reg {vec(cb)} busy;  // cycles until the next module may come; 0: ready", 1)
    w(f"wire accept = {valid} && busy == {cb}'d0;", 1)
    w("always @(posedge clk) begin", 1)
    w("if (rst) begin", 2)
    w(f"busy    <= {cb}'d0;", 3)
    w("overrun <= 1'b0;", 3)
    w("end else begin", 2)
    w(f"busy    <= accept ? {cb}'d{R - 1} : (busy != {cb}'d0 ? busy - {cb}'d1 : {cb}'d0);", 3)
    w(f"overrun <= {valid} && busy != {cb}'d0;", 3)
    w("end", 2)
    w("end", 1)
    return cb + 1


def _reuse_commits(w: Writer, plan: DesignPlan, R: int, step: int, n_cuts: int, n_commit: int) -> int:
    """--reuse R, shadow bank: layer k's commit strobe (stage d_k, the cycle of its phase 0 for a crossing
    taken 2 edges after the COMMIT write) copies its banks only at a crossing boundary: while a crossing is
    in phases 0..R-2 of the layer the strobe is held, and the copy happens at the end of phase R-1. So a
    crossing never meets two weight sets, and the one taken 2 or more edges after the COMMIT meets the new
    set. Returns the flip-flops added."""
    def tap(delay: int) -> str:
        return "accept" if delay == 0 else f"valid_pipe[{delay - 1}]"

    w()
    w(f"// Commit strobes of the time-multiplexed layers: held while a crossing is between two phases.", 1)
    for k, lp in enumerate(plan.layers):
        d = n_cuts + k * step + 1
        mid = " || ".join(tap(d + p) for p in range(R - 1))
        strobe = "cfg_commit" if n_commit == 1 else f"cfg_commit[{d}]"
        w(f"wire mid_{lp.name} = {mid};  // a crossing in phases 0..{R - 2} of layer \"{lp.layer.name}\"", 1)
        w(f"reg commit_held_{lp.name};", 1)
        w("always @(posedge clk) begin", 1)
        w(f"if (cfg_rst) commit_held_{lp.name} <= 1'b0;", 2)
        w(f"else commit_held_{lp.name} <= ({strobe} || commit_held_{lp.name}) && mid_{lp.name};", 2)
        w("end", 1)
        w(f"assign cfg_commit_{lp.name} = ({strobe} || commit_held_{lp.name}) && !mid_{lp.name};", 1)
    return len(plan.layers)


def _reuse_layers(w: Writer, plan: DesignPlan, R: int, step: int, n_cuts: int, bus: str, sum_bus: str, prog: bool
                  ) -> tuple[str, str, int]:
    """Instances of the time-multiplexed layers, their start pulses from the valid pipeline, and the
    module-sum code carried beside them. Returns the last layer's output bus, the code, flip-flops added."""
    # step: a layer's cycles: its input register's, R phases, and one more with its products registered
    bits = plan.input.sum_code_bits
    flops = 0

    def tap(delay: int) -> str:
        """valid_pipe bit = the taken valid delayed by ``delay`` cycles (0: accept itself)."""
        return "accept" if delay == 0 else f"valid_pipe[{delay - 1}]"

    for k, lp in enumerate(plan.layers):
        layer = lp.layer
        n_out = len(lp.neurons)
        out_bus = f"{lp.name}_out"
        start = tap(n_cuts + k * step)
        w()
        w(f"// Layer \"{layer.name}\" ({layer.op}): {lp.n_products} products, {n_out} outputs; starts "
          f"{n_cuts + k * step} cycles after the module is taken.", 1)
        w(f"wire [{n_out}*{lp.code_bits}-1:0] {out_bus};", 1)
        conns = [("clk", "clk"), ("start", start), ("x", bus)]
        if prog:
            conns += [("weight", f"cfg_{lp.name}_weight"), ("bias", f"cfg_{lp.name}_bias")]
        conns.append(("y", out_bus))
        _instance(w, f"{plan.top}_{lp.name}", [], f"u_{lp.name}", conns)
        # The code is taken with the layer's inputs, then moved step - R cycles later: the next module
        # may take the first register R cycles on, step - R cycles before this layer's results leave.
        a, b = f"module_sum_code_{lp.name}_in", f"module_sum_code_{lp.name}"
        w(f"// The module-sum code beside the layer: taken with its inputs, then kept a cycle later until "
          f"its outputs leave.", 1)
        w(f"reg {vec(bits)} {a};", 1)
        w(f"reg {vec(bits)} {b};", 1)
        w(f"always @(posedge clk) if ({start}) {a} <= {sum_bus};", 1)
        w(f"always @(posedge clk) if ({tap(n_cuts + k * step + step - R)}) {b} <= {a};", 1)
        flops += 2 * bits
        bus, sum_bus = out_bus, b
    return bus, sum_bus, flops

